"""The connection every operation goes through: settings, the API key, retries and error mapping.

What it adds to plain httpx, for payments in production:

- the API key never appears in `repr()`, `str()`, exception messages, their causes, or log lines,
  and never follows a redirect to another origin;
- every request has a timeout (`DEFAULT_TIMEOUT`) unless told otherwise, and every response body
  a size cap (`DEFAULT_MAX_RESPONSE_BYTES`);
- failed requests are retried with exponential backoff and jitter, honouring `Retry-After` up to
  a cap, but only when retrying cannot do anything twice: a POST is retried only when the server
  provably never saw it (the connection failed before the request was sent) or refused it with
  429. A `Retry-After` over the cap raises `RateLimitError` at once instead of sleeping;
- every network failure is raised as `errors.APIConnectionError` or `errors.APITimeoutError`.

Retries, the key and the error mapping apply to each request as it is sent, so they hold for an
`httpx.Client` of your own (`set_httpx_client`), with whatever transport, proxies or limits it has.
"""

from __future__ import annotations

import copy
import logging
import os
import random
import ssl
import time
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from typing import Any, NoReturn, Self, TypedDict, Unpack

import anyio
import httpx

from . import errors

# The API's production server, the first one openapi.yaml lists.
DEFAULT_BASE_URL = "https://api.pik.global/v1"
API_KEY_ENV = "PIK_API_KEY"
BASE_URL_ENV = "PIK_BASE_URL"

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# The longest Retry-After the client sleeps through by itself; a longer one raises RateLimitError
# at once, so that a script never stalls silently for a minute. PIK never asks for more than 60 s.
MAX_RETRY_AFTER = 10.0
# A page of 100 links is about 40 KB; a body this large is a fault, not a response.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_REDIRECTS = 5

# Statuses after which the same request may succeed. Only 429 is safe for every method: the
# server refused the request before acting on it.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
ALWAYS_RETRYABLE_STATUSES = frozenset({429})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Failures that happen before a single byte of the request reached the server.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Failures after which the same request may succeed; a malformed request or an unsupported
# scheme (httpx.LocalProtocolError, httpx.UnsupportedProtocol) would only fail again.
TRANSIENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.NetworkError,
    httpx.TimeoutException,
    httpx.RemoteProtocolError,
)

logger = logging.getLogger(__name__.rsplit(".", 1)[0])


class NotGiven:
    """The type of `NOT_GIVEN`: an option left as it is, where None means something."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


class RetryPolicy:
    """When to retry a request and how long to wait first."""

    def __init__(
        self,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        initial_delay: float = INITIAL_RETRY_DELAY,
        max_delay: float = MAX_RETRY_DELAY,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if min(initial_delay, max_delay, max_retry_after) < 0:
            raise ValueError("retry delays must be 0 or more")
        self.max_retries = max_retries
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_retries={self.max_retries}, initial_delay={self.initial_delay}, "
            f"max_delay={self.max_delay}, max_retry_after={self.max_retry_after})"
        )

    def next_delay(
        self,
        operation: str,
        request: httpx.Request,
        retries_done: int,
        *,
        response: httpx.Response | None = None,
        error: httpx.TransportError | None = None,
    ) -> float | None:
        """Seconds to wait before retrying `request`, or None when it must not be retried."""
        if retries_done >= self.max_retries:
            return None
        idempotent = request.method in IDEMPOTENT_METHODS
        retry_after = None
        if response is not None:
            status = response.status_code
            if status not in ALWAYS_RETRYABLE_STATUSES and not (idempotent and status in RETRYABLE_STATUSES):
                return None
            retry_after = errors.parse_retry_after(response.headers.get("Retry-After"))
            outcome = f"HTTP {status}"
        elif error is not None:
            if not isinstance(error, NOT_SENT_ERRORS) and not (idempotent and isinstance(error, TRANSIENT_ERRORS)):
                return None
            outcome = type(error).__name__
        else:
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            logger.info(
                "not retrying %s after %s: Retry-After %.0f s is over the %.0f s cap",
                operation,
                outcome,
                retry_after,
                self.max_retry_after,
            )
            return None
        if retry_after is not None:
            delay = retry_after
        else:
            backoff = min(self.initial_delay * 2**retries_done, self.max_delay)
            delay = backoff * (1 - 0.25 * random.random())
        logger.info(
            "retrying %s (%s %s) in %.2f s after %s (retry %d of %d)",
            operation,
            request.method,
            _shown_url(request.url),
            delay,
            outcome,
            retries_done + 1,
            self.max_retries,
        )
        return delay


def _shown_url(url: httpx.URL) -> str:
    """A URL as errors and logs show it: without its query, which may carry values."""
    return str(url.copy_with(query=None, fragment=None))


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


class _Secret:
    """Holds a secret so that printing, inspecting or pickling its holder never shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'<redacted>'"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a client holding an API key cannot be pickled")


