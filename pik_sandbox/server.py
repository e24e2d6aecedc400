"""How `pik-sandbox` serves HTTP: uvicorn with h11, under limits that keep one client from hurting
the others, answering what the server itself refuses in PIK's error shape.

uvicorn's h11 protocol caps a request's head (`h11_max_incomplete_event_size`) and closes idle
keep-alive connections (`timeout_keep_alive`); httptools has no head cap, so it is not used. This
module's subclass adds what uvicorn lacks: a deadline for each request to arrive whole (a client
sending its head or body a byte at a time is cut off), a cap on open connections, and PIK-shaped
JSON for the answers the server gives before the application sees a request (400 for malformed
HTTP, 431 for a head too large, 408 for a request too slow, 503 for one connection too many).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from pik_sandbox.errors import error_body
from pik_sandbox.settings import (
    KEEP_ALIVE_TIMEOUT_SECONDS,
    MAX_CONNECTIONS,
    MAX_HEADER_BYTES,
    REQUEST_TIMEOUT_SECONDS,
)

# What a connection refused for being one too many is told to wait.
BUSY_RETRY_AFTER_SECONDS: Final = 1


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
    where no ASGI application (and no h11 response state) is available."""
    body = error_body(status, message)
    reason = h11_reason(status)
    lines = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name.lower()}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def h11_reason(status: int) -> str:
    """The reason phrase of a status."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class _Connection(h11.Connection):
    """h11's connection, refusing a request head over `max_head_bytes` however it arrives, and
    keeping the protocol error it last raised (for its status hint).

    h11's own cap applies to a head still incomplete; one that arrives whole in a single read
    (up to uvicorn's read size) would pass it.
    """

    last_error: h11.RemoteProtocolError | None = None

    def __init__(self, max_head_bytes: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head_bytes)
        self.max_head_bytes = max_head_bytes

    def next_event(self) -> Any:
        try:
            event = super().next_event()
            if isinstance(event, h11.Request) and _head_size(event) > self.max_head_bytes:
                raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
        except h11.RemoteProtocolError as error:
            self.last_error = error
            raise
        return event


def _head_size(request: h11.Request) -> int:
    """About how many bytes the request line and headers took on the wire."""
    line = len(request.method) + len(request.target) + len(" HTTP/1.1\r\n ")
    return line + sum(len(name) + len(value) + 4 for name, value in request.headers.raw_items())


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol under ServerLimits (set on a subclass by `protocol_for`)."""

    limits: ServerLimits = ServerLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._h11 = _Connection(self.limits.max_header_bytes)
        self.conn = self._h11
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Take the connection, or answer 503 and close it when too many are open."""
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
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
        self._start_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection (and its deadline)."""
        if self._refused:
            return
        self._cancel_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        """uvicorn's event handling; the deadline ends once the whole request has arrived."""
        super().handle_events()
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR):
            self._cancel_deadline()

    def on_response_complete(self) -> None:
        """After each response, the next request has its own deadline."""
        if not self.transport.is_closing():
            self._start_deadline()
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        """Answer malformed HTTP (or a head over the cap) in PIK's shape, and close."""
        error = self._h11.last_error
        status = error.error_status_hint if error is not None else 400
        if status == 431:
            message = (
                "The request's headers are larger than "
                f"{self.limits.max_header_bytes // 1024} KiB; send smaller ones."
            )
        else:
            status = 400
            message = "The request is not valid HTTP/1.1; nothing was done."
        self._cancel_deadline()
        self.transport.write(raw_error(status, message))
        self.transport.close()

    def _start_deadline(self) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.limits.request_timeout, self._too_slow)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
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


def protocol_for(limits: ServerLimits) -> type[LimitedH11Protocol]:
    """The protocol class uvicorn builds each connection with, under `limits`."""
    return type("PikH11Protocol", (LimitedH11Protocol,), {"limits": limits})


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
        loop="auto",
        http=protocol_for(limits),
        h11_max_incomplete_event_size=limits.max_header_bytes,
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
