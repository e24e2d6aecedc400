"""Shared fixtures: the sandbox in-process (through httpx.ASGITransport) and as a real server, all
started by pik_sandbox.testing, the same code merchants' tests use.

- `sandbox_app`: a fresh sandbox app with two accounts (`API_KEY`, `OTHER_API_KEY`), rate limits
  off, responses validated against openapi.yaml, and its own temporary database.
- `make_sandbox_app(**settings)`: the same with other settings (rate limits on, a link TTL...).
- `api` / `other_api`: synchronous `httpx.Client`s on `sandbox_app` for each account, with the
  API's base URL (`.../v1`); `anonymous_api` sends no key. `client_for(app, key)` builds more.
- `live_sandbox`: one real `pik-sandbox` process for the session, on a free loopback port, with
  rate limits off: `.base_url` (ending in /v1), `.site_url`, keys, log, `.client(key)`.
- `start_sandbox(*args, db_path=...)`: starts further `pik-sandbox` processes (stopped at
  teardown).
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import httpx
import pytest

from pik_sandbox import testing
from pik_sandbox.testing import BlockingASGITransport, run_sandbox

API_KEY = "sk_test_owner_3f9a1c"
OTHER_API_KEY = "sk_test_other_7b2e4d"
IN_PROCESS_URL = testing.IN_PROCESS_URL
REPO_ROOT = Path(__file__).resolve().parents[1]

T = TypeVar("T")

# Runs pytest itself on small test files, to check the pik_sandbox plugin's fixtures end to end.
pytest_plugins = ["pytester"]


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


@pytest.fixture
def make_sandbox_app(
    portal: anyio.from_thread.BlockingPortal,
) -> Iterator[Callable[..., Any]]:
    """Build an in-process sandbox app with some settings changed (the arguments of
    `run_sandbox`); each gets its own database, closed after the test."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> Any:
            overrides.setdefault("api_keys", (API_KEY, OTHER_API_KEY))
            sandbox = stack.enter_context(run_sandbox(in_process=True, portal=portal, **overrides))
            return sandbox.app

        yield make


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


class SandboxProcess(testing.SandboxProcess):
    """A `pik-sandbox` command in a child process, with the project's test keys."""

    def client(self, key: str | None = API_KEY, base_path: str = "/v1") -> httpx.Client:
        """A client of this server sending `key` (None: no key), based at `base_path` (/v1 or
        the site's root, ""); close it after use (a `with` block)."""
        return self.http_client(key, anonymous=key is None, site=base_path == "")


def _start(workdir: Path, *args: str, **kwargs: Any) -> SandboxProcess:
    kwargs.setdefault("api_keys", (API_KEY, OTHER_API_KEY))
    return SandboxProcess.start(*args, workdir=workdir, cwd=REPO_ROOT, **kwargs)


@pytest.fixture
def start_sandbox(tmp_path: Path) -> Iterator[Callable[..., SandboxProcess]]:
    """Start `pik-sandbox` processes in this test's temporary folder; all stop at teardown.
    Takes further options, and `db_path`, `api_keys` and `env` (see SandboxProcess.start)."""
    started: list[SandboxProcess] = []

    def start(*args: str, **kwargs: Any) -> SandboxProcess:
        sandbox = _start(tmp_path, *args, **kwargs)
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def live_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One real server for the session: two accounts, rate limits off."""
    sandbox = _start(tmp_path_factory.mktemp("live-sandbox"), "--rate-limit", "off")
    yield sandbox
    sandbox.stop()
