"""What the client keeps to itself under hostile or broken servers: the key stays out of every
error, cause, pickle and traceback; credentials never cross origins on a redirect; response bodies
are capped. And the entry points' own rules: where the key and URL come from, typed options."""

from __future__ import annotations

import gzip
import pickle
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pik_generated_client import AsyncPik, AuthenticatedClient, Pik, errors
from pik_generated_client.api.payment_links import create_payment_link, get_payment_link
from pik_generated_client.client import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL
from pik_generated_client.models import CreatePaymentLinkRequest
from tests.support.openapi_doc import load_seed

TOKEN = "sk_test_SECRET_hardening_9f8e7d"
BASE_URL = "https://api-sandbox.pik.global/v1"
LINK = load_seed("create_201.json")
REPO_ROOT = Path(__file__).resolve().parents[2]


def everything_reachable(error: BaseException) -> str:
    """The text of an error, its cause and context, their requests, pickles and traceback."""
    shown = ["".join(traceback.format_exception(error))]
    seen: BaseException | None = error
    while seen is not None:
        shown += [str(seen), repr(seen), repr(vars(seen)), repr(pickle.dumps(seen))]
        request = getattr(seen, "_request", None)
        if isinstance(request, httpx.Request):
            shown += [repr(request.headers.raw), str(request.url)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(shown)


def failing(error: Exception) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        # The request as the transport sees it does carry the key: that is what must not leak.
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        raise error

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (httpx.ConnectError("refused"), errors.APIConnectionError),
        (httpx.ReadError("reset"), errors.APIConnectionError),
        (httpx.ReadTimeout("slow"), errors.APITimeoutError),
    ],
)
def test_transport_errors_carry_no_key_anywhere(
    error: Exception, raised: type[errors.PikError]
) -> None:
    client = AuthenticatedClient(
        BASE_URL, TOKEN, max_retries=0, httpx_args={"transport": failing(error)}
    )
    with pytest.raises(raised) as caught:
        get_payment_link.sync("pl_1", client=client)
    assert type(caught.value.__cause__) is type(error)
    assert caught.value.__context__ is None
    assert caught.value.url == f"{BASE_URL}/payment-links/pl_1"
    assert TOKEN not in everything_reachable(caught.value)
    restored = pickle.loads(pickle.dumps(caught.value.__cause__))
    assert type(restored) is type(error)


@pytest.mark.anyio
async def test_async_transport_errors_carry_no_key_anywhere() -> None:
    transport = failing(httpx.ReadTimeout("slow"))
    async with AsyncPik(
        api_key=TOKEN,
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx.AsyncClient(transport=transport),
    ) as pik:
        with pytest.raises(errors.APITimeoutError) as caught:
            await pik.payment_links.get("pl_1")
    assert TOKEN not in everything_reachable(caught.value)


def test_a_prefix_with_a_line_break_is_refused_without_quoting_the_key() -> None:
    with pytest.raises(ValueError, match="prefix") as caught:
        AuthenticatedClient(BASE_URL, TOKEN, prefix="Bearer\n")
    assert TOKEN not in str(caught.value)


class Origins:
    """Two origins on one mock transport: the API, and another host a redirect points at."""

    def __init__(self, status: int, location: str) -> None:
        self.status = status
        self.location = location
        self.elsewhere: list[httpx.Request] = []
        self.api: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "evil.example":
            self.elsewhere.append(request)
            return httpx.Response(201 if request.method == "POST" else 200, json=LINK)
        self.api.append(request)
        if len(self.api) == 1:
            return httpx.Response(self.status, headers={"Location": self.location})
        return httpx.Response(201 if request.method == "POST" else 200, json=LINK)

    def client(self) -> AuthenticatedClient:
        return AuthenticatedClient(
            BASE_URL,
            TOKEN,
            auth_header_name="X-Api-Key",
            prefix="",
            follow_redirects=True,
            httpx_args={"transport": httpx.MockTransport(self)},
        )


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_get_redirected_to_another_origin_goes_without_the_key(status: int) -> None:
    origins = Origins(status, "https://evil.example/steal")
    get_payment_link.sync("pl_1", client=origins.client())
    assert len(origins.elsewhere) == 1
    assert "x-api-key" not in origins.elsewhere[0].headers
    assert TOKEN not in repr(origins.elsewhere[0].headers.raw)