def _check_token(name: str, value: str, *, empty_allowed: bool = False) -> None:
    # A key read from a file with its newline would be refused by httpx, whose error message
    # quotes the header, key included.
    if (not value and not empty_allowed) or not all("!" <= char <= "~" for char in value):
        raise ValueError(f"{name} must be printable ASCII without spaces or line breaks")


class _KeyAuth(httpx.Auth):
    """Adds the key to each request as it is sent, so it sits in no headers dict beforehand."""

    def __init__(self, header: str, prefix: str, secret: _Secret) -> None:
        self.header = header
        self.prefix = prefix
        self.secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        key = self.secret.reveal()
        request.headers[self.header] = f"{self.prefix} {key}" if self.prefix else key
        yield request


class ClientOptions(TypedDict, total=False):
    """The settings `Client` and `AuthenticatedClient` take besides the base URL and the key."""

    cookies: Mapping[str, str] | None
    headers: Mapping[str, str] | None
    timeout: httpx.Timeout | float | None
    verify_ssl: str | bool | ssl.SSLContext
    follow_redirects: bool
    httpx_args: Mapping[str, Any] | None
    max_retries: int
    retry_policy: RetryPolicy | None
    max_response_bytes: int


class Client:
    """Settings shared by every request, and the httpx clients built from them.

    Args:
        base_url: The API's base URL, such as ``https://api-sandbox.pik.global/v1``.
        cookies: Cookies sent with every request (by the httpx clients this client builds).
        headers: Headers sent with every request.
        timeout: Limits for each request; ``DEFAULT_TIMEOUT`` (30 s, 5 s to connect) unless given.
        verify_ssl: Whether to verify the server's certificate, or the CA bundle or context to use.
        follow_redirects: Whether to follow redirects. The key is sent to the API's own origin
            only, and a request other than GET is never sent to another origin.
        httpx_args: More arguments for the ``httpx.Client`` / ``httpx.AsyncClient`` built here,
            such as ``transport``, ``mounts``, ``limits`` or ``proxy``.
        max_retries: How often to retry a failed request (0 turns retries off).
        retry_policy: Full control over retries; overrides ``max_retries``.
        max_response_bytes: The largest response body accepted; a larger one raises
            ``errors.ResponseTooLargeError``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        cookies: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float | None = DEFAULT_TIMEOUT,
        verify_ssl: str | bool | ssl.SSLContext = True,
        follow_redirects: bool = False,
        httpx_args: Mapping[str, Any] | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http:// or https:// URL, not {base_url!r}")
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be 1 or more")
        self._base_url = base_url.rstrip("/")
        self._origin = url
        self._cookies = dict(cookies or {})
        self._headers = dict(headers or {})
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) or timeout is None else httpx.Timeout(timeout)
        self._verify_ssl = verify_ssl
        self._follow_redirects = follow_redirects
        self._httpx_args = dict(httpx_args or {})
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self.max_response_bytes = max_response_bytes
        self._client: httpx.Client | None = None
        self._async_client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._base_url!r}, timeout={self._timeout!r}, "
            f"max_retries={self.retry_policy.max_retries})"
        )

    __str__ = __repr__

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._base_url

    @property
    def timeout(self) -> httpx.Timeout | None:
        """The limits each request gets."""
        return self._timeout

    def redact(self, text: str) -> str:
        """`text` without any secret this client holds."""
        return text

    def _auth(self) -> httpx.Auth | None:
        return None

    def _copy(self, **changes: Any) -> Self:
        """A copy with some settings changed, sending through the same httpx clients."""
        clone = copy.copy(self)
        for name, value in changes.items():
            setattr(clone, name, value)
        return clone

    def with_headers(self, headers: Mapping[str, str]) -> Self:
        """A copy of this client that also sends `headers`."""
        return self._copy(_headers={**self._headers, **headers})

    def with_cookies(self, cookies: Mapping[str, str]) -> Self:
        """A copy of this client that also sends `cookies` (with httpx clients of its own)."""
        return self._copy(_cookies={**self._cookies, **cookies}, _client=None, _async_client=None)

    def with_timeout(self, timeout: httpx.Timeout | float | None) -> Self:
        """A copy of this client with another timeout."""
        return self.with_options(timeout=timeout)

    def with_options(
        self,
        *,
        timeout: httpx.Timeout | float | None | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> Self:
        """A copy of this client with another timeout or retry policy, for one call site.

        The copy sends through the httpx clients this client has built so far.
        """
        changes: dict[str, Any] = {}
        if not isinstance(timeout, NotGiven):
            changes["_timeout"] = (
                timeout if isinstance(timeout, httpx.Timeout) or timeout is None else httpx.Timeout(timeout)
            )
        if retry_policy is not None:
            changes["retry_policy"] = retry_policy
        elif max_retries is not None:
            policy = copy.copy(self.retry_policy)
            policy.max_retries = RetryPolicy(max_retries=max_retries).max_retries
            changes["retry_policy"] = policy
        return self._copy(**changes)

    def _client_args(self) -> dict[str, Any]:
        return {
            "verify": self._verify_ssl,
            **self._httpx_args,
            "cookies": self._cookies,
            "timeout": self._timeout,
            # Redirects are followed here, where the key's origin is known.
            "follow_redirects": False,
        }

    def set_httpx_client(self, client: httpx.Client) -> Self:
        """Send through your own `httpx.Client` (its transport, proxies and limits).

        The key, the timeout, the retries and the error mapping still apply to each request.
        """
        self._client = client
        return self

    def get_httpx_client(self) -> httpx.Client:
        """The `httpx.Client` every synchronous operation sends through, built on first use."""
        if self._client is None:
            self._client = httpx.Client(**self._client_args())
        return self._client

    def set_async_httpx_client(self, async_client: httpx.AsyncClient) -> Self:
        """Send through your own `httpx.AsyncClient`; as `set_httpx_client`."""
        self._async_client = async_client
        return self

    def get_async_httpx_client(self) -> httpx.AsyncClient:
        """The `httpx.AsyncClient` every asynchronous operation sends through, built on first use."""
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(**self._client_args())
        return self._async_client

    def __enter__(self) -> Self:
        self.get_httpx_client().__enter__()
        return self

    def __exit__(self, *args: Any, **kwargs: Any) -> None:
        self.get_httpx_client().__exit__(*args, **kwargs)

    async def __aenter__(self) -> Self:
        await self.get_async_httpx_client().__aenter__()
        return self

    async def __aexit__(self, *args: Any, **kwargs: Any) -> None:
        await self.get_async_httpx_client().__aexit__(*args, **kwargs)

    # Sending ------------------------------------------------------------------------------------

    def _build_request(self, http: httpx.Client | httpx.AsyncClient, kwargs: Mapping[str, Any]) -> httpx.Request:
        headers = {**self._headers, **kwargs.get("headers", {})}
        url: httpx.URL | str = self._base_url + kwargs["url"]
        params = kwargs.get("params")
        if params is not None and not http.params:
            # The same URL httpx would build, parsed once instead of twice: given the query
            # separately, httpx parses the URL, then again to replace its query. The httpx
            # client's own params, when it has any, are merged by httpx as before.
            url, params = httpx.URL(url, params=params), None
        return http.build_request(
            kwargs["method"].upper(),
            url,
            params=params,
            json=kwargs.get("json"),
            content=kwargs.get("content"),
            data=kwargs.get("data"),
            files=kwargs.get("files"),
            headers=headers,
            timeout=self._timeout,
        )

    def _auth_for(self, request: httpx.Request) -> httpx.Auth | None:
        # The key goes to the API's own origin only.
        return self._auth() if _same_origin(request.url, self._origin) else None

    def _redirect(self, request: httpx.Request, response: httpx.Response, hops: int) -> httpx.Request | None:
        """The request a redirect leads to, when it may be followed."""
        following = response.next_request
        if not self._follow_redirects or following is None or hops >= MAX_REDIRECTS:
            return None
        if not _same_origin(following.url, self._origin):
            if following.method != "GET":
                return None  # A request that may act is never sent to another origin.
            for name in self._secret_headers():
                following.headers.pop(name, None)
        return following

    def _secret_headers(self) -> tuple[str, ...]:
        return ()

    def _too_large(self, operation: str, request: httpx.Request, status: int) -> errors.ResponseTooLargeError:
        return errors.ResponseTooLargeError(
            f"the body is larger than max_response_bytes ({self.max_response_bytes})",
            operation=operation,
            status_code=status,
            method=request.method,
            url=_shown_url(request.url),
        )

    def _connection_error(self, operation: str, request: httpx.Request, error: Exception) -> errors.APIConnectionError:
        """The error to raise for a transport failure: the httpx error, rebuilt without the key,
        the headers or the body, becomes its cause."""
        message = self.redact(str(error)) or type(error).__name__
        cause: Exception
        if isinstance(error, httpx.RequestError):
            cause = type(error)(message, request=httpx.Request(request.method, request.url.copy_with(query=None)))
        else:
            cause = type(error)(message)
        kind = errors.APITimeoutError if isinstance(error, httpx.TimeoutException) else errors.APIConnectionError
        url = _shown_url(request.url)
        failed = kind(
            f"{operation}: {request.method} {url}: {type(error).__name__}: {message}",
            operation=operation,
            method=request.method,
            url=url,
        )
        failed.__cause__ = cause
        return failed

    def send(self, operation: str, kwargs: Mapping[str, Any]) -> httpx.Response:
        """Send one operation's request, with retries; the final response, read whole.

        Raises:
            errors.APIConnectionError: The request failed on the network, after any retries.
            errors.APITimeoutError: It took longer than the timeout, after any retries.
            errors.ResponseTooLargeError: The body is larger than `max_response_bytes`.
        """
        http = self.get_httpx_client()
        request = self._build_request(http, kwargs)
        retries_done = 0
        while True:
            failure: httpx.TransportError | None = None
            response: httpx.Response | None = None
            try:
                response = self._send_following(operation, http, request)
            except httpx.TransportError as exc:
                failure = exc
            delay = self.retry_policy.next_delay(operation, request, retries_done, response=response, error=failure)
            if delay is None:
                break
            time.sleep(delay)
            retries_done += 1
        if failure is not None:
            # Raised here, outside the except block, so that the original error (whose request
            # holds the key) is not kept as the new one's __context__.
            raise self._connection_error(operation, request, failure)
        assert response is not None
        return response

    def _send_following(self, operation: str, http: httpx.Client, request: httpx.Request) -> httpx.Response:
        hops = 0
        while True:
            streamed = http.send(request, stream=True, auth=self._auth_for(request), follow_redirects=False)
            try:
                response = _read_capped(streamed, self.max_response_bytes)
            finally:
                streamed.close()
            if response is None:
                raise self._too_large(operation, request, streamed.status_code)
            following = self._redirect(request, streamed, hops)
            if following is None:
                return response
            request, hops = following, hops + 1

    async def asend(self, operation: str, kwargs: Mapping[str, Any]) -> httpx.Response:
        """`send`, asynchronously."""
        http = self.get_async_httpx_client()
        request = self._build_request(http, kwargs)
        retries_done = 0
        while True:
            failure: httpx.TransportError | None = None
            response: httpx.Response | None = None
            try:
                response = await self._asend_following(operation, http, request)
            except httpx.TransportError as exc:
                failure = exc
            delay = self.retry_policy.next_delay(operation, request, retries_done, response=response, error=failure)
            if delay is None:
                break
            await anyio.sleep(delay)
            retries_done += 1
        if failure is not None:
            raise self._connection_error(operation, request, failure)
        assert response is not None
        return response

    async def _asend_following(self, operation: str, http: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        hops = 0
        while True:
            streamed = await http.send(request, stream=True, auth=self._auth_for(request), follow_redirects=False)
            try:
                response = await _aread_capped(streamed, self.max_response_bytes)
            finally:
                await streamed.aclose()
            if response is None:
                raise self._too_large(operation, request, streamed.status_code)
            following = self._redirect(request, streamed, hops)
            if following is None:
                return response
            request, hops = following, hops + 1


def _read_capped(streamed: httpx.Response, limit: int) -> httpx.Response | None:
    """`streamed` read whole, or None as soon as its body grows past `limit` bytes.

    A body sent as it is (no Content-Encoding) is refused unread when its Content-Length is over
    the cap, and otherwise read by httpx itself through a stream that stops at the cap, so the
    response needs no copy. A compressed body may decode to far more than was received: it is
    decoded chunk by chunk, counted as it grows, and the decoded body put in a new response.
    """
    if _compressed(streamed):
        body = bytearray()
        for chunk in streamed.iter_bytes():
            body += chunk
            if len(body) > limit:
                return None
        return _whole(streamed, bytes(body))
    if _declared_length(streamed) > limit:
        return None
    assert isinstance(streamed.stream, httpx.SyncByteStream)
    capped = _CappedStream(streamed.stream, limit)
    streamed.stream = capped
    streamed.read()
    return None if capped.over else streamed


async def _aread_capped(streamed: httpx.Response, limit: int) -> httpx.Response | None:
    """`_read_capped`, asynchronously."""
    if _compressed(streamed):
        body = bytearray()
        async for chunk in streamed.aiter_bytes():
            body += chunk
            if len(body) > limit:
                return None
        return _whole(streamed, bytes(body))
    if _declared_length(streamed) > limit:
        return None
    assert isinstance(streamed.stream, httpx.AsyncByteStream)
    capped = _AsyncCappedStream(streamed.stream, limit)
    streamed.stream = capped
    await streamed.aread()
    return None if capped.over else streamed


def _compressed(response: httpx.Response) -> bool:
    return response.headers.get("Content-Encoding", "identity").strip().lower() not in ("identity", "")


def _declared_length(response: httpx.Response) -> int:
    """The length of the body the server announced, or 0 when it announced none (or nonsense).

    An answer to HEAD, a 204 or a 304 has no body, whatever its Content-Length says.
    """
    if response.status_code in (204, 304) or response.request.method == "HEAD":
        return 0
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isascii() and value.isdigit() else 0


class _CappedStream(httpx.SyncByteStream):
    """A response's stream that ends once more than `limit` bytes went through, and says so."""

    def __init__(self, stream: httpx.SyncByteStream, limit: int) -> None:
        self.stream = stream
        self.left = limit
        self.over = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.stream:
            self.left -= len(chunk)
            if self.left < 0:
                self.over = True
                return
            yield chunk

    def close(self) -> None:
        self.stream.close()


