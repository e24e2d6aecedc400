"""PIK's rules are stated once, in openapi.yaml (its x-pik extensions for code, its prose for
people), and everything else that repeats them is held to it: the sandbox's constants, the client's
error classes, the README's tables, and every error example the document shows, which must be
exactly what the sandbox answers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pik_generated_client import errors as client_errors
from pik_sandbox import errors as sandbox_errors
from pik_sandbox import settings
from pik_sandbox.testing import LocalSandbox, run_sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENT: dict[str, Any] = yaml.safe_load((REPO_ROOT / "openapi.yaml").read_text(encoding="utf-8"))
PROSE = " ".join(DOCUMENT["info"]["description"].split())
README = " ".join((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
SCHEMAS = DOCUMENT["components"]["schemas"]
ASSETS: dict[str, int] = SCHEMAS["Currency"]["x-pik-assets"]
LIMITS = DOCUMENT["x-pik-rate-limits"]


def test_asset_decimals_agree_everywhere() -> None:
    assert dict(settings.ASSET_DECIMALS) == ASSETS
    listed = ", ".join(f"{code} {decimals}" for code, decimals in ASSETS.items())
    assert f"asset's smallest unit: {listed}." in PROSE
    assert f"({listed})" in README
    for code in ASSETS:
        assert re.fullmatch(SCHEMAS["Currency"]["pattern"], code)


def test_rate_limits_agree_everywhere() -> None:
    creation, general = LIMITS["groups"]["creation"], LIMITS["groups"]["general"]
    assert (
        creation["limit"],
        general["limit"],
    ) == (settings.CREATION_LIMIT_PER_MINUTE, settings.GENERAL_LIMIT_PER_MINUTE)
    assert settings.RATE_LIMIT_WINDOW_SECONDS == LIMITS["window_seconds"] == 60
    assert set(creation["operations"]) == settings.CREATION_OPERATIONS
    assert (
        f"over a rolling minute: {creation['limit']} payment-link creations, and "
        f"{general['limit']} requests to all other endpoints" in PROSE
    )
    assert f"waiting no more than {LIMITS['max_retry_wait_seconds']} seconds" in PROSE
    assert (
        f"{creation['limit']} creations and {general['limit']} other requests a rolling minute"
        in README
    )
    create = DOCUMENT["paths"]["/payment-links"]["post"]
    assert f"Creations are limited to {creation['limit']} a minute per API key." in " ".join(
        create["description"].split()
    )


def test_final_statuses_agree_everywhere() -> None:
    status = SCHEMAS["PaymentLinkStatus"]
    final = status["x-pik-final"]
    assert set(final) < set(status["enum"])
    assert [value for value in status["enum"] if value not in final] == ["active"]
    assert SCHEMAS["SimulatePaymentLinkRequest"]["properties"]["status"]["enum"] == final
    assert "Every status but `active` is final." in " ".join(status["description"].split())


def documented_error_codes() -> dict[int, str]:
    """The status -> code table of the document's "Errors" section."""
    rows = re.findall(r"\| (\d{3}) \| `([a-z_]+)` \|", DOCUMENT["info"]["description"])
    return {int(status): code for status, code in rows}


def test_error_codes_agree_with_the_sandbox_and_the_client() -> None:
    table = documented_error_codes()
    assert len(table) >= 9
    code_description = " ".join(SCHEMAS["ErrorDetail"]["properties"]["code"]["description"].split())
    for status, code in table.items():
        assert sandbox_errors.code_for_status(status) == code
        assert f"`{code}`" in code_description
        # Every documented error status raises a class of its own in the client.
        assert client_errors.status_error_class(status) is not client_errors.APIStatusError


def every_error_example() -> Iterator[tuple[str, str, str]]:
    for name, response in DOCUMENT["components"]["responses"].items():
        for example_name, example in response["content"]["application/json"]["examples"].items():
            yield name, example_name, example["value"]["error"]["message"]


Call = Callable[[httpx.Client, httpx.Client, LocalSandbox], httpx.Response]


