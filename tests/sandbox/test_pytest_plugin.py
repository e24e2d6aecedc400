"""The pytest plugin's fixtures, as a merchant's tests use them: a fresh sandbox per test, one for
the session, a Pik client bound to the test's sandbox, and a marker that changes its settings."""

from __future__ import annotations

import httpx
import pytest

from pik_generated_client import Pik, errors
from pik_sandbox.testing import LocalSandbox

SEEN_BY_EARLIER_TEST: list[str] = []


@pytest.mark.parametrize("round_", [1, 2])
def test_each_test_gets_a_fresh_sandbox(
    pik_client: Pik, pik_sandbox: LocalSandbox, round_: int
) -> None:
    assert pik_sandbox.base_url.endswith("/v1")
    assert pik_client.payment_links.list().total == 0
    link = pik_client.payment_links.create(
        amount="75.00", currency="USDT", description=f"#{round_}"
    )
    SEEN_BY_EARLIER_TEST.append(pik_sandbox.base_url)
    assert len(set(SEEN_BY_EARLIER_TEST)) == round_  # another port, another database
    assert pik_sandbox.simulate_payment(link.id)["status"] == "paid"
    assert pik_client.payment_links.get(link.id).status == "paid"
    with (
        Pik(api_key=pik_sandbox.other_api_key, base_url=pik_sandbox.base_url) as other,
        pytest.raises(errors.NotFoundError),
    ):
        other.payment_links.get(link.id)


def test_the_session_sandbox_is_one_for_the_session(
    pik_sandbox_session: LocalSandbox, request: pytest.FixtureRequest
) -> None:
    again = request.getfixturevalue("pik_sandbox_session")
    assert again is pik_sandbox_session
    with pik_sandbox_session.http_client() as api:
        assert api.get("/payment-links").status_code == 200


@pytest.mark.pik_sandbox(rate_limit=True, creation_limit=1, link_ttl_seconds=60)
def test_the_marker_sets_the_sandbox_and_the_clock_moves_it(
    pik_client: Pik, pik_sandbox: LocalSandbox
) -> None:
    link = pik_client.payment_links.create(amount="1", currency="USDT")
    with pik_sandbox.http_client() as api:
        refused = api.post("/payment-links", json={"amount": "1", "currency": "USDT"})
    assert refused.status_code == 429
    pik_sandbox.clock.advance(61)
    assert pik_client.payment_links.get(link.id).status == "expired"
    assert pik_client.payment_links.create(amount="1", currency="USDT").status == "active"


def test_the_sandbox_is_gone_after_its_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, pytest
        URLS = []

        def test_one(pik_sandbox):
            URLS.append(pik_sandbox.base_url)

        def test_two():
            with pytest.raises(httpx.ConnectError):
                httpx.get(URLS[0] + "/payment-links")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_httpx_is_what_the_sandbox_helpers_return(pik_sandbox: LocalSandbox) -> None:
    with pik_sandbox.http_client(anonymous=True, site=True) as site:
        assert isinstance(site, httpx.Client)
        assert site.get("/openapi.yaml").status_code == 200
        assert site.get("/v1/payment-links").status_code == 401
