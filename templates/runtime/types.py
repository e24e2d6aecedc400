"""Types shared by the generated operations, models and resources."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Collection, MutableMapping
from http import HTTPStatus
from typing import IO, BinaryIO, Generic, Literal, TypeVar

import httpx
from attrs import define

from . import errors


class Unset:
    """The type of `UNSET`: a value the caller did not give, as opposed to an explicit None."""

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Unset = Unset()

FileContent = IO[bytes] | bytes | str
FileTypes = (
    tuple[str | None, FileContent]
    | tuple[str | None, FileContent, str | None]
    | tuple[str | None, FileContent, str | None, MutableMapping[str, str]]
)
RequestFiles = list[tuple[str, FileTypes]]


@define
class File:
    """A file to upload in a multipart body."""

    payload: BinaryIO
    file_name: str | None = None
    mime_type: str | None = None

    def to_tuple(self) -> FileTypes:
        """The (name, content, type) tuple httpx expects."""
        return self.file_name, self.payload, self.mime_type


T = TypeVar("T")

# RFC 3339 timestamps, "Z" included (a timestamp without an offset parses as a naive datetime).
# Bound once: models parse two per link, and looking the method up through the module and the
# class each time is a measurable share of a long page.
parse_datetime = datetime.datetime.fromisoformat


@define
class Response(Generic[T]):
    """A success response with its status, headers and raw body, and the body parsed by the
    document."""

    status_code: HTTPStatus
    content: bytes
    headers: MutableMapping[str, str]
    parsed: T


def build_response(
    *,
    operation: str,
    response: httpx.Response,
    success: Collection[int],
    parse: Callable[[httpx.Response], T],
    redact: Callable[[str], str],
) -> Response[T]:
    """The parsed response when its status is one of the operation's `success` statuses.

    Raises:
        errors.APIStatusError: Any other status, as the subclass for that status.
        errors.InvalidResponse: A success status whose body is not what the document promises.
    """
    if response.status_code not in success:
        method, url = _where(response)
        raise errors.status_error(
            operation=operation,
            status_code=response.status_code,
            content=response.content,
            headers=response.headers,
            method=method,
            url=url,
            redact=redact,
        )
    try:
        parsed = parse(response)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        reason = _describe(exc)
    else:
        return Response(
            status_code=HTTPStatus(response.status_code),
            content=response.content,
            headers=response.headers,
            parsed=parsed,
        )
    # Raised outside the except block: the parser's error may quote the body, unredacted, and
    # must not ride along as __context__. The reason carries it, redacted.
    method, url = _where(response)
    raise errors.InvalidResponse(
        reason,
        operation=operation,
        status_code=response.status_code,
        content=response.content,
        method=method,
        url=url,
        redact=redact,
    )


def _where(response: httpx.Response) -> tuple[str, str]:
    """The method and URL (query left out) an error names: worked out only for an error, as
    rebuilding a URL costs a tenth of a call through an in-memory transport."""
    request = response.request
    return request.method, str(request.url.copy_with(query=None, fragment=None))


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"required field {exc.args[0]!r} is missing"
    if isinstance(exc, ValueError) and type(exc).__name__ == "JSONDecodeError":
        return "the body is not JSON"
    return f"the body does not match the document ({type(exc).__name__}: {exc})"


def redacted_repr(_value: object) -> str:
    """How a model's secret field shows in its repr."""
    return "'<redacted>'"


def exact_decimal(value: str | decimal.Decimal, name: str) -> str:
    """A decimal amount as the API takes it: a string, kept exactly as given.

    A `Decimal` is written out in full (`Decimal("75.00")` is `"75.00"`, never `"7.5E+1"`). A
    float is refused: most decimal fractions have no exact binary value.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"{name} must be a finite decimal, not {value}")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError(
            f"{name} must be a str or a decimal.Decimal, not a float, which cannot hold most "
            f"decimal amounts exactly: write {name}={str(value)!r} or Decimal({str(value)!r})"
        )
    raise TypeError(f"{name} must be a str or a decimal.Decimal, not {type(value).__name__}")


__all__ = [
    "UNSET",
    "File",
    "FileTypes",
    "RequestFiles",
    "Response",
    "Unset",
    "build_response",
    "exact_decimal",
    "parse_datetime",
    "redacted_repr",
]
