"""Every class of bad input gets PIK's error shape and the right status, never a 500, and
stores nothing; in-process and over a real socket (where uvicorn parses the bytes)."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import API_KEY
from tests.sandbox.support import ORDER, assert_error

if TYPE_CHECKING:
    from tests.conftest import SandboxProcess

JSON = {"Content-Type": "application/json"}
TOO_LARGE = 70 * 1024


@pytest.fixture(params=["in-process", "socket"])
def api_at_root(
    request: pytest.FixtureRequest,
    sandbox_app: Any,
    client_for: Callable[..., httpx.Client],
) -> Iterator[httpx.Client]:
    """A client rooted at the site (paths start with /v1) for the first account."""
    if request.param == "in-process":
        yield client_for(sandbox_app, API_KEY, base_path="")
        return
    live: SandboxProcess = request.getfixturevalue("live_sandbox")
    with live.client(API_KEY, base_path="") as client:
        yield client


@pytest.fixture
def stored(api_at_root: httpx.Client) -> Callable[[], int]:
    """How many links the account has right now."""

    def count() -> int:
        total: int = api_at_root.get("/v1/payment-links").json()["total"]
        return total

    return count


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/payment-links", {"GET", "POST"}),
        ("PUT", "/v1/payment-links", {"GET", "POST"}),
        ("DELETE", "/v1/payment-links/pl_abc123xyz", {"GET"}),
        ("PATCH", "/v1/payment-links/pl_abc123xyz", {"GET"}),
        ("GET", "/v1/sandbox/payment-links/pl_abc123xyz/simulate", {"POST"}),
    ],
)
def test_a_wrong_method_is_405_with_allow(
    api_at_root: httpx.Client, stored: Callable[[], int], method: str, path: str, allowed: set[str]
) -> None:
    before = stored()
    response = api_at_root.request(method, path, json=ORDER)
    assert_error(response, 405, "invalid_request", method)
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
    assert stored() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing-here"),
        ("POST", "/v1/payment-links/pl_abc123xyz/refund"),
        ("GET", "/v2/payment-links"),
        ("GET", "/payment-links"),
        ("GET", "/v1/payment-links/pl_abc123xyz/extra"),
        # A trailing slash too many or too few is not a path either (no redirect).
        ("GET", "/v1/payment-links/"),
        ("POST", "/v1/payment-links/"),
        ("GET", "/v1/payment-links/pl_abc123xyz/"),
        ("POST", "/v1/sandbox/payment-links/pl_abc123xyz/simulate/"),
        ("GET", "/v1"),
        ("GET", "/openapi.yaml/"),
    ],
)
def test_an_unknown_path_is_404(
    api_at_root: httpx.Client, stored: Callable[[], int], method: str, path: str
) -> None:
    before = stored()
    assert_error(api_at_root.request(method, path, json=ORDER), 404, "not_found", path)
    assert stored() == before


@pytest.mark.parametrize(
    ("method", "path", "status", "shown"),
    [
        ("GET", "/v1/" + "x" * 1000, 404, "/v1/xxx"),
        ("DELETE", "/v1/payment-links/pl_" + "a" * 1000, 405, "/v1/payment-links/pl_aaa"),
        ("GET", "/v1/line%0Abreak", 404, "/v1/line%0Abreak"),
    ],
)
def test_the_path_a_message_echoes_is_short_and_on_one_line(
    api_at_root: httpx.Client, method: str, path: str, status: int, shown: str
) -> None:
    response = api_at_root.request(method, path)
    assert_error(response, status, "not_found" if status == 404 else "invalid_request", shown)
    assert len(response.json()["error"]["message"]) < 200


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"],
)
def test_a_wrong_content_type_is_415(
    api_at_root: httpx.Client, stored: Callable[[], int], content_type: str
) -> None:
    before = stored()
    response = api_at_root.post(
        "/v1/payment-links",
        content=b'{"amount": "75.00", "currency": "USDT"}',
        headers={"Content-Type": content_type},
    )
    assert_error(response, 415, "invalid_request", "application/json")
    assert stored() == before


@pytest.mark.parametrize("encoding", ["gzip", "br", "gzip, deflate"])
def test_a_compressed_body_is_415_naming_the_encoding(
    api_at_root: httpx.Client, stored: Callable[[], int], encoding: str
) -> None:
    before = stored()
    body = b'{"amount": "75.00", "currency": "USDT"}'
    if encoding == "gzip":
        body = gzip.compress(body)
    response = api_at_root.post(
        "/v1/payment-links",
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert_error(response, 415, "invalid_request", encoding)
    assert stored() == before


def test_a_body_without_content_type_is_415(
    api_at_root: httpx.Client, stored: Callable[[], int]
) -> None:
    before = stored()
    response = api_at_root.post(
        "/v1/payment-links", content=b'{"amount": "75.00", "currency": "USDT"}'
    )
    assert_error(response, 415, "invalid_request", "Content-Type")
    assert stored() == before


@pytest.mark.parametrize(
    "body",
    [
        b'{"amount": "75.00", "currency": "USDT"',
        b"{amount: '75.00'}",
        b'{"amount": "75.00",, "currency": "USDT"}',
        b"nul",
        b"",
        b"[" * 5000 + b"]" * 5000,
        b'{"amount": "75.00", "currency": "USDT", "description": "\\ud800"}',
        b'{"amount": "75.00", "currency": "USDT", "description": ' + b"9" * 5000 + b"}",
    ],
    ids=[
        "unclosed",
        "unquoted",
        "double-comma",
        "truncated-null",
        "empty",
        "deeply-nested",
        "lone-surrogate",
        "integer-of-5000-digits",
    ],
)
def test_malformed_json_is_400(
    api_at_root: httpx.Client, stored: Callable[[], int], body: bytes
) -> None:
    before = stored()
    response = api_at_root.post("/v1/payment-links", content=body, headers=JSON)
    assert_error(response, 400, "invalid_request")
    assert stored() == before


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_a_body_that_is_not_utf8_is_400(
    api_at_root: httpx.Client, stored: Callable[[], int], content_type: str
) -> None:
    before = stored()
    body = b'{"amount": "75.00", "currency": "USDT", "description": "caf\xe9 \xff\xfe"}'
    response = api_at_root.post(
        "/v1/payment-links", content=body, headers={"Content-Type": content_type}
    )
    assert_error(response, 400, "invalid_request", "UTF-8")
    assert stored() == before


# A body another charset would decode differently: validated as one text, stored as another.
SMUGGLED = (
    b'{"currency": "USDT", "amount": "Infinity",'
    b' "description": "\\u0022,\\u0022amount\\u0022:\\u00221"}'
)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/json;charset=unicode_escape", SMUGGLED, id="unicode_escape"),
        pytest.param(
            "application/json; charset=latin-1",
            '{"amount": "1", "currency": "USDT", "description": "café"}'.encode("latin-1"),
            id="latin-1",
        ),
        pytest.param(
            "application/json;charset=utf-16",
            '{"amount": "1", "currency": "USDT"}'.encode("utf-16"),
            id="utf-16",
        ),
        pytest.param(
            "application/json; charset=nonsense",
            b'{"amount": "1", "currency": "USDT"}',
            id="unknown",
        ),
        pytest.param(
            "application/json; charset=" + "x" * 1000,
            b'{"amount": "1", "currency": "USDT"}',
            id="long",
        ),
    ],
)
def test_a_charset_other_than_utf8_is_415(
    api_at_root: httpx.Client, stored: Callable[[], int], content_type: str, body: bytes
) -> None:
    before = stored()
    response = api_at_root.post(
        "/v1/payment-links", content=body, headers={"Content-Type": content_type}
    )
    assert_error(response, 415, "invalid_request", "UTF-8")
    assert stored() == before


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=UTF-8", 'application/json;charset="utf-8"', "application/json;"],
)
def test_utf8_named_as_the_charset_is_accepted(
    api_at_root: httpx.Client, content_type: str
) -> None:
    body = '{"amount": "1", "currency": "USDT", "description": "café"}'.encode()
    response = api_at_root.post(
        "/v1/payment-links", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "café"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"amount": "5", "amount": "6", "currency": "USDT"}', id="amount"),
        pytest.param(b'{"amount": "5", "currency": "USDT", "currency": "BTC"}', id="currency"),
    ],
)
def test_a_key_sent_twice_is_400(
    api_at_root: httpx.Client, stored: Callable[[], int], body: bytes
) -> None:
    before = stored()
    response = api_at_root.post("/v1/payment-links", content=body, headers=JSON)
    assert_error(response, 400, "invalid_request", "more than once")
    assert stored() == before


@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/json; Charset=UTF-8"])
def test_the_media_type_is_matched_whatever_its_case(
    api_at_root: httpx.Client, stored: Callable[[], int], content_type: str
) -> None:
    before = stored()
    headers = {"Content-Type": content_type}
    refused = api_at_root.post(
        "/v1/payment-links", content=b'{"amount": "NaN", "currency": "USDT"}', headers=headers
    )
    assert_error(refused, 400, "invalid_request", "amount")
    assert stored() == before
    created = api_at_root.post(
        "/v1/payment-links", content=b'{"amount": "5", "currency": "USDT"}', headers=headers
    )
    assert created.status_code == 201, created.text
    simulated = api_at_root.post(
        f"/v1/sandbox/payment-links/{created.json()['id']}/simulate",
        content=b'{"status": "paid"}',
        headers=headers,
    )
    assert simulated.status_code == 200, simulated.text
    assert simulated.json()["status"] == "paid"


def test_an_oversized_body_is_413(api_at_root: httpx.Client, stored: Callable[[], int]) -> None:
    before = stored()
    body = b'{"amount": "75.00", "currency": "USDT", "description": "' + b"x" * TOO_LARGE + b'"}'
    response = api_at_root.post("/v1/payment-links", content=body, headers=JSON)
    assert_error(response, 413, "invalid_request", "KiB")
    assert stored() == before


def test_an_oversized_chunked_body_is_413(
    api_at_root: httpx.Client, stored: Callable[[], int]
) -> None:
    before = stored()

    def chunks() -> Iterator[bytes]:
        yield b'{"amount": "75.00", "currency": "USDT", "description": "'
        for _ in range(TOO_LARGE // 1024):
            yield b"x" * 1024
        yield b'"}'

    response = api_at_root.post("/v1/payment-links", content=chunks(), headers=JSON)
    assert_error(response, 413, "invalid_request")
    assert stored() == before


def test_a_chunked_body_of_normal_size_is_accepted(api_at_root: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"amount": "12.50", '
        yield b'"currency": "USDC"}'

    response = api_at_root.post("/v1/payment-links", content=chunks(), headers=JSON)
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "12.50"


def test_an_oversized_simulate_body_is_413_and_changes_nothing(api_at_root: httpx.Client) -> None:
    link = api_at_root.post("/v1/payment-links", json=ORDER).json()
    body = b'{"status": "paid", "x": "' + b"y" * TOO_LARGE + b'"}'
    response = api_at_root.post(
        f"/v1/sandbox/payment-links/{link['id']}/simulate", content=body, headers=JSON
    )
    assert_error(response, 413, "invalid_request")
    assert api_at_root.get(f"/v1/payment-links/{link['id']}").json()["status"] == "active"


def test_413_and_415_are_documented_on_every_operation_with_a_body() -> None:
    from pik_sandbox.spec import load_spec

    spec = load_spec()
    responses = spec["components"]["responses"]
    for name in ("PayloadTooLarge", "UnsupportedMediaType"):
        example = next(iter(responses[name]["content"]["application/json"]["examples"].values()))
        assert example["value"]["error"]["code"] == "invalid_request"
    for item in spec["paths"].values():
        for operation in item.values():
            if "requestBody" in operation:
                assert {"413", "415"} <= set(operation["responses"]), operation["operationId"]
