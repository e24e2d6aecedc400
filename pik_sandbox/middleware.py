"""The ASGI middleware around the whole sandbox: body limits, the sandbox in scope, access logs,
and a last answer in PIK's shape for anything unexpected."""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Final
from urllib.parse import parse_qsl, quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pik_sandbox.errors import (
    SandboxError,
    cut_short,
    header,
    internal_error,
    render,
    unknown_path,
)
from pik_sandbox.logs import REDACTED, Redactor
from pik_sandbox.paths import is_slash_variant
from pik_sandbox.state import Sandbox, with_sandbox

access_logger = logging.getLogger("pik_sandbox.access")

# Characters a path segment may hold unencoded (RFC 3986's pchar, besides letters and digits).
_LOGGED_SAFE = "!$&'()*+,;=:@-._~"
# A path, and a query, that the log shows as they are: only characters quote() leaves alone, and
# no percent-escape or `+` that parse_qsl would decode.
_PLAIN_TARGET: Final = re.compile(r"[A-Za-z0-9/!$&'()*+,;=:@\-._~]*")
_PLAIN_QUERY: Final = re.compile(r"[A-Za-z0-9&=\-._~]*")
# How much of a header value a message repeats.
_MAX_ECHOED = 40


class SandboxMiddleware:
    """Outermost layer: puts the sandbox in the scope, bounds the body, writes the access log,
    answers a path with a stray trailing slash before Starlette would redirect it, and answers
    whatever was raised unexpectedly as a 500 in PIK's shape.

    The whole body (at most `max_body_bytes`) is read here before any route sees it, so an
    oversized one is refused with a 413 whether or not it announced its length, and the routes
    always get an exact Content-Length. A body must come uncompressed, as UTF-8; the routes then
    see a bare, lower-case media type as Content-Type.
    """

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        """Wrap `app`, serving `sandbox`."""
        self.app = app
        self.sandbox = sandbox
        # Keys never reach the access log, even when a client puts one in a URL by mistake.
        self._redactor = Redactor(sandbox.settings.api_keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection event."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder: list[int] = []

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder.append(int(message["status"]))
            await send(message)

        try:
            await self._handle(with_sandbox(scope, self.sandbox), receive, logged_send)
        except Exception as exc:
            if status_holder:
                self._log(scope, status_holder[0], started)
                raise
            # Nothing answered yet: the client gets PIK's shape, the log the traceback.
            answer = render(scope["path"], internal_error(exc))
            await answer(scope, receive, logged_send)
        except BaseException:
            self._log(scope, status_holder[0] if status_holder else 500, started)
            raise
        # Returning without an answer means the client left before sending its whole body.
        self._log(scope, status_holder[0] if status_holder else None, started)

    async def _handle(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        try:
            if is_slash_variant(scope["path"]):
                raise SandboxError(404, unknown_path(scope["path"]))
            body = await self._read_body(scope, receive)
            if body is None:
                return  # The client went away before sending the whole body.
            content_type = header(scope, b"content-type")
            if body and content_type is None:
                # Which parser would read it? The body's media type is never guessed.
                raise SandboxError(415, "A request body needs a Content-Type: application/json.")
            encoding = (header(scope, b"content-encoding") or b"").decode("latin-1").strip()
            if body and encoding.lower() not in ("", "identity"):
                raise SandboxError(
                    415,
                    f"Content-Encoding {cut_short(encoding, _MAX_ECHOED)} is not accepted; "
                    "send the body uncompressed.",
                )
            media_type, charset = _parse_content_type(content_type or b"")
            if body and charset not in (None, "utf-8"):
                shown = cut_short(charset, _MAX_ECHOED)
                raise SandboxError(415, f"Send JSON as UTF-8: charset={shown} is not accepted.")
        except SandboxError as refused:
            # The request body may be left unread: the client should not reuse the connection.
            answer = render(scope["path"], refused, headers={"Connection": "close"})
            await answer(scope, receive, send)
            return
        if content_type is None and not _announces_body(scope):
            # No body was read, so none needs replaying, and no header needs rewriting.
            await self.app(scope, receive, send)
            return
        headers = [
            (key, value)
            for key, value in scope["headers"]
            if key.lower() not in (b"content-length", b"transfer-encoding", b"content-type")
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        if content_type is not None:
            # UTF-8 was checked above, so no charset is left to read differently; lower case,
            # as the operation's media types are compared with it.
            headers.append((b"content-type", media_type.encode("latin-1")))
        scope["headers"] = headers
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body (None if the client disconnected first), within the size limit."""
        limit = self.sandbox.settings.max_body_bytes
        length_header = header(scope, b"content-length")
        chunked = header(scope, b"transfer-encoding") is not None
        if length_header is None and not chunked:
            return b""
        if length_header is not None:
            try:
                announced = int(length_header)
                if announced < 0:
                    raise ValueError(announced)
            except ValueError:
                raise SandboxError(400, "Content-Length must be a non-negative integer.") from None
            if announced > limit:
                raise SandboxError(413, _too_large(limit))
        body = bytearray()
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more_body = bool(message.get("more_body", False))
            if len(body) > limit:
                raise SandboxError(413, _too_large(limit))
        return bytes(body)

    def _log(self, scope: Scope, status: int | None, started: float) -> None:
        if not access_logger.isEnabledFor(logging.INFO):
            return  # The line's parts cost more to build than the request itself.
        client = scope.get("client")
        host = f"{client[0]}:{client[1]}" if client else "-"
        elapsed_ms = (time.perf_counter() - started) * 1000
        access_logger.info(
            '%s - "%s %s" %s %.1fms',
            host,
            scope.get("method", "-"),
            self._logged_target(scope),
            status if status is not None else "- (client disconnected)",
            elapsed_ms,
        )

    def _logged_target(self, scope: Scope) -> str:
        """The request's path and query as the access log shows them.

        Query values are left out (a key sent as one, known or not, is never written), and any
        of this sandbox's keys, or anything shaped like a PIK key, is taken out of the path and
        the query's names wherever it appears. Everything else is percent-encoded, so a line is
        one line of plain ASCII.
        """

        path: str = scope.get("path", "")
        query: str = scope.get("query_string", b"").decode("latin-1")
        if (
            _PLAIN_TARGET.fullmatch(path)
            and _PLAIN_QUERY.fullmatch(query)
            and not self._redactor.finds(path)
            and not self._redactor.finds(query)
        ):
            # Nothing to encode, decode or take out (the usual request): shown as it is.
            names = [part.partition("=")[0] for part in query.split("&") if part]
            return path + ("?" + "&".join(f"{name}=*" for name in names) if query else "")
        return self.encoded_target(path, query)

    def encoded_target(self, path: str, query: str) -> str:
        """`_logged_target`'s answer for any path and query: each part percent-encoded, keys
        taken out."""

        def shown(part: str) -> str:
            pieces = self._redactor.pieces(part)
            return REDACTED.join(quote(piece, safe=_LOGGED_SAFE) for piece in pieces)

        target = "/".join(shown(segment) for segment in path.split("/"))
        if query:
            names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
            target += "?" + "&".join(f"{shown(name)}=*" for name in names)
        return target


def _announces_body(scope: Scope) -> bool:
    return any(
        key.lower() in (b"content-length", b"transfer-encoding") for key, _ in scope["headers"]
    )


def _parse_content_type(value: bytes) -> tuple[str, str | None]:
    """A Content-Type's media type and its charset (both lower-cased, as neither is
    case-sensitive), with no other parameters."""
    media_type, *parameters = value.decode("latin-1").split(";")
    charset = None
    for parameter in parameters:
        name, _, argument = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = argument.strip().strip('"').lower()
    return media_type.strip().lower(), charset


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit // 1024} KiB; send a smaller body."
