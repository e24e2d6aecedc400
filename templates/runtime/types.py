"""Types shared by the generated operations and models."""

from __future__ import annotations

import datetime
from collections.abc import Callable, MutableMapping
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
# Bound once: models parse two per link, and looking the method
# up through the module and the class each time is a measurable share of a long page.
parse_datetime = datetime.datetime.fromisoformat


@define
class Response(Generic[T]):
    """A response with its status, headers and raw body, and the body parsed by the document."""

    status_code: HTTPStatus
    content: bytes
    headers: MutableMapping[str, str]
    parsed: T | None


def build_response(
    *,
    operation: str,
    response: httpx.Response,
    parse: Callable[[httpx.Response], T | None],
    redact: Callable[[str], str],
) -> Response[T]:
    """Parse `response` with `parse`, turning every way a body can be malformed into a
    `PikClientError` that names the operation, rather than a bare KeyError or ValueError."""
    try:
        status = HTTPStatus(response.status_code)
    except ValueError:
        raise errors.UnexpectedStatus(
            f"status {response.status_code} is not an HTTP status this client knows",
            operation=operation,
            status_code=response.status_code,
            content=response.content,
            redact=redact,
        ) from None
    try:
        parsed = parse(response)
    except errors.PikClientError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        # `from None`: the cause's text may quote the body, and a chained traceback would print
        # it unredacted; the reason below carries it, redacted.
        raise errors.InvalidResponse(
            _describe(exc),
            operation=operation,
            status_code=response.status_code,
            content=response.content,
            redact=redact,
        ) from None
    return Response(status_code=status, content=response.content, headers=response.headers, parsed=parsed)


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"required field {exc.args[0]!r} is missing"
    if isinstance(exc, ValueError) and type(exc).__name__ == "JSONDecodeError":
        return "the body is not JSON"
    return f"the body does not match the document ({type(exc).__name__}: {exc})"


__all__ = ["UNSET", "File", "FileTypes", "RequestFiles", "Response", "Unset", "build_response", "parse_datetime"]
