"""Run a real PIK sandbox from Python: in your tests, scripts and benchmarks.

Three ways, all with a fresh temporary database and two accounts, and all leaving nothing
behind (ports, files, threads, processes) when they end:

- `run_sandbox()` / `run_sandbox_async()`: the sandbox served by uvicorn on a thread, on a free
  loopback port, over a real socket. Its clock is yours to move (`sandbox.clock.advance(61)`).
- `run_sandbox(in_process=True)` / `run_sandbox_async(in_process=True)`: no socket at all; clients
  reach the app through `httpx.ASGITransport` (`sandbox.http_client()` wires it up).
- `SandboxProcess.start(*cli_args)`: the `pik-sandbox` command in a child process, for what only a
  process shows (signals, restarts, the command line itself).

```python
from pik_sandbox.testing import run_sandbox

with run_sandbox() as sandbox:
    print(sandbox.base_url, sandbox.api_key, sandbox.other_api_key)
```
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self, TypeVar
from urllib.parse import quote

import anyio
import anyio.from_thread
import anyio.lowlevel
import httpx
import uvicorn

from pik_sandbox.app import close_app, create_app
from pik_sandbox.paths import API_BASE_PATH
from pik_sandbox.server import ServerLimits, uvicorn_config
from pik_sandbox.settings import SandboxSettings

__all__ = [
    "API_KEY",
    "IN_PROCESS_URL",
    "OTHER_API_KEY",
    "BlockingASGITransport",
    "LocalSandbox",
    "SandboxCallFailed",
    "SandboxClock",
    "SandboxProcess",
    "SandboxStartFailed",
    "run_sandbox",
    "run_sandbox_async",
]

# The two accounts every sandbox started here has, unless told otherwise.
API_KEY: Final = "sk_test_sandbox_merchant"
OTHER_API_KEY: Final = "sk_test_sandbox_other_merchant"
# The site an in-process sandbox names in its checkout URLs; nothing listens there.
IN_PROCESS_URL: Final = "http://sandbox.test"
LOOPBACK: Final = "127.0.0.1"
START_TIMEOUT_SECONDS: Final = 30.0
STOP_TIMEOUT_SECONDS: Final = 15.0
# Requests still in flight when a thread-served sandbox stops get this long to finish.
GRACEFUL_SHUTDOWN_SECONDS: Final = 5
CLIENT_TIMEOUT_SECONDS: Final = 10.0
API_KEYS_ENV: Final = "PIK_SANDBOX_API_KEYS"

T = TypeVar("T")


class SandboxStartFailed(RuntimeError):
    """A sandbox did not come up; the message says why (for a process, the end of its log)."""


class SandboxCallFailed(RuntimeError):
    """A helper's call to the sandbox was refused; carries the status and PIK's error body."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.body = response.text
        super().__init__(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:300]}"
        )


