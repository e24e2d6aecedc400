"""Exceptions raised when a response cannot be used as the API documents it.

Every one derives from `PikClientError`, names the operation and the HTTP status, and quotes
a short excerpt of the body with the API key removed. Network failures and timeouts are raised
by httpx as `httpx.TransportError` and `httpx.TimeoutException`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

EXCERPT_LENGTH = 200


def _no_redaction(text: str) -> str:
    return text


class PikClientError(Exception):
    """Base class of the errors this client raises about a response."""

    def __init__(
        self,
        reason: str,
        *,
        operation: str,
        status_code: int,
        content: bytes = b"",
        redact: Callable[[str], str] = _no_redaction,
    ) -> None:
        self.operation = operation
        self.status_code = status_code
        # The body as received, unless it echoed the key: then with the key taken out.
        text = content.decode("utf-8", errors="replace")
        redacted = redact(text)
        self.content = content if redacted == text else redacted.encode()
        self.reason = redact(reason)
        self.excerpt = redacted[:EXCERPT_LENGTH]
        super().__init__(self._message())

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable (for multiprocessing and task queues) although __init__ takes keywords.
        return (_restore, (type(self), self.args, self.__dict__))

    def _message(self) -> str:
        message = f"{self.operation}: HTTP {self.status_code}: {self.reason}"
        if self.excerpt:
            ellipsis = "..." if len(self.content) > len(self.excerpt.encode()) else ""
            message += f"; body: {self.excerpt!r}{ellipsis}"
        return message


def _restore(cls: type[PikClientError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class UnexpectedStatus(PikClientError):
    """The server answered with a status code the document does not list for the operation
    (raised when `raise_on_unexpected_status` is set), or with one HTTP does not define."""


class InvalidResponse(PikClientError):
    """The body is not what the document promises: not JSON, a required field missing, or a
    value of the wrong type."""


class ApiError(PikClientError):
    """The API answered with one of its documented errors, where a result was needed.

    `code` and `message` are PIK's own (`"not_found"`, `"rate_limited"`, ...), or empty when the
    body did not carry them.
    """

    def __init__(
        self,
        *,
        operation: str,
        status_code: int,
        content: bytes = b"",
        code: str = "",
        message: str = "",
        redact: Callable[[str], str] = _no_redaction,
    ) -> None:
        self.code = code
        self.message = redact(message)
        reason = f"{code}: {message}" if code else "error response"
        super().__init__(
            reason, operation=operation, status_code=status_code, content=content, redact=redact
        )


def api_error(
    *,
    operation: str,
    status_code: int,
    content: bytes,
    redact: Callable[[str], str] = _no_redaction,
) -> ApiError:
    """An `ApiError` carrying the code and message of PIK's error body, when it has them."""
    code = message = ""
    try:
        detail = json.loads(content)["error"]
        code, message = str(detail.get("code", "")), str(detail.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        pass
    return ApiError(
        operation=operation,
        status_code=status_code,
        content=content,
        code=code,
        message=message,
        redact=redact,
    )


__all__ = ["ApiError", "InvalidResponse", "PikClientError", "UnexpectedStatus", "api_error"]
