"""The generated client's low-level functions under faults: retries that never pay twice,
timeouts, a key that never leaks, forward-compatible parsing, one raised error hierarchy and
pagination. Every fault is scripted with an httpx.MockTransport passed through `httpx_args`, the
way users plug in their own transports."""

from __future__ import annotations

import datetime
import email.utils
import http.server
import json
import logging
import pickle
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest

from pik_generated_client import AuthenticatedClient, errors
from pik_generated_client.api.payment_links import (
    create_payment_link,
    get_payment_link,
    list_payment_links,
)
from pik_generated_client.client import DEFAULT_TIMEOUT, RetryPolicy
from pik_generated_client.errors import parse_retry_after
from pik_generated_client.models import (
    CreatePaymentLinkRequest,
    PaymentLink,
    PaymentLinkStatus,
)
from pik_generated_client.types import UNSET
from tests.support.openapi_doc import load_seed

BASE_URL = "https://api-sandbox.pik.global/v1"
TOKEN = "sk_test_SECRET_a1b2c3d4e5"
LINK = load_seed("create_201.json")
Answer = httpx.Response | Exception


class Script:
    """A transport that answers each request with the next scripted answer, recording requests."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self, **kwargs: Any) -> AuthenticatedClient:
        kwargs.setdefault("retry_policy", RetryPolicy(initial_delay=0.001, max_delay=0.002))
        return AuthenticatedClient(
            base_url=BASE_URL,
            token=TOKEN,
            httpx_args={"transport": httpx.MockTransport(self)},
            **kwargs,
        )


def json_answer(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def error_answer(status: int, code: str, **headers: str) -> httpx.Response:
    return json_answer(status, {"error": {"code": code, "message": f"{code} happened"}}, **headers)


def rate_limited(retry_after: str) -> httpx.Response:
    return error_answer(429, "rate_limited", **{"Retry-After": retry_after})


NEW_LINK = CreatePaymentLinkRequest(amount="75.00", currency="USDT")


# Retries


def test_get_waits_retry_after_on_429_then_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    script = Script(rate_limited("1"), json_answer(200, LINK))
    caplog.set_level(logging.INFO, logger="pik_generated_client")
    started = time.monotonic()
    link = get_payment_link.sync(client=script.client(), id="pl_abc123xyz")
    assert isinstance(link, PaymentLink)
    assert len(script.requests) == 2
    assert time.monotonic() - started >= 1.0
    assert "retrying get_payment_link (GET " in caplog.text
    assert "in 1.00 s after HTTP 429 (retry 1 of 2)" in caplog.text


def test_get_retries_two_503s_then_succeeds() -> None:
    script = Script(error_answer(503, "x"), error_answer(503, "x"), json_answer(200, LINK))
    assert isinstance(get_payment_link.sync(client=script.client(), id="pl_1"), PaymentLink)
    assert len(script.requests) == 3


def test_get_gives_up_after_max_retries_and_raises_the_last_answer() -> None:
    script = Script(*(error_answer(502, "internal_error") for _ in range(3)))
    with pytest.raises(errors.InternalServerError) as caught:
        get_payment_link.sync_detailed(client=script.client(), id="pl_1")
    assert caught.value.status_code == 502
    assert len(script.requests) == 3


def test_get_retries_a_connection_error_then_succeeds() -> None:
    script = Script(httpx.ConnectError("refused"), json_answer(200, LINK))
    assert isinstance(get_payment_link.sync(client=script.client(), id="pl_1"), PaymentLink)
    assert len(script.requests) == 2


def test_get_retries_a_read_timeout() -> None:
    script = Script(httpx.ReadTimeout("slow"), json_answer(200, LINK))
    assert isinstance(get_payment_link.sync(client=script.client(), id="pl_1"), PaymentLink)
    assert len(script.requests) == 2


def test_post_is_never_retried_after_a_500() -> None:
    script = Script(error_answer(500, "internal_error"), json_answer(201, LINK))
    with pytest.raises(errors.InternalServerError) as caught:
        create_payment_link.sync(client=script.client(), body=NEW_LINK)
    assert caught.value.code == "internal_error"
    assert len(script.requests) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_post_is_never_retried_after_a_gateway_error(status: int) -> None:
    script = Script(error_answer(status, "x"), json_answer(201, LINK))
    with pytest.raises(errors.InternalServerError):
        create_payment_link.sync_detailed(client=script.client(), body=NEW_LINK)
    assert len(script.requests) == 1


def test_post_is_never_retried_after_a_read_timeout() -> None:
    script = Script(httpx.ReadTimeout("the link may exist"), json_answer(201, LINK))
    with pytest.raises(errors.APITimeoutError) as caught:
        create_payment_link.sync(client=script.client(), body=NEW_LINK)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(script.requests) == 1


def test_post_is_retried_after_429_with_the_same_body() -> None:
    script = Script(rate_limited("0"), json_answer(201, LINK))
    link = create_payment_link.sync(client=script.client(), body=NEW_LINK)
    assert isinstance(link, PaymentLink)
    assert [json.loads(r.content) for r in script.requests] == [NEW_LINK.to_dict()] * 2


def test_post_is_retried_when_the_connection_failed_before_sending() -> None:
    script = Script(httpx.ConnectError("refused"), json_answer(201, LINK))
    assert isinstance(create_payment_link.sync(client=script.client(), body=NEW_LINK), PaymentLink)
    assert len(script.requests) == 2


def test_max_retries_zero_turns_retries_off() -> None:
    script = Script(error_answer(503, "x"), json_answer(200, LINK))
    client = AuthenticatedClient(
        base_url=BASE_URL,
        token=TOKEN,
        max_retries=0,
        httpx_args={"transport": httpx.MockTransport(script)},
    )
    with pytest.raises(errors.InternalServerError):
        get_payment_link.sync_detailed(client=client, id="pl_1")
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_async_get_retries_503_then_succeeds() -> None:
    script = Script(error_answer(503, "x"), json_answer(200, LINK))
    link = await get_payment_link.asyncio(client=script.client(), id="pl_1")
    assert isinstance(link, PaymentLink)
    assert len(script.requests) == 2


@pytest.mark.anyio
async def test_async_post_is_never_retried_after_a_500() -> None:
    script = Script(error_answer(500, "internal_error"), json_answer(201, LINK))
    with pytest.raises(errors.InternalServerError):
        await create_payment_link.asyncio(client=script.client(), body=NEW_LINK)
    assert len(script.requests) == 1


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    in_30_s = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28.0 <= (parse_retry_after(in_30_s) or 0) <= 30.0
    assert parse_retry_after(email.utils.formatdate(time.time() - 30, usegmt=True)) == 0.0


def test_a_retry_after_over_the_cap_raises_rate_limit_error_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pik_generated_client")
    script = Script(rate_limited("11"), json_answer(200, LINK))
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError) as caught:
        get_payment_link.sync(client=script.client(retry_policy=RetryPolicy()), id="pl_1")
    assert time.monotonic() - started < 1.0
    assert len(script.requests) == 1
    assert caught.value.retry_after == 11.0
    assert caught.value.code == "rate_limited"
    assert "Retry-After 11 s is over the 10 s cap" in caplog.text


def test_the_retry_after_cap_is_configurable() -> None:
    request = httpx.Request("GET", f"{BASE_URL}/payment-links")
    response = httpx.Response(429, headers={"Retry-After": "30"}, request=request)
    assert RetryPolicy().next_delay("op", request, 0, response=response) is None
    policy = RetryPolicy(max_retry_after=60)
    assert policy.next_delay("op", request, 0, response=response) == 30.0


def test_rate_limit_error_after_the_last_retry_carries_retry_after() -> None:
    script = Script(rate_limited("0"), rate_limited("0"), rate_limited("7"))
    with pytest.raises(errors.RateLimitError) as caught:
        create_payment_link.sync(client=script.client(), body=NEW_LINK)
    assert len(script.requests) == 3
    assert caught.value.retry_after == 7.0


def test_backoff_grows_exponentially_with_jitter() -> None:
    policy = RetryPolicy(max_retries=5)
    request = httpx.Request("GET", f"{BASE_URL}/payment-links")
    response = httpx.Response(503, request=request)
    for retries_done, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 8.0]):
        delay = policy.next_delay("op", request, retries_done, response=response)
        assert delay is not None
        assert 0.75 * ceiling <= delay <= ceiling


# Timeouts


def test_every_request_has_a_default_timeout() -> None:
    client = AuthenticatedClient(base_url=BASE_URL, token=TOKEN)
    assert httpx.Timeout(30.0, connect=5.0) == DEFAULT_TIMEOUT
    assert client.get_httpx_client().timeout == DEFAULT_TIMEOUT
    assert client.get_async_httpx_client().timeout == DEFAULT_TIMEOUT


def test_timeout_can_be_overridden() -> None:
    script = Script(json_answer(200, LINK))
    client = script.client(timeout=httpx.Timeout(2.0))
    get_payment_link.sync(client=client, id="pl_1")
    assert script.requests[0].extensions["timeout"]["read"] == 2.0


# The secret key


def test_key_is_sent_as_a_bearer_token() -> None:
    script = Script(json_answer(200, LINK))
    get_payment_link.sync(client=script.client(), id="pl_1")
    assert script.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_key_never_appears_in_repr_str_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"<html>Invalid key {TOKEN} for this account</html>"
    script = Script(
        error_answer(503, "x"),
        httpx.Response(200, text=echo),
        error_answer(401, "unauthorized"),
    )
    client = script.client()
    shown = [repr(client), str(client)]
    with pytest.raises(errors.InvalidResponse) as invalid:
        get_payment_link.sync(client=client, id="pl_1")
    shown += [repr(client), str(client), str(invalid.value), repr(invalid.value)]
    shown += [invalid.value.excerpt, invalid.value.reason, str(vars(client))]
    with pytest.raises(errors.AuthenticationError) as api_error:
        list(list_payment_links.sync_iter(client=client))
    shown += [str(api_error.value), caplog.text]
    assert "<redacted>" in invalid.value.excerpt
    for text in shown:
        assert TOKEN not in text


# Forward compatibility


def test_a_status_the_spec_does_not_list_still_parses() -> None:
    script = Script(json_answer(200, {**LINK, "status": "refunded"}))
    link = get_payment_link.sync(client=script.client(), id="pl_1")
    assert isinstance(link, PaymentLink)
    assert link.status.value == "refunded"
    assert link.status == "refunded"
    assert not link.status.is_known
    assert PaymentLinkStatus.PAID.is_known
    assert link.to_dict()["status"] == "refunded"


def test_unknown_fields_stay_in_additional_properties() -> None:
    script = Script(json_answer(200, {**LINK, "network": "solana", "fee": {"amount": "0.1"}}))
    link = get_payment_link.sync(client=script.client(), id="pl_1")
    assert isinstance(link, PaymentLink)
    assert link.additional_properties == {"network": "solana", "fee": {"amount": "0.1"}}
    assert link.to_dict() == {**LINK, "network": "solana", "fee": {"amount": "0.1"}}


def test_each_link_of_a_page_is_parsed_as_one_link_alone() -> None:
    paid = {**LINK, "status": "paid", "paid_at": "2024-01-15T10:45:00+00:00"}
    items = [LINK, paid, {**LINK, "status": "refunded", "network": "solana"}]
    script = Script(json_answer(200, {"data": items, "total": 3, "limit": 20, "offset": 0}))
    page = list_payment_links.sync(client=script.client())
    assert page.data == [PaymentLink.from_dict(item) for item in items]
    assert [link.paid_at for link in page.data] == [
        UNSET,
        datetime.datetime(2024, 1, 15, 10, 45, tzinfo=datetime.UTC),
        UNSET,
    ]
    assert [link.status.is_known for link in page.data] == [True, True, False]
    assert page.data[2].additional_properties == {"network": "solana"}


def test_an_unknown_asset_is_just_a_string() -> None:
    script = Script(json_answer(200, {**LINK, "currency": "PYUSD"}))
    link = get_payment_link.sync(client=script.client(), id="pl_1")
    assert isinstance(link, PaymentLink)
    assert link.currency == "PYUSD"


# Clear errors


def test_an_html_body_raises_invalid_response_naming_operation_and_status() -> None:
    script = Script(httpx.Response(200, text="<html><body>Bad gateway</body></html>"))
    with pytest.raises(errors.InvalidResponse) as caught:
        get_payment_link.sync(client=script.client(), id="pl_1")
    message = str(caught.value)
    assert message.startswith(
        f"get_payment_link: GET {BASE_URL}/payment-links/pl_1: HTTP 200: the body is not JSON"
    )
    assert "<html><body>Bad gateway" in message
    assert caught.value.status_code == 200
    assert isinstance(caught.value, errors.PikError)


def test_a_missing_required_field_raises_invalid_response() -> None:
    script = Script(json_answer(200, {k: v for k, v in LINK.items() if k != "id"}))
    with pytest.raises(errors.InvalidResponse, match="required field 'id' is missing"):
        get_payment_link.sync(client=script.client(), id="pl_1")


def test_a_wrongly_typed_field_raises_invalid_response() -> None:
    script = Script(json_answer(200, {**LINK, "created_at": 1705314600}))
    with pytest.raises(errors.InvalidResponse, match="does not match the document"):
        get_payment_link.sync(client=script.client(), id="pl_1")


def test_a_status_http_does_not_define_raises_internal_server_error() -> None:
    script = Script(httpx.Response(520, text="Web server is returning an unknown error"))
    with pytest.raises(errors.InternalServerError) as caught:
        get_payment_link.sync(client=script.client(max_retries=0), id="pl_1")
    assert caught.value.status_code == 520
    assert caught.value.code is None
    assert caught.value.message == "Web server is returning an unknown error"
    assert f"get_payment_link: GET {BASE_URL}/payment-links/pl_1: HTTP 520" in str(caught.value)


def test_an_undocumented_status_raises_api_status_error_with_everything_kept() -> None:
    script = Script(error_answer(418, "teapot", **{"X-Request-Id": "req_1"}))
    with pytest.raises(errors.APIStatusError) as caught:
        get_payment_link.sync_detailed(client=script.client(), id="pl_1")
    error = caught.value
    assert type(error) is errors.APIStatusError
    assert (error.status_code, error.code, error.message) == (418, "teapot", "teapot happened")
    assert error.headers["x-request-id"] == "req_1"
    assert error.body == {"error": {"code": "teapot", "message": "teapot happened"}}
    assert error.operation == "get_payment_link"


def test_a_502_page_from_a_proxy_raises_internal_server_error_after_the_retries() -> None:
    page = httpx.Response(502, text="<html>Bad gateway</html>")
    script = Script(page, page, page)
    with pytest.raises(errors.InternalServerError) as caught:
        get_payment_link.sync(client=script.client(), id="pl_1")
    assert (caught.value.status_code, caught.value.code, caught.value.body) == (502, None, None)
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (400, "invalid_request", errors.BadRequestError),
        (401, "unauthorized", errors.AuthenticationError),
        (403, "forbidden", errors.PermissionDeniedError),
        (404, "not_found", errors.NotFoundError),
        (413, "invalid_request", errors.BadRequestError),
        (415, "invalid_request", errors.BadRequestError),
        (422, "unprocessable_entity", errors.UnprocessableEntityError),
        (429, "rate_limited", errors.RateLimitError),
        (500, "internal_error", errors.InternalServerError),
    ],
)
def test_each_documented_error_raises_its_class(
    status: int, code: str, error_class: type[errors.APIStatusError]
) -> None:
    script = Script(error_answer(status, code, **{"Retry-After": "60"}))
    with pytest.raises(error_class) as caught:
        create_payment_link.sync(client=script.client(), body=NEW_LINK)
    assert (caught.value.status_code, caught.value.code) == (status, code)
    assert caught.value.message == f"{code} happened"
    assert isinstance(caught.value, errors.PikError)


# Pagination


def paged_client(total: int) -> tuple[AuthenticatedClient, list[dict[str, str]]]:
    links = [{**LINK, "id": f"pl_{i:04d}"} for i in range(total)]
    queries: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        queries.append(query)
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
        page = links[offset : offset + limit]
        return json_answer(200, {"data": page, "total": total, "limit": limit, "offset": offset})

    client = AuthenticatedClient(
        base_url=BASE_URL, token=TOKEN, httpx_args={"transport": httpx.MockTransport(answer)}
    )
    return client, queries


def test_sync_iter_yields_25_links_in_pages_of_10() -> None:
    client, queries = paged_client(25)
    links = list(
        list_payment_links.sync_iter(client=client, status=PaymentLinkStatus.ACTIVE, limit=10)
    )
    assert [link.id for link in links] == [f"pl_{i:04d}" for i in range(25)]
    assert queries == [
        {"status": "active", "limit": "10", "offset": str(offset)} for offset in (0, 10, 20)
    ]


def test_sync_iter_fetches_a_page_only_when_needed() -> None:
    client, queries = paged_client(25)
    links: Iterator[PaymentLink] = list_payment_links.sync_iter(client=client, limit=10)
    assert queries == []
    first_ten = [next(links) for _ in range(10)]
    assert len(first_ten) == 10
    assert len(queries) == 1
    next(links)
    assert len(queries) == 2


@pytest.mark.anyio
async def test_asyncio_iter_yields_25_links_in_pages_of_10() -> None:
    client, queries = paged_client(25)
    ids = [link.id async for link in list_payment_links.asyncio_iter(client=client, limit=10)]
    assert ids == [f"pl_{i:04d}" for i in range(25)]
    assert [q["offset"] for q in queries] == ["0", "10", "20"]


def test_sync_iter_of_an_empty_account_makes_one_request() -> None:
    client, queries = paged_client(0)
    assert list(list_payment_links.sync_iter(client=client)) == []
    assert len(queries) == 1


def test_sync_iter_raises_the_same_classes_as_sync() -> None:
    script = Script(error_answer(401, "unauthorized"))
    with pytest.raises(errors.AuthenticationError) as caught:
        list(list_payment_links.sync_iter(client=script.client()))
    assert caught.value.code == "unauthorized"
    assert caught.value.status_code == 401
    assert str(caught.value).startswith(
        f"list_payment_links: GET {BASE_URL}/payment-links: HTTP 401: unauthorized"
    )


# Hardening


def test_a_key_with_a_line_break_is_refused_without_quoting_it() -> None:
    with pytest.raises(ValueError) as caught:
        AuthenticatedClient(base_url=BASE_URL, token=TOKEN + "\n")
    assert TOKEN not in str(caught.value)


def test_the_key_sits_in_no_headers_dict_and_the_client_does_not_pickle() -> None:
    client = AuthenticatedClient(base_url=BASE_URL, token=TOKEN)
    assert "Authorization" not in client.get_httpx_client().headers
    with pytest.raises(TypeError):
        pickle.dumps(client)


def test_an_error_body_echoing_the_key_is_stored_redacted_and_unchained() -> None:
    script = Script(httpx.Response(200, text=f"bad key {TOKEN}"))
    with pytest.raises(errors.InvalidResponse) as caught:
        get_payment_link.sync(client=script.client(), id="pl_1")
    assert TOKEN.encode() not in caught.value.content
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


def test_errors_survive_pickling() -> None:
    script = Script(error_answer(401, "unauthorized"))
    with pytest.raises(errors.ApiError) as caught:
        list(list_payment_links.sync_iter(client=script.client()))
    assert isinstance(caught.value, errors.AuthenticationError)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.code, copy.status_code, str(copy)) == ("unauthorized", 401, str(caught.value))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({**LINK, "id": None}, "'id' is NoneType, not a string"),
        ({**LINK, "amount": 75.0}, "'amount' is float, not a string"),
        ({"data": [], "total": "5", "limit": 10, "offset": 0}, "'total' is str, not an integer"),
        (
            {"data": [LINK, {**LINK, "url": 1}], "total": 2, "limit": 20, "offset": 0},
            "'url' is int, not a string",
        ),
        ({"data": ["pl_1"], "total": 1, "limit": 20, "offset": 0}, "does not match the document"),
        ({**LINK, "paid_at": None}, "does not match the document"),
        ({**LINK, "status": None}, "does not match the document"),
    ],
)
def test_a_value_of_the_wrong_json_type_is_invalid(body: dict[str, Any], reason: str) -> None:
    script = Script(json_answer(200, body), json_answer(200, body))
    with pytest.raises(errors.InvalidResponse, match=reason):
        if "total" in body:
            list(list_payment_links.sync_iter(client=script.client()))
        else:
            get_payment_link.sync(client=script.client(), id="pl_1")


def test_a_deeply_nested_body_is_invalid_not_a_recursion_error() -> None:
    script = Script(httpx.Response(200, content=b"[" * 100_000))
    with pytest.raises(errors.InvalidResponse):
        get_payment_link.sync(client=script.client(), id="pl_1")


def test_a_retry_after_that_is_not_ascii_digits_falls_back_to_backoff() -> None:
    assert parse_retry_after("\u00b2") is None
    superscript_two = httpx.Response(429, headers=[(b"Retry-After", "\u00b2".encode("latin-1"))])
    script = Script(superscript_two, json_answer(200, LINK))
    assert isinstance(get_payment_link.sync(client=script.client(), id="pl_1"), PaymentLink)


def test_negative_retry_delays_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(initial_delay=-1)


def test_dot_ids_stay_inside_the_payment_link_path() -> None:
    script = Script(error_answer(404, "not_found"), error_answer(404, "not_found"))
    client = script.client()
    for dots in ("..", "."):
        with pytest.raises(errors.NotFoundError):
            get_payment_link.sync(client=client, id=dots)
    assert [r.url.raw_path for r in script.requests] == [
        b"/v1/payment-links/%2E%2E",
        b"/v1/payment-links/%2E",
    ]


# Awkward query values: spaces, reserved and non-ASCII characters, a bool, a None, a list, an enum.
AWKWARD_PARAMS: dict[str, Any] = {
    "q": "a b&c=d+e/f?g#h%20é",
    "limit": 10,
    "flag": True,
    "empty": None,
    "many": ["x y", "z"],
    "status": PaymentLinkStatus.PAID,
}


@pytest.mark.parametrize(
    "own_params", [None, {"limit": "99", "tag": "mine"}], ids=["plain", "http-client-params"]
)
def test_the_query_is_the_one_httpx_builds_from_the_same_params(
    own_params: dict[str, str] | None,
) -> None:
    script = Script(json_answer(200, LINK), json_answer(200, LINK))
    client = script.client()
    http = httpx.Client(transport=httpx.MockTransport(script), params=own_params)
    client.set_httpx_client(http)
    kwargs = {"method": "get", "url": "/payment-links", "params": AWKWARD_PARAMS}
    client.send("list_payment_links", kwargs)
    client.send("list_payment_links", {**kwargs, "params": {}})
    expected = [
        http.build_request("GET", f"{BASE_URL}/payment-links", params=params).url
        for params in (AWKWARD_PARAMS, {})
    ]
    assert [str(request.url) for request in script.requests] == [str(url) for url in expected]


@pytest.mark.anyio
async def test_the_async_query_is_the_one_httpx_builds_from_the_same_params() -> None:
    script = Script(json_answer(200, LINK))
    client = script.client()
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as http:
        client.set_async_httpx_client(http)
        await client.asend(
            "list_payment_links",
            {"method": "get", "url": "/payment-links", "params": AWKWARD_PARAMS},
        )
        expected = http.build_request("GET", f"{BASE_URL}/payment-links", params=AWKWARD_PARAMS)
    assert str(script.requests[0].url) == str(expected.url)


class BrokenBody(httpx.SyncByteStream):
    """A body whose connection breaks after the headers arrived."""

    def __iter__(self) -> Iterator[bytes]:
        raise httpx.ReadError("connection reset mid-body")


def test_a_get_whose_body_breaks_is_retried() -> None:
    script = Script(httpx.Response(200, stream=BrokenBody()), json_answer(200, LINK))
    assert isinstance(get_payment_link.sync(client=script.client(), id="pl_1"), PaymentLink)
    assert len(script.requests) == 2


def test_a_request_that_cannot_succeed_is_not_retried() -> None:
    script = Script(httpx.LocalProtocolError("illegal header"), json_answer(200, LINK))
    with pytest.raises(errors.APIConnectionError) as caught:
        get_payment_link.sync(client=script.client(), id="pl_1")
    assert isinstance(caught.value.__cause__, httpx.LocalProtocolError)
    assert len(script.requests) == 1


def test_transports_mounted_through_httpx_args_are_retried_too() -> None:
    script = Script(error_answer(503, "x"), json_answer(200, LINK))
    client = AuthenticatedClient(
        base_url=BASE_URL,
        token=TOKEN,
        retry_policy=RetryPolicy(initial_delay=0.001),
        httpx_args={"mounts": {"https://": httpx.MockTransport(script)}},
    )
    assert isinstance(get_payment_link.sync(client=client, id="pl_1"), PaymentLink)
    assert len(script.requests) == 2


def test_pagination_stops_on_a_server_that_ignores_the_offset() -> None:
    page = {"data": [{**LINK, "id": f"pl_{i}"} for i in range(2)], "total": 10, "limit": 2}
    script = Script(
        json_answer(200, {**page, "offset": 0}), json_answer(200, {**page, "offset": 0})
    )
    with pytest.raises(errors.InvalidResponse, match="asked for offset 2, got a page at offset 0"):
        list(list_payment_links.sync_iter(client=script.client(), limit=2))


def test_pagination_stops_on_a_short_page_whatever_the_total() -> None:
    page = {"data": [LINK], "total": 50, "limit": 10, "offset": 0}
    script = Script(json_answer(200, page))
    assert len(list(list_payment_links.sync_iter(client=script.client(), limit=10))) == 1
    assert len(script.requests) == 1


class RecordingProxy(http.server.BaseHTTPRequestHandler):
    """An HTTP proxy stand-in on loopback: records each request line, answers with a link."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.requestline)
        body = json.dumps(LINK).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_environment_proxy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = AuthenticatedClient(base_url="http://api.pik.invalid/v1", token=TOKEN)
        assert isinstance(get_payment_link.sync(client=client, id="pl_1"), PaymentLink)
    finally:
        server.shutdown()
    assert RecordingProxy.seen == ["GET http://api.pik.invalid/v1/payment-links/pl_1 HTTP/1.1"]
