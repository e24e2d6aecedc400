"""PIK's error shape, and the one exception type the sandbox's own code raises."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from urllib.parse import quote

# PIK's stable codes by HTTP status. Statuses PIK does not name (405, 413, 415) describe a request
# that does not fit the API, which is what `invalid_request` means.
CODE_BY_STATUS: Mapping[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid_request",
    413: "invalid_request",
    415: "invalid_request",
    422: "unprocessable_entity",
    429: "rate_limited",
    500: "internal_error",
}

JSON_MEDIA_TYPE = "application/json"
_MAX_SHOWN_PATH = 100


def code_for_status(status: int) -> str:
    """PIK's error code for an HTTP status, falling back on the status class."""
    if status in CODE_BY_STATUS:
        return CODE_BY_STATUS[status]
    return "invalid_request" if 400 <= status < 500 else "internal_error"


class SandboxError(Exception):
    """A failure to report to the client in PIK's error shape."""

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def not_found() -> SandboxError:
    """The 404 for a link that is absent or belongs to another account (the two look alike)."""
    # PIK's own words, as its reference shows them.
    return SandboxError(404, "No payment link found with the given ID")


def shown_path(path: str) -> str:
    """A request's path as a message may echo it: percent-encoded (one line, plain ASCII) and
    cut short when long."""
    shown = quote(path, safe="/!$&'()*+,;=:@-._~")
    return shown if len(shown) <= _MAX_SHOWN_PATH else shown[: _MAX_SHOWN_PATH - 1] + "…"


def unknown_path(path: str) -> str:
    """The message of a 404 for a path this API does not have."""
    return f"Nothing here: {shown_path(path)} is not a path of this API."


def unprocessable(message: str) -> SandboxError:
    """A 422: the request is well-formed but cannot be accepted."""
    return SandboxError(422, message)


def error_body(status: int, message: str) -> bytes:
    """The JSON body `{"error": {"code": ..., "message": ...}}`."""
    payload = {"error": {"code": code_for_status(status), "message": message}}
    return json.dumps(payload).encode("utf-8")


def default_message(status: int) -> str:
    """A readable sentence for a status when nothing more specific is known."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return f"{phrase}."
