"""Shared fixtures: the sandbox in-process (through httpx.ASGITransport) and as a real server.

- `sandbox_app`: a fresh sandbox app with two accounts (`API_KEY`, `OTHER_API_KEY`), rate limits
  off, responses validated against openapi.yaml, and its own temporary database.
- `make_sandbox_app(**settings)`: the same with other settings (rate limits on, a link TTL...).
- `api` / `other_api`: synchronous `httpx.Client`s on `sandbox_app` for each account, with the
  API's base URL (`.../v1`); `anonymous_api` sends no key. `client_for(app, key)` builds more.
- `live_sandbox`: one real `pik-sandbox` process for the session, on a free loopback port, with
  rate limits off; yields its base URL, keys and log file, and `.client(key)` builds clients.
- `start_sandbox(*args, db=...)`: starts further `pik-sandbox` processes (stopped at teardown).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import httpx
import pytest

from pik_sandbox.app import close_app, create_app
from pik_sandbox.settings import SandboxSettings

API_KEY = "sk_test_owner_3f9a1c"
OTHER_API_KEY = "sk_test_other_7b2e4d"
IN_PROCESS_URL = "http://sandbox.test"
REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 20.0

T = TypeVar("T")


class BlockingASGITransport(httpx.BaseTransport):
    """httpx.ASGITransport for a synchronous httpx.Client: each request runs on an event loop
    kept in a background thread, so tests stay plain functions."""

    def __init__(self, app: Any, portal: anyio.from_thread.BlockingPortal) -> None:
        self._transport = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request through the ASGI app and read the whole response."""
        request.read()

        async def send() -> httpx.Response:
            response = await self._transport.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                content=content,
                request=request,
                extensions=response.extensions,
            )

        return self._portal.call(send)


@pytest.fixture(scope="session")
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    """One event loop, in a background thread, for every in-process request."""
    with anyio.from_thread.start_blocking_portal() as blocking_portal:
        yield blocking_portal


@pytest.fixture
def run_async(portal: anyio.from_thread.BlockingPortal) -> Callable[[Awaitable[T]], T]:
    """Run a coroutine (say, many concurrent requests) on the in-process event loop."""

    def run(awaitable: Awaitable[T]) -> T:
        async def wrapper() -> T:
            return await awaitable

        return portal.call(wrapper)

    return run


def sandbox_test_settings(db_path: Path, **overrides: Any) -> SandboxSettings:
    """Settings for an in-process test sandbox: two accounts, no rate limits, strict responses."""
    values: dict[str, Any] = {
        "db_path": db_path,
        "api_keys": (API_KEY, OTHER_API_KEY),
        "public_url": IN_PROCESS_URL,
        "rate_limit": False,
        "validate_responses": True,
    }
    values.update(overrides)
    return SandboxSettings(**values)


