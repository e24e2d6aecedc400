"""A webhook receiver on a real loopback socket, for the tests: it records every delivery and
answers each with the next scripted status (200 once the script runs out), or stays silent."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Delivery:
    body: bytes
    signature: str | None
    received_at: float


@dataclass
class Receiver:
    url: str
    answers: list[int | None] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    hang_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """The first `count` deliveries, once they have arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries[:count])
            time.sleep(0.02)
        raise AssertionError(f"{len(self.deliveries)} deliveries arrived, not {count}")


@contextmanager
def running_receiver(port: int = 0) -> Iterator[Receiver]:
    """A receiver on `port` (0: any free one) for the length of the block."""
    receiver = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.deliveries.append(
                    Delivery(body, self.headers.get("PIK-Signature"), time.monotonic())
                )
                status = receiver.answers.pop(0) if receiver.answers else 200
            if status is None:  # no answer in time
                time.sleep(receiver.hang_seconds)
                status = 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/pik"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
