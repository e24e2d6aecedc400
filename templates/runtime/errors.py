"""Everything the client raises: one hierarchy under `PikError`.

- `APIConnectionError` (and `APITimeoutError`): the request failed on the network, after any
  retries. The httpx error is the `__cause__`, rebuilt without the API key or the body.
- `APIStatusError` and one subclass per status the API documents: the server answered with an
  error. Each carries the status, PIK's `code` and `message`, the headers, the parsed body and
  the operation.
- `InvalidResponse`: the server answered with a success status but a body that is not what the
  document promises (not JSON, a required field missing, a value of the wrong type), or a body
  larger than the client accepts (`ResponseTooLargeError`).

Every error names the operation, the method and the URL (query values left out), never shows the
API key, and pickles (for multiprocessing and task queues) without it.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

EXCERPT_LENGTH = 200


def _no_redaction(text: str) -> str:
    return text


class PikError(Exception):
    """The root of everything this client raises."""

    def __init__(self, message: str, *, operation: str = "", method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.operation = operation
        self.method = method
        self.url = url

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable although __init__ takes keywords; the state holds only plain values.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[PikError], args: tuple[Any, ...], state: dict[str, Any]) -> PikError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


def _redacted_body(content: bytes, redact: Callable[[str], str]) -> tuple[bytes, str]:
    """The body as it may be kept (the bytes received, unless they held a secret) and as text."""
    received = content.decode("utf-8", errors="replace")
    text = redact(received)
    return (content if text == received else text.encode()), text


def _where(operation: str, method: str, url: str) -> str:
    return f"{operation}: {method} {url}" if method else operation


class APIConnectionError(PikError):
    """The request failed on the network (refused, reset, a broken response), after any retries."""


class APITimeoutError(APIConnectionError):
    """The request took longer than the client's timeout, after any retries."""


class WebhookSignatureError(PikError):
    """A webhook delivery's `PIK-Signature` is missing, malformed, or does not match its body and
    the endpoint's secret: it is not from PIK, or not for this endpoint."""


class InvalidWebhookEvent(PikError):
    """A webhook delivery is correctly signed, but its body is not an event."""


class InvalidResponse(PikError):
    """A success status with a body that is not what the document promises.

    `content` is the body as received (with the API key taken out if it echoed it) and `excerpt`
    its first characters.
    """

    def __init__(
        self,
        reason: str,
        *,
        operation: str,
        status_code: int,
        content: bytes = b"",
        method: str = "",
        url: str = "",
        redact: Callable[[str], str] = _no_redaction,
    ) -> None:
        self.content, redacted = _redacted_body(content, redact)
        self.status_code = status_code
        self.reason = redact(reason)
        self.excerpt = redacted[:EXCERPT_LENGTH]
        message = f"{_where(operation, method, url)}: HTTP {status_code}: {self.reason}"
        if self.excerpt:
            cut = "..." if len(redacted) > len(self.excerpt) else ""
            message += f"; body: {self.excerpt!r}{cut}"
        super().__init__(message, operation=operation, method=method, url=url)


class ResponseTooLargeError(InvalidResponse):
    """The response body is larger than the client's `max_response_bytes`."""


class APIStatusError(PikError):
    """The API answered with an error status.

    Attributes:
        status_code: The HTTP status.
        code: PIK's machine-readable code (`"not_found"`, `"rate_limited"`...), or None when the
            body did not carry one. New codes may appear: fall back on the class or the status.
        message: PIK's explanation of what to fix, or a short excerpt of a body not in PIK's shape.
        headers: The response headers.
        body: The body parsed as JSON, or None when it is not JSON.
        content: The body as received.
    """

    def __init__(
        self,
        *,
        operation: str,
        status_code: int,
        content: bytes = b"",
        headers: Mapping[str, str] | None = None,
        method: str = "",
        url: str = "",
        redact: Callable[[str], str] = _no_redaction,
    ) -> None:
        self.content, text = _redacted_body(content, redact)
        self.status_code = status_code
        self.headers = httpx.Headers({name: redact(value) for name, value in (headers or {}).items()})
        self.body: Any = None
        self.code: str | None = None
        self.message = text[:EXCERPT_LENGTH]
        with contextlib.suppress(ValueError, RecursionError):
            self.body = json.loads(text)
        detail = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(detail, dict):
            code, message = detail.get("code"), detail.get("message")
            self.code = code if isinstance(code, str) else None
            self.message = message if isinstance(message, str) else self.message
        label = f"{self.code}: " if self.code else ""
        super().__init__(
            f"{_where(operation, method, url)}: HTTP {status_code}: {label}{self.message}",
            operation=operation,
            method=method,
            url=url,
        )


class BadRequestError(APIStatusError):
    """400 (and 405, 413, 415): the request does not match the document; fix it before retrying."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or not recognised."""


class PermissionDeniedError(APIStatusError):
    """403: the API key is valid but may not make this request."""


class NotFoundError(APIStatusError):
    """404: nothing with that id in your account."""


class UnprocessableEntityError(APIStatusError):
    """422: well-formed, but not acceptable (an unsupported asset, a link already final...)."""


class RateLimitError(APIStatusError):
    """429: too many requests. `retry_after` is the wait the server asked for, in seconds."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retry_after = parse_retry_after(self.headers.get("Retry-After"))


class InternalServerError(APIStatusError):
    """5xx: something failed on the server's side; the request may succeed later."""


# The class raised for each status; any other 5xx raises InternalServerError, anything else
# APIStatusError itself.
STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: BadRequestError,
    413: BadRequestError,
    415: BadRequestError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The class of error raised for an error status."""
    if status_code in STATUS_ERRORS:
        return STATUS_ERRORS[status_code]
    return InternalServerError if 500 <= status_code <= 599 else APIStatusError


def status_error(
    *,
    operation: str,
    status_code: int,
    content: bytes,
    headers: Mapping[str, str],
    method: str = "",
    url: str = "",
    redact: Callable[[str], str] = _no_redaction,
) -> APIStatusError:
    """The error for a response with an error status, of the class that status calls for."""
    return status_error_class(status_code)(
        operation=operation,
        status_code=status_code,
        content=content,
        headers=headers,
        method=method,
        url=url,
        redact=redact,
    )


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


# The names of the errors before this hierarchy, kept so that existing `except` clauses still
# catch what they caught.
PikClientError = PikError
UnexpectedStatus = APIStatusError
ApiError = APIStatusError

__all__ = [
    "STATUS_ERRORS",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "InternalServerError",
    "InvalidResponse",
    "InvalidWebhookEvent",
    "NotFoundError",
    "PermissionDeniedError",
    "PikClientError",
    "PikError",
    "RateLimitError",
    "ResponseTooLargeError",
    "UnexpectedStatus",
    "UnprocessableEntityError",
    "WebhookSignatureError",
    "parse_retry_after",
    "status_error",
    "status_error_class",
]
