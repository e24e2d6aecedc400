"""Servers the benchmarks start and stop: the sandbox through `pik_sandbox.testing`, and the
others (Prism, the ceiling) on free loopback ports, polled until they answer."""

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
from typing import Final

from pik_sandbox.testing import SandboxProcess

ROOT: Final = Path(__file__).resolve().parents[1]
PYTHON: Final = sys.executable
HOST: Final = "127.0.0.1"
PRISM: Final = ROOT / "node_modules" / ".bin" / "prism"
START_TIMEOUT_SECONDS: Final = 60.0
STOP_TIMEOUT_SECONDS: Final = 15.0


def start_sandbox(db: Path, key: str, workdir: Path, *options: str) -> SandboxProcess:
    """`pik-sandbox` as a user runs it, on a free loopback port, with one account (`key`), rate
    limits off and a quiet log unless `options` say otherwise. Returns once it listens."""
    options = ("--rate-limit", "off", "--log-level", "warning", *options)
    return SandboxProcess.start(*options, api_keys=(key,), db_path=db, workdir=workdir)


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS line in /proc status")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str, headers: dict[str, str]) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # Any HTTP answer means the server is up.
    except OSError:
        return False


class ServerProcess:
    """A server command listening on a loopback port, in a process group of its own so that
    stopping it stops whatever it spawned; its output goes to a log file in `log_dir`."""

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
        self.base_url = f"http://{HOST}:{port}"
        self.ready_url = self.base_url + ready_path
        self.log_path = log_dir / f"{name}.log"
        self.headers = headers or {}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Launch the process (starting and waiting are apart, so servers boot together)."""
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Poll until the server answers HTTP, or raise with the end of its log."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(self.ready_url, self.headers):
            if self._process is None or self._process.poll() is not None:
                failure = "exited"
            elif time.monotonic() > deadline:
                failure = "did not answer"
            else:
                time.sleep(0.1)
                continue
            log = self.log_path.read_text(errors="replace").splitlines()[-20:]
            raise RuntimeError(f"{self.name} {failure}:\n" + "\n".join(log))

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


def ceiling_server(bodies: Path, log_dir: Path, workers: int = 1) -> ServerProcess:
    """`benchmarks.ceiling_app` serving the response bodies in the JSON file `bodies`, with
    `workers` processes."""
    port = free_port()
    command = [PYTHON, "-m", "benchmarks.ceiling_app", "--port", str(port), "--bodies", str(bodies)]
    command += ["--workers", str(workers)]
    return ServerProcess(
        "ceiling", command, port=port, ready_path="/v1/payment-links", log_dir=log_dir
    )
