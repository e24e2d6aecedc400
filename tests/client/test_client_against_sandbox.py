"""`Pik` and `AsyncPik` end to end against a real sandbox: over a loopback socket, and in-process
(the app behind `httpx.ASGITransport`, given as `http_client`, as users pass their own clients).
Every error class the sandbox can cause is raised through the resources."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from pik_generated_client import AsyncPik, Pik, errors
from pik_generated_client.api.payment_links import get_payment_link
from pik_generated_client.models import PaymentLinkStatus
from pik_sandbox.testing import LocalSandbox, run_sandbox


@pytest.fixture(scope="module", params=["socket", "in-process"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[LocalSandbox]:
    with run_sandbox(in_process=request.param == "in-process") as running:
        yield running


def pik_of(sandbox: LocalSandbox, api_key: str | None = None) -> Pik:
    http_client = httpx.Client(transport=sandbox.transport) if sandbox.transport else None
    return Pik(
        api_key=api_key or sandbox.api_key, base_url=sandbox.base_url, http_client=http_client
    )


@pytest.fixture
def pik(sandbox: LocalSandbox) -> Iterator[Pik]:
    with pik_of(sandbox) as client:
        yield client


def test_a_link_goes_from_created_to_paid(pik: Pik) -> None:
    link = pik.payment_links.create(amount="12.345678", currency="USDT", description="Order #1")
    assert (link.status, link.amount, link.description) == (
        PaymentLinkStatus.ACTIVE,
        "12.345678",
        "Order #1",
    )
    assert link.url.endswith(f"/pay/{link.id}")
    assert pik.payment_links.get(link.id).to_dict() == link.to_dict()

    paid = pik.sandbox.simulate(link.id, status="paid")
    assert paid.status == PaymentLinkStatus.PAID
    assert pik.payment_links.get(link.id).paid_at == paid.paid_at


def test_an_amount_given_as_a_decimal_is_sent_exactly(pik: Pik) -> None:
    assert pik.payment_links.create(amount=Decimal("75.00"), currency="USDT").amount == "75.00"
    assert pik.payment_links.create(amount=Decimal("1E+2"), currency="BTC").amount == "100"


def test_a_float_amount_is_refused_before_anything_is_sent(pik: Pik) -> None:
    before = pik.payment_links.list(limit=1).total
    with pytest.raises(TypeError, match="not a float"):
        pik.payment_links.create(amount=75.0, currency="USDT")  # type: ignore[arg-type]
    assert pik.payment_links.list(limit=1).total == before


def test_list_gives_one_page_and_iter_every_link(sandbox: LocalSandbox) -> None:
    with pik_of(sandbox, sandbox.other_api_key) as pik:
        before = pik.payment_links.list(limit=1).total
        ids = [
            pik.payment_links.create(amount="1", currency="USDT", description=f"#{i}").id
            for i in range(5)
        ]
        page = pik.payment_links.list(limit=2)
        assert [link.id for link in page.data] == ids[::-1][:2]
        assert (page.total, page.limit, page.offset) == (before + 5, 2, 0)
        walked = [link.id for link in pik.payment_links.iter(limit=2)]
        assert walked[:5] == ids[::-1]
        assert len(walked) == before + 5
        active = list(pik.payment_links.iter(status="active", limit=100))
        assert {link.status for link in active} == {PaymentLinkStatus.ACTIVE}


def test_another_accounts_link_is_not_found(pik: Pik, sandbox: LocalSandbox) -> None:
    link = pik.payment_links.create(amount="5", currency="USDC")
    with (
        pik_of(sandbox, sandbox.other_api_key) as other,
        pytest.raises(errors.NotFoundError) as caught,
    ):
        other.payment_links.get(link.id)
    assert (caught.value.status_code, caught.value.code) == (404, "not_found")
    assert caught.value.operation == "get_payment_link"


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [("1", "DOGE", "currency"), ("0", "USDT", "amount"), ("1.1234567", "USDT", "amount")],
)
def test_an_unacceptable_link_is_unprocessable(
    pik: Pik, amount: str, currency: str, field: str
) -> None:
    with pytest.raises(errors.UnprocessableEntityError) as caught:
        pik.payment_links.create(amount=amount, currency=currency)
    assert caught.value.code == "unprocessable_entity"
    assert caught.value.message.startswith(f"{field}:")


def test_a_final_link_cannot_be_simulated_again(pik: Pik) -> None:
    link = pik.payment_links.create(amount="5", currency="USDT")
    pik.sandbox.simulate(link.id, status="expired")
    with pytest.raises(errors.UnprocessableEntityError, match="already expired"):
        pik.sandbox.simulate(link.id, status="paid")


def test_a_malformed_request_is_a_bad_request(pik: Pik) -> None:
    with pytest.raises(errors.BadRequestError) as caught:
        pik.payment_links.list(limit=0)
    assert (caught.value.status_code, caught.value.code) == (400, "invalid_request")
    with pytest.raises(errors.BadRequestError):
        pik.payment_links.create(amount="75,00", currency="USDT")


def test_a_wrong_key_is_an_authentication_error_that_never_shows_it(sandbox: LocalSandbox) -> None:
    with pik_of(sandbox, "sk_not_a_key") as pik:
        with pytest.raises(errors.AuthenticationError) as caught:
            next(pik.payment_links.iter())
        with pytest.raises(errors.AuthenticationError):
            get_payment_link.sync("pl_abc", client=pik.low_level_client)
    assert caught.value.code == "unauthorized"
    assert "sk_not_a_key" not in str(caught.value) + repr(caught.value) + repr(pik)


def test_past_the_limit_a_rate_limit_error_is_raised_at_once() -> None:
    with run_sandbox(rate_limit=True, creation_limit=1) as sandbox, pik_of(sandbox) as pik:
        pik.payment_links.create(amount="1", currency="USDT")
        with pytest.raises(errors.RateLimitError) as caught:
            pik.payment_links.create(amount="1", currency="USDT")
    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after is not None and caught.value.retry_after > 10


def test_with_options_changes_one_call_site_only(pik: Pik) -> None:
    quick = pik.with_options(timeout=2.0, max_retries=0)
    assert (quick.max_retries, pik.max_retries) == (0, 2)
    assert quick.timeout == httpx.Timeout(2.0)
    assert quick.payment_links.create(amount="3", currency="ETH").currency == "ETH"


def test_a_refused_connection_is_an_api_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pik = Pik(api_key="sk_test_x", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pik, pytest.raises(errors.APIConnectionError) as caught:
        pik.payment_links.list(status="paid")
    assert str(caught.value).startswith(
        f"list_payment_links: GET http://127.0.0.1:{port}/v1/payment-links: ConnectError"
    )
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.anyio
async def test_async_pik_creates_lists_and_raises(sandbox: LocalSandbox) -> None:
    http_client = (
        httpx.AsyncClient(transport=sandbox.async_transport) if sandbox.async_transport else None
    )
    async with AsyncPik(
        api_key=sandbox.api_key, base_url=sandbox.base_url, http_client=http_client
    ) as pik:
        made = [
            await pik.payment_links.create(amount="2", currency="USDT", description=f"a{i}")
            for i in range(3)
        ]
        seen = [link.id async for link in pik.payment_links.iter(limit=2)]
        assert seen[:3] == [link.id for link in reversed(made)]
        paid = await pik.sandbox.simulate(made[0].id, status="paid")
        assert paid.status == PaymentLinkStatus.PAID
        with pytest.raises(errors.NotFoundError):
            await pik.payment_links.get("pl_missing")
    if http_client is not None:
        await http_client.aclose()