def _rate_limited(
    api: httpx.Client, _anonymous: httpx.Client, sandbox: LocalSandbox
) -> httpx.Response:
    sandbox.clock.freeze()
    for _ in range(settings.CREATION_LIMIT_PER_MINUTE):
        assert (
            api.post("/payment-links", json={"amount": "1", "currency": "USDT"}).status_code == 201
        )
    sandbox.clock.advance(48)  # the example says 12 seconds are left
    return api.post("/payment-links", json={"amount": "1", "currency": "USDT"})


# The request that makes the sandbox answer each example.
TRIGGERS: dict[tuple[str, str], tuple[int, Call]] = {
    ("BadRequest", "missingField"): (
        400,
        lambda api, _, __: api.post("/payment-links", json={"currency": "USDT"}),
    ),
    ("BadRequest", "outOfRange"): (
        400,
        lambda api, _, __: api.get("/payment-links", params={"limit": 0}),
    ),
    ("Unauthorized", "unauthorized"): (
        401,
        lambda _, anonymous, __: anonymous.get("/payment-links"),
    ),
    ("NotFound", "notFound"): (404, lambda api, _, __: api.get("/payment-links/pl_nothere")),
    ("UnprocessableEntity", "unsupportedAsset"): (
        422,
        lambda api, _, __: api.post("/payment-links", json={"amount": "1", "currency": "DOGE"}),
    ),
    ("PayloadTooLarge", "payloadTooLarge"): (
        413,
        lambda api, _, __: api.post(
            "/payment-links",
            content=b'{"description": "' + b"x" * 70_000 + b'"}',
            headers={"content-type": "application/json"},
        ),
    ),
    ("UnsupportedMediaType", "unsupportedMediaType"): (
        415,
        lambda api, _, __: api.post(
            "/payment-links", content=b"amount=1", headers={"content-type": "text/plain"}
        ),
    ),
    ("RateLimited", "rateLimited"): (429, _rate_limited),
}
# Examples of answers the sandbox never gives through its API, and why.
NOT_PRODUCED = {
    ("Forbidden", "forbidden"): "every key of the sandbox may make every request",
    ("InternalError", "internalError"): "no request a client can send makes the sandbox fail",
    ("ServiceUnavailable", "databaseLocked"): (
        "it takes another process holding the database's lock; "
        "tests/hostile/test_storage.py checks this example word for word"
    ),
}


def test_every_error_example_is_accounted_for() -> None:
    examples = {(name, example) for name, example, _ in every_error_example()}
    assert examples == set(TRIGGERS) | set(NOT_PRODUCED)


@pytest.mark.parametrize(
    ("response", "example", "message"),
    [case for case in every_error_example() if case[:2] not in NOT_PRODUCED],
)
def test_each_error_example_is_what_the_sandbox_answers(
    response: str, example: str, message: str
) -> None:
    status, call = TRIGGERS[(response, example)]
    with (
        run_sandbox(in_process=True, rate_limit=True) as sandbox,
        sandbox.http_client() as api,
        sandbox.http_client(anonymous=True) as anonymous,
    ):
        answer = call(api, anonymous, sandbox)
    assert answer.status_code == status
    assert answer.json()["error"] == {
        "code": sandbox_errors.code_for_status(status),
        "message": message,
    }


def test_final_statuses_of_the_store_are_the_documents() -> None:
    from pik_sandbox.store import FINAL_STATUSES

    assert set(FINAL_STATUSES) == set(SCHEMAS["PaymentLinkStatus"]["x-pik-final"])


def test_a_status_only_the_document_knows_lists_nothing_rather_than_failing(tmp_path: Path) -> None:
    import asyncio

    from pik_sandbox.store import PaymentLinkStore

    store = PaymentLinkStore(tmp_path / "store.sqlite3")
    try:
        page = asyncio.run(store.list_links(account="a", status="refunded", limit=10, offset=0))
    finally:
        store.close()
    assert (page.links, page.total) == ([], 0)