class _AsyncCappedStream(httpx.AsyncByteStream):
    """`_CappedStream`, asynchronously."""

    def __init__(self, stream: httpx.AsyncByteStream, limit: int) -> None:
        self.stream = stream
        self.left = limit
        self.over = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream:
            self.left -= len(chunk)
            if self.left < 0:
                self.over = True
                return
            yield chunk

    async def aclose(self) -> None:
        await self.stream.aclose()


def _whole(streamed: httpx.Response, content: bytes) -> httpx.Response:
    """A read response holding `content`, the body `streamed` delivered (already decoded)."""
    headers = [(name, value) for name, value in streamed.headers.raw if name.lower() != b"content-encoding"]
    return httpx.Response(
        streamed.status_code,
        headers=headers,
        content=content,
        request=streamed.request,
        extensions={"http_version": streamed.http_version.encode(), "reason_phrase": streamed.reason_phrase.encode()},
    )


class AuthenticatedClient(Client):
    """A `Client` that sends the API key as ``Authorization: Bearer <token>`` with every request.

    Args:
        token: Your secret API key: printable ASCII without spaces. It is never shown by
            `repr()`, `str()`, errors or the client's logs, and never sent to another origin.
        prefix: The word before the key in the header (``Bearer``); empty for none.
        auth_header_name: The header that carries the key.

    The other arguments are `Client`'s.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        prefix: str = "Bearer",
        auth_header_name: str = "Authorization",
        **options: Unpack[ClientOptions],
    ) -> None:
        _check_token("token", token)
        _check_token("prefix", prefix, empty_allowed=True)
        _check_token("auth_header_name", auth_header_name)
        super().__init__(base_url, **options)
        self._token = _Secret(token)
        self.prefix = prefix
        self.auth_header_name = auth_header_name

    @property
    def token(self) -> str:
        """The API key."""
        return self._token.reveal()

    def redact(self, text: str) -> str:
        return text.replace(self._token.reveal(), "<redacted>")

    def _auth(self) -> httpx.Auth:
        return _KeyAuth(self.auth_header_name, self.prefix, self._token)

    def _secret_headers(self) -> tuple[str, ...]:
        return (self.auth_header_name,)


class _PikBase:
    """What `Pik` and `AsyncPik` share: their settings and the `AuthenticatedClient` they send with."""

    _client: AuthenticatedClient

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: httpx.Timeout | float | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_after: float = MAX_RETRY_AFTER,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if not key:
            raise errors.PikError(f"no API key: pass api_key=... or set the {API_KEY_ENV} environment variable")
        self._client = AuthenticatedClient(
            base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL,
            key,
            headers=default_headers,
            timeout=timeout,
            retry_policy=RetryPolicy(max_retries=max_retries, max_retry_after=max_retry_after),
            max_response_bytes=max_response_bytes,
        )
        self._owns_http_client = True
        self._attach(self._client)

    def _attach(self, client: AuthenticatedClient) -> None:
        """Bind the resources to `client` (generated for each tag of the document)."""

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._client.base_url

    @property
    def timeout(self) -> httpx.Timeout | None:
        """The limits each request gets."""
        return self._client.timeout

    @property
    def max_retries(self) -> int:
        """How often a failed request is retried."""
        return self._client.retry_policy.max_retries

    @property
    def low_level_client(self) -> AuthenticatedClient:
        """The client the low-level functions (`sync`, `asyncio`...) take, with these settings."""
        return self._client

    def with_options(
        self,
        *,
        timeout: httpx.Timeout | float | None | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> Self:
        """A copy with another timeout or number of retries, for one call site; it sends through
        the same connections."""
        self._build_http_client()
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._client = self._client.with_options(timeout=timeout, max_retries=max_retries)
        clone._owns_http_client = False
        clone._attach(clone._client)
        return clone

    def _build_http_client(self) -> None:
        """Build the httpx client now, so that copies share it."""

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(base_url={self.base_url!r}, timeout={self.timeout!r}, max_retries={self.max_retries})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a client holding an API key cannot be pickled")


class SyncPikBase(_PikBase):
    """The synchronous entry point's connection handling; `Pik` adds the resources."""

    def __init__(self, *, http_client: httpx.Client | None = None, **settings: Any) -> None:
        super().__init__(**settings)
        if http_client is not None:
            self._client.set_httpx_client(http_client)
            self._owns_http_client = False

    def _build_http_client(self) -> None:
        self._client.get_httpx_client()

    def close(self) -> None:
        """Close the connections (not those of an `http_client` you passed in)."""
        if self._owns_http_client:
            self._client.get_httpx_client().close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class AsyncPikBase(_PikBase):
    """The asynchronous entry point's connection handling; `AsyncPik` adds the resources."""

    def __init__(self, *, http_client: httpx.AsyncClient | None = None, **settings: Any) -> None:
        super().__init__(**settings)
        if http_client is not None:
            self._client.set_async_httpx_client(http_client)
            self._owns_http_client = False

    def _build_http_client(self) -> None:
        self._client.get_async_httpx_client()

    async def close(self) -> None:
        """Close the connections (not those of an `http_client` you passed in)."""
        if self._owns_http_client:
            await self._client.get_async_httpx_client().aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()


__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "MAX_RETRY_AFTER",
    "NOT_GIVEN",
    "AsyncPikBase",
    "AuthenticatedClient",
    "Client",
    "ClientOptions",
    "NotGiven",
    "RetryPolicy",
    "SyncPikBase",
]