@pytest.mark.parametrize("status", [307, 308])
def test_a_create_is_never_re_posted_to_another_origin(status: int) -> None:
    origins = Origins(status, "https://evil.example/steal")
    body = CreatePaymentLinkRequest(amount="75.00", currency="USDT")
    with pytest.raises(errors.APIStatusError) as caught:
        create_payment_link.sync(client=origins.client(), body=body)
    assert caught.value.status_code == status
    assert origins.elsewhere == []


def test_a_same_origin_redirect_keeps_the_key() -> None:
    origins = Origins(308, f"{BASE_URL}/payment-links/pl_moved")
    get_payment_link.sync("pl_1", client=origins.client())
    assert [request.headers["x-api-key"] for request in origins.api] == [TOKEN, TOKEN]


class Endless(httpx.SyncByteStream):
    """A 200 whose body never ends."""

    def __init__(self) -> None:
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.sent += 65536
            yield b"x" * 65536


def test_an_endless_body_fails_at_the_cap_not_with_memory_error() -> None:
    stream = Endless()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=stream))
    client = AuthenticatedClient(
        BASE_URL, TOKEN, max_response_bytes=1_000_000, httpx_args={"transport": transport}
    )
    with pytest.raises(errors.ResponseTooLargeError) as caught:
        get_payment_link.sync("pl_1", client=client)
    assert stream.sent < 2_000_000
    assert isinstance(caught.value, errors.InvalidResponse)
    assert "max_response_bytes (1000000)" in str(caught.value)


class AsyncEndless(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 65536


@pytest.mark.anyio
async def test_an_endless_body_fails_at_the_cap_async() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=AsyncEndless()))
    async with AsyncPik(
        api_key=TOKEN,
        base_url=BASE_URL,
        max_response_bytes=100_000,
        http_client=httpx.AsyncClient(transport=transport),
    ) as pik:
        with pytest.raises(errors.ResponseTooLargeError):
            await pik.payment_links.get("pl_1")


def capped_client(transport: httpx.MockTransport, cap: int) -> AuthenticatedClient:
    return AuthenticatedClient(
        BASE_URL, TOKEN, max_response_bytes=cap, httpx_args={"transport": transport}
    )


def test_a_content_length_over_the_cap_is_refused_before_reading() -> None:
    stream = Endless()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"Content-Length": "1000001"}, stream=stream)
    )
    with pytest.raises(errors.ResponseTooLargeError):
        get_payment_link.sync("pl_1", client=capped_client(transport, 1_000_000))
    assert stream.sent == 0


def test_the_content_length_of_a_304_is_no_body_to_refuse() -> None:
    # A 304 announces the length of the representation it does not send.
    transport = httpx.MockTransport(
        lambda request: httpx.Response(304, headers={"Content-Length": "1000001"})
    )
    with pytest.raises(errors.APIStatusError) as caught:
        get_payment_link.sync("pl_1", client=capped_client(transport, 1_000_000))
    assert not isinstance(caught.value, errors.ResponseTooLargeError)
    assert caught.value.status_code == 304


def test_a_content_length_that_lies_does_not_lift_the_cap() -> None:
    stream = Endless()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"Content-Length": "10"}, stream=stream)
    )
    with pytest.raises(errors.ResponseTooLargeError):
        get_payment_link.sync("pl_1", client=capped_client(transport, 1_000_000))
    assert stream.sent < 2_000_000


def test_a_body_exactly_at_the_cap_is_accepted_and_one_byte_more_is_not() -> None:
    body = httpx.Response(200, json=LINK).content
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    assert (
        get_payment_link.sync("pl_1", client=capped_client(transport, len(body))).id == LINK["id"]
    )
    with pytest.raises(errors.ResponseTooLargeError):
        get_payment_link.sync("pl_1", client=capped_client(transport, len(body) - 1))