@pytest.fixture
def make_sandbox_app(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Build an in-process sandbox app with some settings changed; each gets its own database,
    closed after the test."""
    counter = iter(range(1_000_000))
    apps: list[Any] = []

    def make(**overrides: Any) -> Any:
        overrides.setdefault("db_path", tmp_path / f"sandbox-{next(counter)}.sqlite3")
        app = create_app(sandbox_test_settings(**overrides))
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_app(app)


@pytest.fixture
def sandbox_app(make_sandbox_app: Callable[..., Any]) -> Any:
    """A fresh in-process sandbox with the default test settings."""
    return make_sandbox_app()


@pytest.fixture
def client_for(
    portal: anyio.from_thread.BlockingPortal,
) -> Iterator[Callable[..., httpx.Client]]:
    """Build a synchronous client on an in-process app, sending `key` (None: no key)."""
    with ExitStack() as stack:

        def make(app: Any, key: str | None = API_KEY, base_path: str = "/v1") -> httpx.Client:
            headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
            client = httpx.Client(
                transport=BlockingASGITransport(app, portal),
                base_url=IN_PROCESS_URL + base_path,
                headers=headers,
            )
            return stack.enter_context(client)

        yield make


@pytest.fixture
def api(sandbox_app: Any, client_for: Callable[..., httpx.Client]) -> httpx.Client:
    """The first account's client on `sandbox_app`, based at /v1."""
    return client_for(sandbox_app, API_KEY)


@pytest.fixture
def other_api(sandbox_app: Any, client_for: Callable[..., httpx.Client]) -> httpx.Client:
    """The second account's client on `sandbox_app`, based at /v1."""
    return client_for(sandbox_app, OTHER_API_KEY)


@pytest.fixture
def anonymous_api(sandbox_app: Any, client_for: Callable[..., httpx.Client]) -> httpx.Client:
    """A client on `sandbox_app` that sends no API key, based at the site's root."""
    return client_for(sandbox_app, None, base_path="")


@dataclass
class SandboxProcess:
    """A `pik-sandbox` command running in a child process."""

    process: subprocess.Popen[bytes]
    base_url: str
    db_path: Path
    log_path: Path
    api_keys: tuple[str, ...]
    _log_file: Any = field(repr=False, default=None)

    @property
    def api_url(self) -> str:
        """The API's base URL, ending in /v1."""
        return self.base_url + "/v1"

    def client(self, key: str | None = API_KEY, base_path: str = "/v1") -> httpx.Client:
        """A client of this server sending `key` (None: no key), based at `base_path`; close
        it after use (a `with` block)."""
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        return httpx.Client(base_url=self.base_url + base_path, headers=headers, timeout=10)

    def log(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send `sig` and wait for the process to end; returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return self.process.returncode


def launch_sandbox(
    workdir: Path,
    *args: str,
    db_path: Path | None = None,
    api_keys: tuple[str, ...] = (API_KEY, OTHER_API_KEY),
    env: dict[str, str] | None = None,
) -> SandboxProcess:
    """Start `pik-sandbox` on a free loopback port and wait until it has started."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = db_path or workdir / "sandbox.sqlite3"
    existing = sorted(workdir.glob("sandbox-*.log"))
    log_path = workdir / f"sandbox-{len(existing)}.log"
    log_file = log_path.open("wb")
    # The installed `pik-sandbox` command when there is one, as a user would run it.
    script = Path(sys.executable).parent / "pik-sandbox"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pik_sandbox"]
    command += ["--host", "127.0.0.1", "--port", "0"]
    command += ["--db", str(db_path)]
    for key in api_keys:
        command += ["--api-key", key]
    command += list(args)
    # Keys come from the arguments (and `env`) only, never from the caller's environment.
    child_env = {k: v for k, v in os.environ.items() if k != "PIK_SANDBOX_API_KEYS"}
    child_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, env=child_env
    )
    sandbox = SandboxProcess(process, "", db_path, log_path, api_keys, log_file)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        match = re.search(r"listening on (http://\S+)", sandbox.log())
        if match and "Application startup complete" in sandbox.log():
            sandbox.base_url = match.group(1)
            return sandbox
        if process.poll() is not None:
            break
        time.sleep(0.05)
    sandbox.stop(signal.SIGKILL)
    raise RuntimeError(f"pik-sandbox did not start:\n{sandbox.log()}")


@pytest.fixture
def start_sandbox(tmp_path: Path) -> Iterator[Callable[..., SandboxProcess]]:
    """Start `pik-sandbox` processes in this test's temporary folder; all stop at teardown."""
    started: list[SandboxProcess] = []

    def start(*args: str, **kwargs: Any) -> SandboxProcess:
        sandbox = launch_sandbox(tmp_path, *args, **kwargs)
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def live_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One real server for the session: two accounts, rate limits off."""
    sandbox = launch_sandbox(tmp_path_factory.mktemp("live-sandbox"), "--rate-limit", "off")
    yield sandbox
    sandbox.stop()
