"""Clients that carry the connection settings every operation uses.

What they add to plain httpx, for payments in production:

- the API key never appears in `repr()`, `str()`, exception messages or log lines;
- every request has a timeout (`DEFAULT_TIMEOUT`) unless told otherwise;
- failed requests are retried with exponential backoff and jitter, honouring `Retry-After`,
  but only when retrying cannot do anything twice: a POST is retried only when the server
  provably never saw it (the connection failed before the request was sent) or refused it
  with 429. The retries wrap whatever transport is passed in `httpx_args`.
"""

from __future__ import annotations

import copy
import email.utils
import logging
import random
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import Generator, Mapping
from typing import Any, NoReturn, Self

import anyio
import httpx

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# PIK advises waiting no longer than this, whatever Retry-After says.
MAX_RETRY_AFTER = 60.0

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
# httpx.Client arguments that configure its connections. httpx ignores them once it is handed a
# transport, so they go to the transport this client builds (under the retries) instead.
TRANSPORT_ARGS = ("cert", "http1", "http2", "limits", "proxy")

logger = logging.getLogger(__name__.rsplit(".", 1)[0])


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
        if response is not None:
            status = response.status_code
            if status not in ALWAYS_RETRYABLE_STATUSES and not (idempotent and status in RETRYABLE_STATUSES):
                return None
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            outcome = f"HTTP {status}"
        elif error is not None:
            if not isinstance(error, NOT_SENT_ERRORS) and not (
                idempotent and isinstance(error, TRANSIENT_ERRORS)
            ):
                return None
            retry_after = None
            outcome = type(error).__name__
        else:
            return None
        if retry_after is not None:
            delay = min(retry_after, self.max_retry_after)
        else:
            backoff = min(self.initial_delay * 2**retries_done, self.max_delay)
            delay = backoff * (1 - 0.25 * random.random())
        logger.info(
            "retrying %s %s in %.2f s after %s (retry %d of %d)",
            request.method,
            request.url.copy_with(query=None),
            delay,
            outcome,
            retries_done + 1,
            self.max_retries,
        )
        return delay


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: whole seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _may_retry(request: httpx.Request, retries_done: int, policy: RetryPolicy) -> bool:
    return request.method in IDEMPOTENT_METHODS and retries_done < policy.max_retries


def _environment_proxy(url: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, ALL_PROXY, NO_PROXY...) names for `url`."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