def gzipped(body: bytes) -> httpx.MockTransport:
    packed = gzip.compress(body)
    return httpx.MockTransport(
        lambda request: httpx.Response(
            200,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            content=packed,
        )
    )


def test_a_compressed_body_is_capped_as_it_decodes_not_as_it_arrives() -> None:
    # 2 MB of JSON that compresses to a few KB: under the cap as received, over it decoded.
    bomb = b'{"id": "' + b"0" * 2_000_000 + b'"}'
    assert len(gzip.compress(bomb)) < 100_000
    with pytest.raises(errors.ResponseTooLargeError):
        get_payment_link.sync("pl_1", client=capped_client(gzipped(bomb), 100_000))


def test_a_compressed_body_under_the_cap_is_decoded() -> None:
    body = httpx.Response(200, json=LINK).content
    detailed = get_payment_link.sync_detailed(
        "pl_1", client=capped_client(gzipped(body), len(body))
    )
    assert detailed.parsed.id == LINK["id"]
    assert detailed.content == body


@pytest.mark.anyio
async def test_the_cap_holds_for_a_content_length_and_a_compressed_body_async() -> None:
    bomb = b'{"id": "' + b"0" * 2_000_000 + b'"}'
    declared = httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers={"Content-Length": "100001"}, stream=AsyncEndless()
        )
    )
    body = httpx.Response(200, json=LINK).content
    for transport in (declared, gzipped(bomb)):
        async with AsyncPik(
            api_key=TOKEN,
            base_url=BASE_URL,
            max_response_bytes=100_000,
            http_client=httpx.AsyncClient(transport=transport),
        ) as pik:
            with pytest.raises(errors.ResponseTooLargeError):
                await pik.payment_links.get("pl_1")
    async with AsyncPik(
        api_key=TOKEN,
        base_url=BASE_URL,
        max_response_bytes=len(body),
        http_client=httpx.AsyncClient(transport=gzipped(body)),
    ) as pik:
        assert (await pik.payment_links.get("pl_1")).id == LINK["id"]


# The entry points


def test_the_key_and_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=LINK)

    monkeypatch.setenv(API_KEY_ENV, TOKEN)
    monkeypatch.setenv(BASE_URL_ENV, "http://pik.local/v1")
    with Pik(http_client=httpx.Client(transport=httpx.MockTransport(answer))) as pik:
        pik.payment_links.get("pl_1")
    assert str(seen[0].url) == "http://pik.local/v1/payment-links/pl_1"
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_without_a_key_anywhere_construction_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    with pytest.raises(errors.PikError, match=API_KEY_ENV):
        Pik()


def test_the_default_url_is_the_documents_first_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    document = yaml.safe_load((REPO_ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    assert document["servers"][0]["url"] == DEFAULT_BASE_URL
    assert Pik(api_key=TOKEN).base_url == DEFAULT_BASE_URL


def test_an_entry_point_never_shows_or_pickles_its_key() -> None:
    pik = Pik(api_key=TOKEN)
    assert TOKEN not in repr(pik) + str(pik) + repr(pik.low_level_client)
    with pytest.raises(TypeError):
        pickle.dumps(pik)
    with pytest.raises(ValueError):
        Pik(api_key=TOKEN + "\n")


def test_an_unknown_option_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    options: dict[str, Any] = {"max_retry": 3}
    with pytest.raises(TypeError):
        Pik(api_key=TOKEN, **options)
    with pytest.raises(TypeError):
        AuthenticatedClient(BASE_URL, TOKEN, **options)


def test_your_http_client_is_used_for_sending_and_left_open() -> None:
    answers = [httpx.Response(503), httpx.Response(200, json=LINK)]
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    mine = httpx.Client(transport=httpx.MockTransport(answer), headers={"User-Agent": "merchant/1"})
    with Pik(api_key=TOKEN, base_url=BASE_URL, http_client=mine) as pik:
        assert pik.payment_links.get("pl_1").id == LINK["id"]
    assert len(seen) == 2  # retried
    assert seen[0].headers["User-Agent"] == "merchant/1"
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0].extensions["timeout"]["read"] == 30.0
    assert not mine.is_closed
    mine.close()