class SandboxClock:
    """The time a sandbox runs on (link times, expiry, rate-limit windows), which tests move.

    It runs with the real time, in seconds since the epoch, and never goes backwards.
    `advance(seconds)` jumps it forward; a frozen clock (`frozen=True`, or `freeze()`) stands
    still until advanced, for exact figures such as a `Retry-After` of 30.
    """

    def __init__(self, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        # Wall-clock time now, carried forward by the monotonic clock.
        self._origin = time.time() - time.monotonic()
        self._offset = 0.0
        self._frozen_at: float | None = None
        if frozen:
            self.freeze()

    def _running(self) -> float:
        return self._origin + time.monotonic() + self._offset

    def __call__(self) -> float:
        """What time it is for the sandbox, in seconds since the epoch."""
        with self._lock:
            return self._frozen_at if self._frozen_at is not None else self._running()

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass at once: links expire, rate-limit windows roll."""
        if not seconds >= 0:
            raise ValueError(f"a clock only moves forward; cannot advance by {seconds}")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def freeze(self) -> None:
        """Stop the clock where it is; only `advance` moves it then."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self._running()

    def resume(self) -> None:
        """Let a frozen clock run again, from the time it shows."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset += self._frozen_at - self._running()
                self._frozen_at = None

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still."""
        return self._frozen_at is not None


class BlockingASGITransport(httpx.BaseTransport):
    """`httpx.ASGITransport` for a synchronous `httpx.Client`: each request runs on an event
    loop kept in a background thread (an anyio blocking portal)."""

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


class _SandboxEndpoint:
    """What every running sandbox offers: its URLs, its keys, clients and payments."""

    site_url: str
    api_keys: tuple[str, ...]
    transport: httpx.BaseTransport | None = None
    async_transport: httpx.AsyncBaseTransport | None = None

    @property
    def base_url(self) -> str:
        """The API's base URL, ending in /v1: give it to the client."""
        return self.site_url + API_BASE_PATH

    @property
    def api_key(self) -> str:
        """The first account's key."""
        if not self.api_keys:
            raise LookupError("this sandbox was started without API keys of its own")
        return self.api_keys[0]

    @property
    def other_api_key(self) -> str:
        """A second account's key: its links are a 404 for `api_key`, and the other way round."""
        if len(self.api_keys) < 2:
            raise LookupError("this sandbox was started with fewer than two API keys")
        return self.api_keys[1]

    def _client_args(
        self, api_key: str | None, anonymous: bool, site: bool, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if not anonymous:
            headers["Authorization"] = f"Bearer {api_key or self.api_key}"
        kwargs.setdefault("timeout", CLIENT_TIMEOUT_SECONDS)
        return {"base_url": self.site_url if site else self.base_url, "headers": headers, **kwargs}

    def http_client(
        self,
        api_key: str | None = None,
        *,
        anonymous: bool = False,
        site: bool = False,
        **kwargs: Any,
    ) -> httpx.Client:
        """A plain `httpx.Client` of this sandbox sending `api_key` (default: the first
        account's; `anonymous=True`: none), based at /v1 (`site=True`: at the site's root).
        Close it after use (a `with` block). Other keyword arguments go to httpx.Client."""
        if self.transport is None and self.async_transport is not None:
            raise RuntimeError(
                "this sandbox runs on your event loop: use async_http_client() instead"
            )
        args = self._client_args(api_key, anonymous, site, kwargs)
        if self.transport is not None:
            args.setdefault("transport", self.transport)
        return httpx.Client(**args)

    def async_http_client(
        self,
        api_key: str | None = None,
        *,
        anonymous: bool = False,
        site: bool = False,
        **kwargs: Any,
    ) -> httpx.AsyncClient:
        """As `http_client`, an `httpx.AsyncClient`."""
        args = self._client_args(api_key, anonymous, site, kwargs)
        if self.async_transport is not None:
            args.setdefault("transport", self.async_transport)
        return httpx.AsyncClient(**args)

    def simulate_payment(
        self, link_id: str, status: str = "paid", *, api_key: str | None = None
    ) -> dict[str, Any]:
        """Force a link of `api_key`'s account (default: the first) into a final state, as the
        customer paying (`paid`) or PIK expiring or deactivating it would; returns the link.
        This is the API's `POST /v1/sandbox/payment-links/{id}/simulate`."""
        with self.http_client(api_key) as client:
            response = client.post(_simulate_path(link_id), json={"status": status})
        return _link_or_raise(response)

    async def simulate_payment_async(
        self, link_id: str, status: str = "paid", *, api_key: str | None = None
    ) -> dict[str, Any]:
        """As `simulate_payment`, awaitable."""
        async with self.async_http_client(api_key) as client:
            response = await client.post(_simulate_path(link_id), json={"status": status})
        return _link_or_raise(response)


def _simulate_path(link_id: str) -> str:
    return f"/sandbox/payment-links/{quote(link_id, safe='')}/simulate"


def _link_or_raise(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise SandboxCallFailed(response)
    link: dict[str, Any] = response.json()
    return link


class LocalSandbox(_SandboxEndpoint):
    """A sandbox running in this process, as `run_sandbox` yields it.

    `base_url` (ending in /v1), `api_key` and `other_api_key` (two accounts), `clock` (move it
    with `advance`), `simulate_payment(link_id)`, and `http_client()`/`async_http_client()`.
    In-process, `transport` (synchronous clients) and `async_transport` (asynchronous ones) are
    what a client must be given to reach it; over a socket both are None.
    """

    def __init__(
        self,
        *,
        app: Any,
        settings: SandboxSettings,
        clock: SandboxClock,
        site_url: str,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self.site_url = site_url
        self.api_keys = settings.api_keys
        self.transport = transport
        self.async_transport = async_transport

    @property
    def db_path(self) -> Path:
        """The SQLite file, removed when the sandbox stops."""
        return self.settings.db_path

    @property
    def in_process(self) -> bool:
        """Whether clients reach it through a transport rather than a socket."""
        return self.async_transport is not None

    def __repr__(self) -> str:
        return f"LocalSandbox(base_url={self.base_url!r}, in_process={self.in_process})"


def _settings(
    db_path: Path,
    site_url: str,
    clock: SandboxClock,
    api_keys: Sequence[str],
    rate_limit: bool,
    link_ttl_seconds: float | None,
    validate_responses: bool,
    public_url: str | None,
    extra: Mapping[str, Any],
) -> SandboxSettings:
    return SandboxSettings(
        db_path=db_path,
        api_keys=tuple(api_keys),
        public_url=public_url or site_url,
        rate_limit=rate_limit,
        link_ttl_seconds=link_ttl_seconds,
        validate_responses=validate_responses,
        clock=clock,
        **extra,
    )


def _listen_on_loopback() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((LOOPBACK, 0))
        sock.listen(512)
    except OSError:
        sock.close()
        raise
    return sock


class _StartupErrors(logging.Handler):
    """Keeps what uvicorn logs as errors while a server starts (the app's own start-up failure
    among them), to say why in SandboxStartFailed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        if record.exc_info and record.exc_info[1] is not None:
            message += f": {record.exc_info[1]!r}"
        self.messages.append(message)


class _ServerThread:
    """uvicorn serving an app on a socket we bound, on a thread of its own."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        # Served as `pik-sandbox` serves: the same protocol, limits and logging.
        config = uvicorn_config(app, ServerLimits(), log_level="warning")
        config.timeout_graceful_shutdown = GRACEFUL_SHUTDOWN_SECONDS
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pik-sandbox-server", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as error:  # reported by start()
            self._failure = error

    def start(self) -> None:
        """Start serving; returns once the server accepts connections."""
        errors = _StartupErrors()
        uvicorn_log = logging.getLogger("uvicorn.error")
        uvicorn_log.addHandler(errors)
        try:
            self._thread.start()
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not self._server.started:
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    self.stop()
                    why = "; ".join(errors.messages) or repr(self._failure)
                    raise SandboxStartFailed(f"the sandbox's server did not start: {why}")
                time.sleep(0.005)
        finally:
            uvicorn_log.removeHandler(errors)

    def stop(self) -> None:
        """Stop accepting, finish what is in flight, run the app's shutdown, join the thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_SECONDS)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(STOP_TIMEOUT_SECONDS)
        self._sock.close()


@contextmanager
def run_sandbox(
    *,
    in_process: bool = False,
    api_keys: Sequence[str] = (API_KEY, OTHER_API_KEY),
    rate_limit: bool = False,
    link_ttl_seconds: float | None = None,
    validate_responses: bool = True,
    clock: SandboxClock | None = None,
    db_path: Path | None = None,
    public_url: str | None = None,
    portal: anyio.from_thread.BlockingPortal | None = None,
    **settings: Any,
) -> Iterator[LocalSandbox]:
    """A running sandbox with a fresh temporary database, stopped and removed on exit.

    By default it listens on a free loopback port; `in_process=True` serves it through
    `httpx.ASGITransport` instead (clients need `sandbox.transport`; `http_client()` passes it),
    on an event loop in a background thread (or on `portal`'s). Rate limits are off and every
    response is checked against openapi.yaml unless told otherwise; `settings` are further
    `SandboxSettings` fields (`supported_assets`, `creation_limit`...). `db_path` keeps the
    database somewhere of your own instead (left in place afterwards).
    """
    clock = clock or SandboxClock()
    with ExitStack() as stack:
        if db_path is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="pik-sandbox-"))
            db_path = Path(folder) / "sandbox.sqlite3"
        if in_process:
            site_url = IN_PROCESS_URL
        else:
            sock = _listen_on_loopback()
            stack.callback(sock.close)
            site_url = f"http://{LOOPBACK}:{sock.getsockname()[1]}"
        sandbox_settings = _settings(
            db_path,
            site_url,
            clock,
            api_keys,
            rate_limit,
            link_ttl_seconds,
            validate_responses,
            public_url,
            settings,
        )
        app = create_app(sandbox_settings)
        stack.callback(close_app, app)
        if in_process:
            if portal is None:
                portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
            yield LocalSandbox(
                app=app,
                settings=sandbox_settings,
                clock=clock,
                site_url=site_url,
                transport=BlockingASGITransport(app, portal),
                async_transport=httpx.ASGITransport(app=app),
            )
            return
        server = _ServerThread(app, sock)
        server.start()
        stack.callback(server.stop)
        yield LocalSandbox(app=app, settings=sandbox_settings, clock=clock, site_url=site_url)


@asynccontextmanager
async def run_sandbox_async(
    *,
    in_process: bool = False,
    api_keys: Sequence[str] = (API_KEY, OTHER_API_KEY),
    rate_limit: bool = False,
    link_ttl_seconds: float | None = None,
    validate_responses: bool = True,
    clock: SandboxClock | None = None,
    db_path: Path | None = None,
    public_url: str | None = None,
    **settings: Any,
) -> AsyncIterator[LocalSandbox]:
    """As `run_sandbox`, for async code: starting and stopping never block the event loop.

    In-process, the app runs on the caller's event loop: use `async_http_client()` and
    `simulate_payment_async()` (the synchronous helpers would wait on the loop they block).
    """
    clock = clock or SandboxClock()
    if in_process:
        with ExitStack() as stack:
            if db_path is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="pik-sandbox-"))
                db_path = Path(folder) / "sandbox.sqlite3"
            sandbox_settings = _settings(
                db_path,
                IN_PROCESS_URL,
                clock,
                api_keys,
                rate_limit,
                link_ttl_seconds,
                validate_responses,
                public_url,
                settings,
            )
            app = create_app(sandbox_settings)
            stack.callback(close_app, app)
            yield LocalSandbox(
                app=app,
                settings=sandbox_settings,
                clock=clock,
                site_url=IN_PROCESS_URL,
                async_transport=httpx.ASGITransport(app=app),
            )
        return
    manager = run_sandbox(
        api_keys=api_keys,
        rate_limit=rate_limit,
        link_ttl_seconds=link_ttl_seconds,
        validate_responses=validate_responses,
        clock=clock,
        db_path=db_path,
        public_url=public_url,
        **settings,
    )
    sandbox = await _on_own_thread(manager.__enter__)
    try:
        yield sandbox
    except BaseException:
        exc_info = sys.exc_info()
        if not await _on_own_thread(lambda: manager.__exit__(*exc_info)):
            raise
    else:
        await _on_own_thread(lambda: manager.__exit__(None, None, None))


async def _on_own_thread(function: Callable[[], T]) -> T:
    """Run `function` on a thread of its own, joined before returning, and wait for it without
    blocking the event loop. (anyio's worker threads would outlive the sandbox, idle.)"""
    outcome: list[T] = []
    failure: list[BaseException] = []
    done = anyio.Event()
    token = anyio.lowlevel.current_token()

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as error:  # re-raised on the event loop
            failure.append(error)
        finally:
            anyio.from_thread.run_sync(done.set, token=token)

    thread = threading.Thread(target=run, name="pik-sandbox-start-stop")
    thread.start()
    await done.wait()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


_LISTENING = re.compile(r"PIK sandbox listening on (http://\S+)")


class SandboxProcess(_SandboxEndpoint):
    """The `pik-sandbox` command running in a child process on a free loopback port.

    ```python
    with SandboxProcess.start("--rate-limit", "off") as sandbox:
        httpx.get(sandbox.base_url + "/payment-links", headers=...)
    ```

    `start` returns once the process listens; `stop()` (or leaving the `with` block) ends it
    and removes the temporary folder it was given. Its stdout and stderr go to `log_path`.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        site_url: str,
        api_keys: tuple[str, ...],
        db_path: Path,
        log_path: Path,
        cleanup: ExitStack,
    ) -> None:
        self.process = process
        self.site_url = site_url
        self.api_keys = api_keys
        self.db_path = db_path
        self.log_path = log_path
        self._cleanup = cleanup

    @staticmethod
    def default_command() -> list[str]:
        """The installed `pik-sandbox` next to this interpreter, as a user runs it; else
        `python -m pik_sandbox` with this interpreter."""
        script = Path(sys.executable).parent / "pik-sandbox"
        if script.is_file() and os.access(script, os.X_OK):
            return [str(script)]
        return [sys.executable, "-m", "pik_sandbox"]

    @classmethod
    def start(
        cls,
        *args: str,
        api_keys: Sequence[str] = (API_KEY, OTHER_API_KEY),
        db_path: Path | None = None,
        workdir: Path | None = None,
        env: Mapping[str, str] | None = None,
        command: Sequence[str] | None = None,
        cwd: Path | None = None,
        timeout: float = START_TIMEOUT_SECONDS,
    ) -> Self:
        """Start `pik-sandbox --host 127.0.0.1 --port 0 --db DB --api-key KEY... ARGS...`.

        `args` are further command-line options (`"--rate-limit", "on"`, `"--link-ttl", "60"`).
        Without `workdir`, the log and the database go to a temporary folder removed at
        `stop()`; `db_path` names another database (a restart reusing one). Keys come from
        `api_keys` (and `env`) only, never from the caller's $PIK_SANDBOX_API_KEYS. `command`
        replaces the program (default: `default_command()`).
        """
        cleanup = ExitStack()
        try:
            if workdir is None:
                workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="pik-")))
            workdir.mkdir(parents=True, exist_ok=True)
            db_path = db_path or workdir / "sandbox.sqlite3"
            log_path = workdir / f"sandbox-{secrets.token_hex(4)}.log"
            argv = [*(command or cls.default_command()), "--host", LOOPBACK, "--port", "0"]
            argv += ["--db", str(db_path)]
            for key in api_keys:
                argv += ["--api-key", key]
            argv += args
            child_env = {k: v for k, v in os.environ.items() if k != API_KEYS_ENV}
            child_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=child_env
                )
            sandbox = cls(
                process,
                site_url="",
                api_keys=tuple(api_keys),
                db_path=db_path,
                log_path=log_path,
                cleanup=cleanup,
            )
        except BaseException:
            cleanup.close()
            raise
        sandbox._wait_until_listening(timeout)
        return sandbox

    def _wait_until_listening(self, timeout: float) -> None:
        # The command binds and listens before it prints this line, so a request sent from
        # now on waits in the socket's queue until the server takes it.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log())
            if match:
                self.site_url = match.group(1)
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        self.stop(signal.SIGKILL)
        raise SandboxStartFailed(f"pik-sandbox did not start:\n{self.log()[-4000:]}")

    @property
    def pid(self) -> int:
        """The child process's id."""
        return self.process.pid

    def log(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """Send `sig` (SIGTERM: a clean stop), wait for the process to end (killing it after
        `timeout` seconds), remove its temporary folder; returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._cleanup.close()
        return self.process.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SandboxProcess(pid={self.pid}, base_url={self.base_url!r})"
