"""How `pik-sandbox` serves HTTP: uvicorn with httptools (llhttp) on uvloop, under limits that
keep one client from hurting the others, answering what the server itself refuses in PIK's error
shape.

httptools parses about three times as many requests a second as h11 did here, but leaves to the
server what h11 enforced itself: it has no cap on a request's head (it gathers a header of any
length in memory, a piece at a time), and it lets through a few requests HTTP/1.1 says to refuse.
This module's subclass of uvicorn's httptools protocol adds:

- a cap on the request line and headers together: the bytes of a head are counted as they arrive,
  and at most the cap of them are parsed before a head that has not ended is answered 431, so a
  head streamed a piece at a time and one that arrives whole in a single read are refused alike
  (a chunked body's trailers are held to the same cap);
- a deadline for each request to arrive whole: 408 when part of a head arrived, the connection
  just closed when nothing did or a body stalled;
- a cap on open connections: one more is answered 503 with Retry-After and closed;
- what llhttp leaves to the server: exactly one Host in HTTP/1.1, no Transfer-Encoding but
  `chunked`, no body on an Upgrade the server declines (llhttp would parse that body as the next
  request), no CONNECT, only HTTP/1.x (a later HTTP/1 minor version served as HTTP/1.1, as
  RFC 9112 has it); everything else malformed is llhttp's to refuse, with its lenient modes off;
- PIK-shaped JSON for every answer the server gives before the application sees a request (400
  for malformed HTTP, 431, 408, 503).

uvicorn's own `timeout_keep_alive` closes idle keep-alive connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from pik_sandbox.errors import error_body
from pik_sandbox.settings import (
    KEEP_ALIVE_TIMEOUT_SECONDS,
    MAX_CONNECTIONS,
    MAX_HEADER_BYTES,
    REQUEST_TIMEOUT_SECONDS,
)

# What a connection refused for being one too many is told to wait.
BUSY_RETRY_AFTER_SECONDS: Final = 1
# What the server answers on its own: malformed HTTP, a head over the cap.
BAD_REQUEST: Final = 400
HEAD_TOO_LARGE: Final = 431
# The answer to any request that is not valid HTTP/1.1.
NOT_HTTP_MESSAGE: Final = "The request is not valid HTTP/1.1; nothing was done."
# How early a deadline's timer may fire and still count as on time (event loops round timers).
TIMER_SLACK_SECONDS: Final = 0.001
# A request line besides its method and target ("  HTTP/1.1\r\n"), and the blank line after the
# headers; each header line besides its name and value (": " and "\r\n").
_REQUEST_LINE_AND_END_BYTES: Final = 14
_HEADER_LINE_BYTES: Final = 4


@dataclass(frozen=True)
class ServerLimits:
    """What one client may take of the server."""

    # The request line and headers together, in bytes: beyond it, 431.
    max_header_bytes: int = MAX_HEADER_BYTES
    # From a connection's start, or the end of its previous response, until the request has
    # arrived whole (head and body): beyond it, 408 (or the connection closed when it sent
    # nothing at all).
    request_timeout: float = REQUEST_TIMEOUT_SECONDS
    # An idle keep-alive connection is closed after this long.
    keep_alive_timeout: float = KEEP_ALIVE_TIMEOUT_SECONDS
    # Open connections at once; one more is answered 503 and closed.
    max_connections: int = MAX_CONNECTIONS


# Descriptors kept free besides the connections: the listening socket, the database's files on
# the store's threads, the log, and what the libraries open.
RESERVED_DESCRIPTORS: Final = 64


def connections_that_fit(wanted: int) -> int:
    """`wanted`, or fewer when this process may not open that many descriptors: the soft limit
    is raised toward the hard one first, and the cap lowered only when that is not enough, so a
    connection over the cap is answered 503 instead of failing to be accepted."""
    if sys.platform == "win32":  # no descriptor limit to fit
        return wanted
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + RESERVED_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - RESERVED_DESCRIPTORS))


def raw_error(status: int, message: str, headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 error response in PIK's shape, closing the connection: for answers given
    where no ASGI application (and no response cycle) is available."""
    body = error_body(status, message)
    reason = reason_phrase(status)
    lines = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name.lower()}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def reason_phrase(status: int) -> str:
    """The reason phrase of a status."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class _Refused(Exception):
    """Raised from a parser callback to stop parsing: the request is answered `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol under ServerLimits (set on a subclass by `protocol_for`).

    The head's cap is kept on the bytes read, not on what the parser reports: httptools hands a
    header over only once its line has ended, after gathering it whole. Between the end of one
    message (or the connection's start) and the end of the next head, and between a chunked
    body's last chunk and its end, the parser is reading a "section" that must fit in the cap.
    A read that starts inside a section is all section until the parser reports progress (the
    head complete, body bytes, a chunk's end); one that could take the section past the cap is
    parsed only up to the cap first, and if the section has not ended there it is over the cap.
    Where a section starts in the middle of a read (a pipelined request after another), its
    bytes in that read are not known: they are counted from the next read on, and a head that
    ends in that same read is measured from what the parser reported instead.
    """

    limits: ServerLimits = ServerLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # llhttp refuses HTTP/1.2 and the like; RFC 9112 has a server answer any HTTP/1.x as
        # HTTP/1.1. Versions other than 1.x are refused in `_check_head`. (httptools before
        # 0.6.3 has no leniencies to set.)
        with contextlib.suppress(AttributeError):
            self.parser.set_dangerous_leniencies(lenient_version=True)
        # Answered 503 in connection_made: nothing else is done with this connection.
        self._refused = False
        # False once the connection's input is no longer parsed (refused, timed out, closed).
        self._reading = True
        # The section the parser is reading, its bytes counted so far, and whether every byte
        # of the current read (so far) belongs to it.
        self._section_open = True
        self._section_bytes = 0
        self._counted = False
        # Whether the current head began where its bytes were counted; whether one is open, and
        # whether a message's body is being read (from its head's end to its end).
        self._head_counted = True
        self._head_open = False
        self._in_body = False
        # The bytes of the current message's trailers, as the parser reported them.
        self._trailer_bytes = 0
        # Requests arrived whole and responses completed: while every request that arrived has
        # been answered, the client has a deadline to send the next.
        self._arrived = 0
        self._answered = 0
        self._deadline_at: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        # The refusal of a pipelined request, sent once the requests before it are answered.
        self._last_answer: bytes | None = None
        # A request line of HTTP/1.2 or later: served as HTTP/1.1.
        self._later_minor_version = False

    # Connections

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Take the connection, or answer 503 and close it when too many are open."""
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
            self._reading = False
            self.transport = transport
            transport.write(
                raw_error(
                    503,
                    f"The sandbox has {self.limits.max_connections} connections open already; "
                    f"retry in {BUSY_RETRY_AFTER_SECONDS} second.",
                    {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
                )
            )
            transport.close()
            return
        super().connection_made(transport)
        self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection (and its deadline)."""
        if self._refused:
            return
        self._reading = False
        self._stop_timer()
        super().connection_lost(exc)

    # Reading

    def data_received(self, data: bytes) -> None:
        """Parse what arrived, keeping the section being read within the cap."""
        if not self._reading:
            return
        self._unset_keepalive_if_required()
        if not self._section_open:
            self._feed(data)
            return
        self._counted = True
        room = self.limits.max_header_bytes - self._section_bytes
        if len(data) < room:
            if self._feed(data) and self._counted:
                self._section_bytes += len(data)
            return
        # This read could take the section past the cap: parse up to the cap first.
        view = memoryview(data)
        if not self._feed(view[:room]):
            return
        if self._counted:
            self._fail(HEAD_TOO_LARGE)
        elif len(data) > room:
            self._feed(view[room:])

    def _feed(self, data: bytes | memoryview) -> bool:
        """Parse `data`; False when the connection's input ends with it."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            return self._upgrade(data[upgrade.args[0] :])
        except httptools.HttpParserError as error:
            refusal = error.__context__
            self._fail(refusal.status if isinstance(refusal, _Refused) else BAD_REQUEST)
            return False
        return True

    def _upgrade(self, rest: bytes | memoryview) -> bool:
        """After a request asking to upgrade: a WebSocket goes to uvicorn's WebSocket protocol;
        any other upgrade is declined, the request served as HTTP/1.1 (it has no body: see
        `_check_head`), and what followed it parsed as the next request."""
        if self._should_upgrade():
            self._reading = False
            self._stop_timer()
            self.handle_websocket_upgrade()
            return False
        self._unsupported_upgrade_warning()
        return self._feed(rest) if len(rest) else True

    # Parser callbacks

    def on_message_begin(self) -> None:
        self._head_open = True
        self._head_counted = self._counted
        self._trailer_bytes = 0
        super().on_message_begin()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_body:
            # A chunked body's trailers: dropped, as RFC 9110 allows (uvicorn would add them to
            # the headers the application holds already), and held to the head's cap.
            self._trailer_bytes += len(name) + len(value) + _HEADER_LINE_BYTES
            if self._trailer_bytes > self.limits.max_header_bytes:
                raise _Refused(HEAD_TOO_LARGE)
            return
        # llhttp leaves a value's trailing whitespace in it; a field value has none (RFC 9110).
        super().on_header(name, value.rstrip(b" \t"))

    def on_headers_complete(self) -> None:
        self._check_head()
        super().on_headers_complete()
        if self._later_minor_version:
            self.scope["http_version"] = "1.1"
        self._head_open = False
        self._in_body = True
        self._section_open = False
        self._counted = False

    def on_body(self, body: bytes) -> None:
        self._section_open = False
        self._counted = False
        super().on_body(body)

    def on_chunk_header(self) -> None:
        # Either a chunk's data follows, or, after the last chunk, the trailers: a section
        # until body bytes or the chunk's end show which.
        self._section_open = True
        self._section_bytes = 0
        self._counted = False

    def on_chunk_complete(self) -> None:
        self._section_open = False
        self._counted = False

    def on_message_complete(self) -> None:
        self._in_body = False
        self._section_open = True
        self._section_bytes = 0
        self._counted = False
        self._arrived += 1
        if self._arrived > self._answered:
            self._deadline_at = None  # The request is whole: the server's turn.
        super().on_message_complete()

    def _check_head(self) -> None:
        """Refuse a head the limits or HTTP/1.1 do not allow, before the application sees it."""
        method = self.parser.get_method()
        if not self._head_counted:
            size = len(method) + len(self.url) + _REQUEST_LINE_AND_END_BYTES
            for name, value in self.headers:
                size += len(name) + len(value) + _HEADER_LINE_BYTES
            if size > self.limits.max_header_bytes:
                raise _Refused(HEAD_TOO_LARGE)
        version = self.parser.get_http_version()
        self._later_minor_version = False
        if version != "1.1" and version != "1.0":
            if not version.startswith("1."):
                raise _Refused(BAD_REQUEST)
            self._later_minor_version = True
        hosts = 0
        codings: list[bytes] | None = None
        length = False
        for name, value in self.headers:
            if name == b"host":
                hosts += 1
            elif name == b"transfer-encoding":
                codings = (codings or []) + [coding.strip().lower() for coding in value.split(b",")]
            elif name == b"content-length":
                length = value != b"0"
        # One Host, none needed in HTTP/1.0 (RFC 9112 3.2).
        if hosts > 1 or (hosts == 0 and version != "1.0"):
            raise _Refused(BAD_REQUEST)
        # llhttp takes any coding before a final `chunked`; h11 took `chunked` alone, as here.
        if codings is not None and codings != [b"chunked"]:
            raise _Refused(BAD_REQUEST)
        # llhttp reads what follows an upgrade request's head (or CONNECT's) as another
        # protocol's: a body there would be read as the next request.
        if self.parser.should_upgrade() and (
            method == b"CONNECT" or ((length or codings is not None) and not self._should_upgrade())
        ):
            raise _Refused(BAD_REQUEST)

    # Answers

    def on_response_complete(self) -> None:
        """After each response the client's turn comes, once every request that arrived whole
        has been answered: the next request has its own deadline."""
        super().on_response_complete()
        self._answered += 1
        if self._arrived > self._answered or self.transport.is_closing():
            return
        if self._last_answer is not None:
            self.transport.write(self._last_answer)
            self.transport.close()
        elif self._reading:
            self._await_request()

    def send_400_response(self, msg: str) -> None:
        """Answer malformed HTTP in PIK's shape, and close."""
        self._fail(BAD_REQUEST)

    def _fail(self, status: int) -> None:
        """Answer a request the server refuses (`status`: 400 or 431), and end the connection."""
        self._reading = False
        self._deadline_at = None
        self.logger.warning("Invalid HTTP request received.")
        if status == HEAD_TOO_LARGE:
            message = (
                "The request's headers are larger than "
                f"{self.limits.max_header_bytes // 1024} KiB; send smaller ones."
            )
        else:
            message = NOT_HTTP_MESSAGE
        answer = raw_error(status, message)
        cycle: RequestResponseCycle | None = self.cycle
        if cycle is not None and not self._in_body and not cycle.response_complete:
            # A head after requests still being answered (pipelined): this answer follows
            # theirs, and ends the connection (`on_response_complete`).
            self._last_answer = answer
            return
        if cycle is not None and self._in_body:
            # The application never sees the rest of this request's body, nor answers it.
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started or self.pipeline:
                # Its answer (or an earlier request's) is on its way: no place for another.
                self.transport.close()
                return
        self.transport.write(answer)
        self.transport.close()

    # The deadline for each request to arrive whole. One timer per connection, moved on lazily:
    # a request served in time costs no timer of its own.

    def _await_request(self) -> None:
        self._deadline_at = self.loop.time() + self.limits.request_timeout
        if self._timer is None:
            self._timer = self.loop.call_at(self._deadline_at, self._check_deadline)

    def _check_deadline(self) -> None:
        self._timer = None
        deadline = self._deadline_at
        if deadline is None or not self._reading or self.transport.is_closing():
            return
        if self.loop.time() < deadline - TIMER_SLACK_SECONDS:  # moved on since it was set
            self._timer = self.loop.call_at(deadline, self._check_deadline)
            return
        self._reading = False
        self._deadline_at = None
        if self._head_open:
            # Part of a head arrived: say why the connection ends.
            self.transport.write(
                raw_error(
                    408,
                    f"The request did not arrive within {self.limits.request_timeout:g} seconds; "
                    "send it whole, at once.",
                )
            )
        # Nothing sent at all, or a body still dribbling in: the connection just ends (the
        # application sees the client leave).
        self.transport.close()

    def _stop_timer(self) -> None:
        self._deadline_at = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def protocol_for(limits: ServerLimits) -> type[LimitedHttpToolsProtocol]:
    """The protocol class uvicorn builds each connection with, under `limits`."""
    return type("PikHttpToolsProtocol", (LimitedHttpToolsProtocol,), {"limits": limits})


def uvicorn_config(
    app: Any,
    limits: ServerLimits,
    *,
    log_level: str = "info",
    trusted_proxies: tuple[str, ...] = (),
) -> uvicorn.Config:
    """uvicorn's configuration for serving `app` as `pik-sandbox` does.

    `X-Forwarded-For` and `X-Forwarded-Proto` are believed only from `trusted_proxies`; with
    none (the default), the client's address is the socket's peer, whatever a header says.
    """
    return uvicorn.Config(
        app,
        # uvloop where it is installed (uvicorn's `standard` extra), asyncio's loop elsewhere.
        loop="auto",
        http=protocol_for(limits),
        timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]
        lifespan="on",
        # The sandbox writes its own access log, which never contains API keys.
        access_log=False,
        log_config=None,
        log_level=log_level,
        server_header=False,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=",".join(trusted_proxies) if trusted_proxies else None,
    )