class RetryTransport(httpx.BaseTransport):
    """Retries requests sent through another transport, as `policy` allows."""

    def __init__(self, transport: httpx.BaseTransport, policy: RetryPolicy) -> None:
        self.transport = transport
        self.policy = policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retries_done = 0
        while True:
            try:
                response = self.transport.handle_request(request)
                if _may_retry(request, retries_done, self.policy):
                    # Read here, so that a body cut off mid-way is retried like a failed request.
                    response.read()
            except httpx.TransportError as exc:
                delay = self.policy.next_delay(request, retries_done, error=exc)
                if delay is None:
                    raise
            else:
                delay = self.policy.next_delay(request, retries_done, response=response)
                if delay is None:
                    return response
                response.close()
            time.sleep(delay)
            retries_done += 1

    def close(self) -> None:
        self.transport.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Retries requests sent through another async transport, as `policy` allows."""

    def __init__(self, transport: httpx.AsyncBaseTransport, policy: RetryPolicy) -> None:
        self.transport = transport
        self.policy = policy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        retries_done = 0
        while True:
            try:
                response = await self.transport.handle_async_request(request)
                if _may_retry(request, retries_done, self.policy):
                    # Read here, so that a body cut off mid-way is retried like a failed request.
                    await response.aread()
            except httpx.TransportError as exc:
                delay = self.policy.next_delay(request, retries_done, error=exc)
                if delay is None:
                    raise
            else:
                delay = self.policy.next_delay(request, retries_done, response=response)
                if delay is None:
                    return response
                await response.aclose()
            await anyio.sleep(delay)
            retries_done += 1

    async def aclose(self) -> None:
        await self.transport.aclose()


class Client:
    """Settings shared by every request, and the httpx clients built from them.

    Args:
        base_url: The API's base URL, such as ``https://api-sandbox.pik.global/v1``.
        cookies: Cookies sent with every request.
        headers: Headers sent with every request.
        timeout: Limits for each request; ``DEFAULT_TIMEOUT`` (30 s, 5 s to connect) unless given.
        verify_ssl: Whether to verify the server's certificate, or the CA bundle or context to use.
        follow_redirects: Whether to follow redirects.
        httpx_args: More arguments for ``httpx.Client`` and ``httpx.AsyncClient``. A ``transport``
            given here is wrapped by the retries.
        raise_on_unexpected_status: Raise ``errors.UnexpectedStatus`` for a status code the
            document does not list, instead of returning None.
        max_retries: How often to retry a failed request (0 turns retries off).
        retry_policy: Full control over retries; overrides ``max_retries``.
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
        raise_on_unexpected_status: bool = False,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._base_url = base_url
        self._cookies = dict(cookies or {})
        self._headers = dict(headers or {})
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) or timeout is None else httpx.Timeout(timeout)
        self._verify_ssl = verify_ssl
        self._follow_redirects = follow_redirects
        self._httpx_args = dict(httpx_args or {})
        self.raise_on_unexpected_status = raise_on_unexpected_status
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
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

    def redact(self, text: str) -> str:
        """`text` without any secret this client holds."""
        return text

    def _auth(self) -> httpx.Auth | None:
        return None

    def _copy(self, **changes: Any) -> Self:
        clone = copy.copy(self)
        for name, value in changes.items():
            setattr(clone, name, value)
        clone._client = None
        clone._async_client = None
        return clone

    def with_headers(self, headers: Mapping[str, str]) -> Self:
        """A copy of this client that also sends `headers`."""
        return self._copy(_headers={**self._headers, **headers})

    def with_cookies(self, cookies: Mapping[str, str]) -> Self:
        """A copy of this client that also sends `cookies`."""
        return self._copy(_cookies={**self._cookies, **cookies})

    def with_timeout(self, timeout: httpx.Timeout) -> Self:
        """A copy of this client with another timeout."""
        return self._copy(_timeout=timeout)

    def _client_args(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Arguments for the httpx client, and for the transport this client builds for it."""
        args = {
            **self._httpx_args,
            "base_url": self._base_url,
            "cookies": self._cookies,
            "headers": self._headers,
            "timeout": self._timeout,
            "follow_redirects": self._follow_redirects,
        }
        auth = self._auth()
        if auth is not None:
            args["auth"] = auth
        transport_args: dict[str, Any] = {"verify": self._verify_ssl}
        transport_args.update((name, args.pop(name)) for name in TRANSPORT_ARGS if name in args)
        if "trust_env" in args:
            transport_args["trust_env"] = args["trust_env"]
        if "proxy" not in transport_args and args.get("trust_env", True):
            transport_args["proxy"] = _environment_proxy(self._base_url)
        return args, transport_args

    def set_httpx_client(self, client: httpx.Client) -> Self:
        """Use your own `httpx.Client`. Its settings replace this client's, retries included."""
        self._client = client
        return self

    def get_httpx_client(self) -> httpx.Client:
        """The `httpx.Client` every synchronous operation uses, built on first use."""
        if self._client is None:
            args, transport_args = self._client_args()
            transport = args.pop("transport", None) or httpx.HTTPTransport(**transport_args)
            mounts = args.pop("mounts", None) or {}
            self._client = httpx.Client(
                transport=self._retrying(transport),
                mounts={pattern: self._retrying(t) for pattern, t in mounts.items()},
                **args,
            )
        return self._client

    def _retrying(self, transport: httpx.BaseTransport | None) -> httpx.BaseTransport | None:
        if transport is None or not self.retry_policy.max_retries:
            return transport
        return RetryTransport(transport, self.retry_policy)

    def __enter__(self) -> Self:
        self.get_httpx_client().__enter__()
        return self

    def __exit__(self, *args: Any, **kwargs: Any) -> None:
        self.get_httpx_client().__exit__(*args, **kwargs)

    def set_async_httpx_client(self, async_client: httpx.AsyncClient) -> Self:
        """Use your own `httpx.AsyncClient`. Its settings replace this client's, retries included."""
        self._async_client = async_client
        return self

    def get_async_httpx_client(self) -> httpx.AsyncClient:
        """The `httpx.AsyncClient` every asynchronous operation uses, built on first use."""
        if self._async_client is None:
            args, transport_args = self._client_args()
            transport = args.pop("transport", None) or httpx.AsyncHTTPTransport(**transport_args)
            mounts = args.pop("mounts", None) or {}
            self._async_client = httpx.AsyncClient(
                transport=self._async_retrying(transport),
                mounts={pattern: self._async_retrying(t) for pattern, t in mounts.items()},
                **args,
            )
        return self._async_client

    def _async_retrying(
        self, transport: httpx.AsyncBaseTransport | None
    ) -> httpx.AsyncBaseTransport | None:
        if transport is None or not self.retry_policy.max_retries:
            return transport
        return AsyncRetryTransport(transport, self.retry_policy)

    async def __aenter__(self) -> Self:
        await self.get_async_httpx_client().__aenter__()
        return self

    async def __aexit__(self, *args: Any, **kwargs: Any) -> None:
        await self.get_async_httpx_client().__aexit__(*args, **kwargs)


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


class AuthenticatedClient(Client):
    """A `Client` that sends the API key as ``Authorization: Bearer <token>`` with every request.

    Args:
        token: Your secret API key: printable ASCII without spaces. It is never shown by
            `repr()`, `str()`, errors or the client's logs. (httpx itself hides only the
            ``Authorization`` header in its reprs: with another ``auth_header_name``, keep
            request headers out of your logs.)
        prefix: The word before the key in the header (``Bearer``).
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
        **kwargs: Any,
    ) -> None:
        # A key read from a file with its newline would be refused by httpx, whose error
        # message quotes the header, key included.
        if not token or not all("!" <= char <= "~" for char in token):
            raise ValueError("token must be printable ASCII without spaces or line breaks")
        super().__init__(base_url, **kwargs)
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


__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "AsyncRetryTransport",
    "AuthenticatedClient",
    "Client",
    "RetryPolicy",
    "RetryTransport",
    "parse_retry_after",
]
