"""`pik-sandbox`: run a local PIK sandbox from the command line.

Installed without the `sandbox` extra, the command says which extra to install (and answers
`--version`) instead of failing with a traceback: the sandbox's modules are imported under a
guard, and `main` checks what was missing before anything else.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import logging
import math
import os
import re
import shlex
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pik_sandbox.paths import API_BASE_PATH, DOCS_PATH

try:
    import uvicorn

    from pik_sandbox import logs
    from pik_sandbox.app import close_app, create_app, sandbox_of
    from pik_sandbox.server import ServerLimits, connections_that_fit, uvicorn_config
    from pik_sandbox.settings import (
        ASSET_DECIMALS,
        DB_LOCK_TIMEOUT_SECONDS,
        DEFAULT_DB_PATH,
        DEMO_API_KEY,
        KEEP_ALIVE_TIMEOUT_SECONDS,
        MAX_CONNECTIONS,
        MAX_HEADER_BYTES,
        REQUEST_TIMEOUT_SECONDS,
        WEBHOOK_RETRY_SCHEDULE,
        SandboxSettings,
        parse_schedule,
    )
    from pik_sandbox.store import StorageBusy, StorageFailed
    from pik_sandbox.workers import (
        MAX_WORKERS,
        WakePipe,
        WorkerRole,
        hold_stops,
        run_workers,
        stop_requested,
    )
except ModuleNotFoundError as missing:
    # A module of this distribution missing is a broken install, not a missing extra.
    if (missing.name or "").partition(".")[0] in ("pik_sandbox", "pik_generated_client"):
        raise
    MISSING_MODULE: str | None = missing.name or "a dependency"
else:
    MISSING_MODULE = None

DISTRIBUTION = "pik-payment-links"
SANDBOX_EXTRA = "sandbox"
API_KEYS_ENV = "PIK_SANDBOX_API_KEYS"
# What a usage error or a refusal exits with, as argparse's own errors do.
USAGE_ERROR = 2
logger = logging.getLogger("pik_sandbox")

_DIGITS = re.compile(r"[0-9]+")
# What an HTTP header can carry as a bearer token: printable ASCII without spaces.
_KEY = re.compile(r"[\x21-\x7e]+")


def package_version() -> str:
    """The toolkit's version: the installed distribution's (whose one source is the generated
    client's `__version__`), else that `__version__` itself in a checkout never installed."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        version = getattr(importlib.import_module("pik_generated_client"), "__version__", None)
    except ImportError:
        version = None
    return version if isinstance(version, str) else "unknown"


def missing_extra_hint(module: str) -> str:
    """The one line that tells someone without the sandbox's dependencies what to install."""
    return (
        f"pik-sandbox: the sandbox needs the {SANDBOX_EXTRA!r} extra ({module} is not installed):"
        f' pip install "{DISTRIBUTION}[{SANDBOX_EXTRA}]"'
    )


def _port(text: str) -> int:
    if not _DIGITS.fullmatch(text.strip()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port: use a whole number from 0 to 65535 (0: any free port)"
        )
    return int(text)


def _link_ttl(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(
            f"the link TTL must be a number of seconds above 0, not {text!r}"
        )
    return seconds


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return seconds


def _schedule(text: str) -> tuple[float, ...]:
    try:
        return parse_schedule(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _count(text: str) -> int:
    if not _DIGITS.fullmatch(text.strip()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return int(text)


def _workers(text: str) -> int:
    count = _count(text)
    if count > MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"at most {MAX_WORKERS} workers, not {count}")
    if count > 1 and not hasattr(os, "fork"):
        raise argparse.ArgumentTypeError("more than one worker needs os.fork (Linux or macOS)")
    return count


def _api_key(text: str) -> str:
    key = text.strip()
    if not _KEY.fullmatch(key):
        raise argparse.ArgumentTypeError(
            "an API key must be printable ASCII without spaces, and not empty"
        )
    return key


def _public_url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a base URL: write it as http(s)://HOST[:PORT][/PATH]"
        )
    return text.strip()


def _asset(text: str) -> tuple[str, int]:
    """CODE[:DECIMALS]; a known code may leave its decimals out. SandboxSettings checks the
    code against the document's pattern."""
    code, _, decimals = text.partition(":")
    code = code.strip().upper()
    if not decimals:
        if code not in ASSET_DECIMALS:
            raise argparse.ArgumentTypeError(
                f"{code!r} has no known number of decimals; write it as {code or 'CODE'}:DECIMALS"
            )
        return code, ASSET_DECIMALS[code]
    if not _DIGITS.fullmatch(decimals.strip()):
        raise argparse.ArgumentTypeError(
            f"{decimals!r} is not a number of decimals (a whole number, 0 or more)"
        )
    return code, int(decimals)


class _VersionAction(argparse.Action):
    """--version, reading the version only when asked (it imports the generated client)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        print(f"{parser.prog} {package_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The command line parser of `pik-sandbox`; every option's help names its default."""
    parser = argparse.ArgumentParser(
        prog="pik-sandbox",
        description="A local, stateful stand-in for PIK's payment-links sandbox.",
        epilog="`python -m pik_sandbox` is the same command. SIGINT or SIGTERM stops it.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="port to listen on, 0 to 65535; 0 picks any free port (default: %(default)s)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=DEFAULT_DB_PATH,
        help="SQLite database file, created when missing (default: %(default)s)",
    )
    parser.add_argument(
        "--api-key",
        type=_api_key,
        action="append",
        default=[],
        metavar="KEY",
        help=(
            f"an API key (one account); repeat for more (default: ${API_KEYS_ENV}, "
            f"comma-separated, else the printed demo key {DEMO_API_KEY})"
        ),
    )
    parser.add_argument(
        "--public-url",
        type=_public_url,
        metavar="URL",
        help="base URL of the checkout links the API returns (default: http://HOST:PORT)",
    )
    parser.add_argument(
        "--rate-limit",
        choices=["on", "off"],
        default="on",
        help="PIK's per-key rate limits (default: %(default)s)",
    )
    parser.add_argument(
        "--link-ttl",
        type=_link_ttl,
        metavar="SECONDS",
        help="links expire this many seconds after creation (default: never)",
    )
    parser.add_argument(
        "--asset",
        type=_asset,
        action="append",
        metavar="CODE[:DECIMALS]",
        help=(
            "a supported asset; repeat for more "
            f"(default: {', '.join(f'{code}:{places}' for code, places in ASSET_DECIMALS.items())})"
        ),
    )
    parser.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every response against openapi.yaml, slower (default: off)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="logging verbosity (default: %(default)s)",
    )
    parser.add_argument(
        "--webhook-retry-schedule",
        type=_schedule,
        default=WEBHOOK_RETRY_SCHEDULE,
        metavar="WAIT,...",
        help=(
            "waits after each failed webhook delivery, in s, m or h, such as 1s,2s,3s,4s,5s for "
            "CI; after the last the event is undelivered (default: PIK's 5m,30m,2h,8h,24h)"
        ),
    )
    parser.add_argument(
        "--db-lock-timeout",
        type=_seconds,
        default=DB_LOCK_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=(
            "longest wait for the database's lock (another process may hold it); then 503 with "
            "Retry-After (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--max-header-size",
        type=_count,
        default=MAX_HEADER_BYTES,
        metavar="BYTES",
        help="largest request line and headers, together; beyond it 431 (default: %(default)s)",
    )
    parser.add_argument(
        "--request-timeout",
        type=_seconds,
        default=REQUEST_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=(
            "time for a request to arrive whole, from its connection's start or the previous "
            "response; then 408 and the connection closes (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--keep-alive-timeout",
        type=_seconds,
        default=KEEP_ALIVE_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="an idle keep-alive connection closes after this long (default: %(default)s)",
    )
    parser.add_argument(
        "--max-connections",
        type=_count,
        default=MAX_CONNECTIONS,
        metavar="N",
        help="connections open at once; one more is answered 503 (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help=(
            "worker processes serving the API, sharing its rate limits; one of them sends "
            "webhooks; --max-connections is per worker (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help=(
            "a proxy whose X-Forwarded-For and X-Forwarded-Proto are believed; repeat for more "
            "(default: none, the headers are ignored)"
        ),
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    return parser


def _api_keys(
    parser: argparse.ArgumentParser, from_args: Sequence[str]
) -> tuple[tuple[str, ...], bool]:
    """The configured keys, and whether the demo key stands in for none."""
    keys = list(from_args)
    for text in os.environ.get(API_KEYS_ENV, "").split(","):
        if text.strip():
            try:
                keys.append(_api_key(text))
            except argparse.ArgumentTypeError as error:
                parser.error(f"${API_KEYS_ENV}: {error}")
    if not keys:
        return (DEMO_API_KEY,), True
    return tuple(dict.fromkeys(keys)), False


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound before start-up so that port 0 resolves to a real port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1" if host == "0.0.0.0" else "[::1]"
    return f"[{host}]" if ":" in host else host


def _banner(settings: SandboxSettings, listen_url: str, demo_key: bool, workers: int = 1) -> str:
    key = settings.api_keys[0] if demo_key else "YOUR_API_KEY"
    asset, decimals = next(iter(settings.supported_assets.items()))
    amount = "75.00" if decimals >= 2 else "75"
    body = json.dumps({"amount": amount, "currency": asset, "description": "Order #1234"})
    curl = (
        f"curl -s -X POST {settings.public_url}{API_BASE_PATH}/payment-links"
        f" -H {shlex.quote('Authorization: Bearer ' + key)}"
        " -H 'Content-Type: application/json'"
        f" -d {shlex.quote(body)}"
    )
    if settings.rate_limit:
        limits = (
            f"on ({settings.creation_limit} creations and {settings.general_limit} other "
            "requests a minute per key)"
        )
    else:
        limits = "off"
    keys = (
        f"demo key {settings.api_keys[0]} (choose your own with --api-key or ${API_KEYS_ENV})"
        if demo_key
        else f"{len(settings.api_keys)} configured (not shown)"
    )
    ttl = f"{settings.link_ttl_seconds:g} s" if settings.link_ttl_seconds else "never"
    lines = [
        f"PIK sandbox listening on {listen_url}",
        f"  API          {settings.public_url}{API_BASE_PATH}",
        f"  Docs         {settings.public_url}{DOCS_PATH}",
        f"  Database     {settings.db_path}",
        f"  API keys     {keys}",
        f"  Rate limits  {limits}",
        f"  Links expire {ttl}",
        f"  Assets       {', '.join(sorted(settings.supported_assets))}",
        *([f"  Workers      {workers} processes"] if workers > 1 else []),
        "Try it:",
        f"  {curl}",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGINT or SIGTERM; returns the exit status."""
    if MISSING_MODULE is not None:
        if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
            print(f"pik-sandbox {package_version()}")
            return 0
        print(missing_extra_hint(MISSING_MODULE), file=sys.stderr)
        return USAGE_ERROR
    parser = build_parser()
    args = parser.parse_args(argv)
    keys, demo_key = _api_keys(parser, args.api_key)
    try:
        sock = _bind(args.host, args.port)
    except OSError as error:
        print(f"pik-sandbox: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return USAGE_ERROR
    port = sock.getsockname()[1]
    listen_url = f"http://{_url_host(args.host)}:{port}"
    try:
        settings = SandboxSettings(
            db_path=args.db,
            api_keys=keys,
            public_url=args.public_url or listen_url,
            rate_limit=args.rate_limit == "on",
            link_ttl_seconds=args.link_ttl,
            supported_assets=dict(args.asset) if args.asset else dict(ASSET_DECIMALS),
            validate_responses=args.validate_responses,
            db_lock_timeout_seconds=args.db_lock_timeout,
            webhook_retry_schedule=args.webhook_retry_schedule,
        )
    except ValueError as error:
        sock.close()
        parser.error(str(error))
    try:
        app = create_app(settings)
    except (ValueError, OSError) as error:
        sock.close()
        print(f"pik-sandbox: {error}", file=sys.stderr)
        return USAGE_ERROR
    except StorageBusy as error:
        sock.close()
        print(f"pik-sandbox: cannot use {args.db}: {error}", file=sys.stderr)
        return USAGE_ERROR
    except (StorageFailed, sqlite3.Error) as error:
        sock.close()
        print(
            f"pik-sandbox: cannot use {args.db} as a SQLite database it can write: {error}",
            file=sys.stderr,
        )
        return USAGE_ERROR
    max_connections = connections_that_fit(args.max_connections)
    if max_connections < args.max_connections:
        print(
            f"pik-sandbox: at most {max_connections} connections at once, not "
            f"{args.max_connections}: this process may open only so many files "
            "(raise `ulimit -n` for more)",
            file=sys.stderr,
        )
    limits = ServerLimits(
        max_header_bytes=args.max_header_size,
        request_timeout=args.request_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        max_connections=max_connections,
    )
    config = uvicorn_config(
        app, limits, log_level=args.log_level, trusted_proxies=tuple(args.trusted_proxy)
    )
    # Every logger's lines, at every level, with keys and control characters taken out.
    logs.configure(args.log_level, keys)
    # From the moment the command says it listens, SIGINT and SIGTERM stop it, whenever they
    # come: noted until the server takes them over.
    hold_stops()
    print(_banner(settings, listen_url, demo_key, args.workers), flush=True)
    status = 0
    try:
        if args.workers == 1:
            _serve(config, sock)
        else:
            # Each worker opens its own connections and threads; none is forked open.
            close_app(app)
            status = run_workers(args.workers, _worker(app, config, sock, args.log_level, keys))
    finally:
        sock.close()
    print("PIK sandbox stopped.", flush=True)
    return status


def _serve(config: uvicorn.Config, sock: socket.socket) -> None:
    """Serve until SIGINT or SIGTERM, one that came before the server began included.

    uvicorn handles both itself while serving: it stops accepting, finishes the requests in
    flight and runs the lifespan shutdown, which closes the database.
    """
    server = uvicorn.Server(config)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, server.handle_exit)
    if stop_requested():
        server.should_exit = True
    server.run(sockets=[sock])


def _worker(
    app: Any, config: uvicorn.Config, sock: socket.socket, log_level: str, keys: Sequence[str]
) -> Callable[[int], None]:
    """What worker process `index` of several runs: worker 0 sends the webhooks, and every
    worker's log lines name it."""
    wake_pipe = WakePipe()

    def serve(index: int) -> None:
        logs.configure(log_level, keys, process=f"worker {index}")
        sandbox_of(app).worker = WorkerRole(delivers_webhooks=index == 0, wake_pipe=wake_pipe)
        _serve(config, sock)

    return serve


if __name__ == "__main__":
    sys.exit(main())
