"""Servers the benchmarks start and stop themselves: free loopback ports, readiness, memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Final, TextIO

ROOT: Final = Path(__file__).resolve().parents[1]
PYTHON: Final = sys.executable
HOST: Final = "127.0.0.1"
PRISM: Final = ROOT / "node_modules" / ".bin" / "prism"
START_TIMEOUT_SECONDS: Final = 60.0
STOP_TIMEOUT_SECONDS: Final = 15.0


def serve_on_loopback(app: object, port: int) -> None:
    """Serve an ASGI app on 127.0.0.1:`port` the way the sandbox serves: uvicorn on uvloop and
    httptools, no access log, no Server header."""
    import uvicorn

    uvicorn.run(
        app,  # type: ignore[arg-type]
        host=HOST,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        server_header=False,
    )


class ServerFailed(RuntimeError):
    """A server did not come up; the message carries the end of its log."""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str, headers: dict[str, str]) -> bool:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # Any HTTP answer means the server is up.
    except OSError:
        return False


class ServerProcess:
    """A server started on a loopback port, stopped (with anything it spawned) on exit.

    Starting and waiting are separate, so that several servers can boot at the same time.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        port: int,
        ready_path: str,
        log_dir: Path,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Describe the server; nothing runs before `start`."""
        self.name = name
        self.command = list(command)
        self.port = port
        self.base_url = f"http://{HOST}:{port}"
        self.ready_path = ready_path
        self.log_path = log_dir / f"{name.replace(' ', '_').replace('/', '_')}.log"
        self.headers = headers or {}
        self._process: subprocess.Popen[bytes] | None = None
        self._log: TextIO | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    def start(self) -> ServerProcess:
        """Launch the process; its output goes to a log file, since an unread pipe would fill up
        and stall it."""
        self._log = self.log_path.open("w")
        self._process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group, so that stopping it also stops whatever it spawned.
            start_new_session=True,
        )
        return self

    def wait_ready(self) -> None:
        """Poll until the server answers HTTP, or raise ServerFailed with its log's end."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(self.base_url + self.ready_path, self.headers):
            if self._process is None or self._process.poll() is not None:
                raise ServerFailed(f"{self.name} exited:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"{self.name} did not answer:\n{self._log_tail()}")
            time.sleep(0.1)

    def rss_bytes(self) -> int:
        """Resident memory of the server process, from /proc (VmRSS)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS line in /proc status")

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ServerProcess:
        """Start the server and wait until it answers."""
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()


def sandbox_server(name: str, db: Path, key: str, log_dir: Path, *options: str) -> ServerProcess:
    """`python -m pik_sandbox` as a user runs it, rate limits off, quiet log unless `options`
    say otherwise."""
    port = free_port()
    command = [PYTHON, "-m", "pik_sandbox", "--host", HOST, "--port", str(port), "--db", str(db)]
    command += ["--api-key", key, "--rate-limit", "off", "--log-level", "warning", *options]
    return ServerProcess(name, command, port=port, ready_path="/openapi.yaml", log_dir=log_dir)


def prism_server(log_dir: Path) -> ServerProcess:
    """Stoplight Prism's mock server on openapi.yaml, logging warnings only."""
    if not PRISM.exists():
        raise SystemExit(f"{PRISM} is missing: `make node-modules` installs it")
    port = free_port()
    command = [str(PRISM), "mock", str(ROOT / "openapi.yaml"), "-h", HOST, "-p", str(port)]
    return ServerProcess(
        "prism",
        [*command, "--verboseLevel", "warn"],
        port=port,
        ready_path="/payment-links",
        log_dir=log_dir,
        headers={"Authorization": "Bearer sk_probe"},
    )


@contextmanager
def all_running(servers: Sequence[ServerProcess]) -> Iterator[None]:
    """Start every server at once, wait until each answers, stop them all on exit."""
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
            server.start()
        for server in servers:
            server.wait_ready()
        yield
