"""PIK's error shape, the one exception type the sandbox answers with, and the one renderer.

Everything that goes wrong in a request ends as a SandboxError, and `render` answers it: JSON in
PIK's shape `{"error": {"code", "message"}}`, or, on the checkout's paths, a page for people.
Domain code raises its own exceptions (domain.RuleBroken, store.TransitionRefused, StorageBusy,
StorageFailed); handlers and the app's error handlers say which SandboxError each one is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import quote

from starlette.responses import Response

from pik_sandbox import pages
from pik_sandbox.store import StorageBusy, StorageFailed

# PIK's stable codes by HTTP status. Statuses PIK does not name (405, 413, 415) describe a request
# that does not fit the API, which is what `invalid_request` means.
CODE_BY_STATUS: Mapping[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid_request",
    408: "invalid_request",
    413: "invalid_request",
    415: "invalid_request",
    422: "unprocessable_entity",
    429: "rate_limited",
    431: "invalid_request",
    500: "internal_error",
    503: "service_unavailable",
}

logger = logging.getLogger("pik_sandbox")

JSON_MEDIA_TYPE: Final = "application/json"
_MAX_SHOWN_PATH: Final = 100
# Characters a URL path may hold unencoded (RFC 3986's pchar and "/", besides letters and digits).
_PATH_SAFE: Final = "/!$&'()*+,;=:@-._~"


def code_for_status(status: int) -> str:
    """PIK's error code for an HTTP status, falling back on the status class."""
    if status in CODE_BY_STATUS:
        return CODE_BY_STATUS[status]
    return "invalid_request" if 400 <= status < 500 else "internal_error"


class SandboxError(Exception):
    """A failure to report to the client: its status, a message that says what to fix, and any
    headers the answer needs (`Retry-After`, `Allow`)."""

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


def storage_unavailable(error: StorageBusy | StorageFailed) -> SandboxError:
    """The 503 for a database that cannot take the request now: locked by another process past
    the bounded wait (retry in a moment), or unusable (read-only, full); nothing was changed."""
    if isinstance(error, StorageBusy):
        return SandboxError(
            503,
            "The sandbox's database is locked by another process; nothing was changed. "
            f"Retry in {error.retry_after} second{'s' if error.retry_after != 1 else ''}.",
            headers={"Retry-After": str(error.retry_after)},
        )
    return SandboxError(
        503, cut_short(f"The sandbox cannot use its database: {error}; nothing was changed.", 250)
    )


INTERNAL_ERROR_MESSAGE: Final = "An internal error occurred; retry later."


def internal_error(exc: BaseException) -> SandboxError:
    """Whatever a request raised that no rule expected: logged, answered as a 500 (or a 503
    for storage that cannot take the call)."""
    if isinstance(exc, StorageBusy | StorageFailed):
        logger.warning("storage: %s", exc)
        return storage_unavailable(exc)
    logger.error("unexpected error", exc_info=exc)
    return SandboxError(500, INTERNAL_ERROR_MESSAGE)


def header(scope: Mapping[str, Any], name: bytes) -> bytes | None:
    """The first value of the request header `name` (lower case) in an ASGI scope."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value)
    return None


def cut_short(text: str, limit: int) -> str:
    """`text` as a message may repeat it: at most `limit` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_path(path: str) -> str:
    """A request's path as a message may echo it: percent-encoded (one line, plain ASCII) and
    cut short when long."""
    return cut_short(quote(path, safe=_PATH_SAFE), _MAX_SHOWN_PATH)


def unknown_path(path: str) -> str:
    """The message of a 404 for a path this API does not have."""
    return f"Nothing here: {shown_path(path)} is not a path of this API."


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


def render(path: str, error: SandboxError, headers: Mapping[str, str] | None = None) -> Response:
    """The answer to `error` for a request to `path`: the checkout's page on checkout ground,
    else PIK's JSON error shape. `headers` are added to the error's own."""
    all_headers = {**error.headers, **(headers or {})}
    if pages.serves(path):
        return pages.error_page(error.status, error.message, all_headers)
    return Response(
        error_body(error.status, error.message),
        status_code=error.status,
        media_type=JSON_MEDIA_TYPE,
        headers=all_headers,
    )
