"""`pik-sandbox`: run a local PIK sandbox from the command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import socket
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import uvicorn

from pik_sandbox.app import create_app
from pik_sandbox.paths import API_BASE_PATH, DOCS_PATH
from pik_sandbox.settings import (
    ASSET_DECIMALS,
    DEFAULT_DB_PATH,
    DEMO_API_KEY,
    SandboxSettings,
)

API_KEYS_ENV = "PIK_SANDBOX_API_KEYS"
logger = logging.getLogger("pik_sandbox")


def _asset(text: str) -> tuple[str, int]:
    """CODE[:DECIMALS]; a known code may leave its decimals out. SandboxSettings checks both."""
    code, _, decimals = text.partition(":")
    code = code.strip().upper()
    if not decimals:
        if code not in ASSET_DECIMALS:
            raise argparse.ArgumentTypeError(
                f"{code!r} has no known number of decimals; write it as {code or 'CODE'}:DECIMALS"
            )
        return code, ASSET_DECIMALS[code]
    try:
        return code, int(decimals)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{decimals!r} is not a number of decimals") from None


def build_parser() -> argparse.ArgumentParser:
    """The command line parser of `pik-sandbox`."""
    parser = argparse.ArgumentParser(
        prog="pik-sandbox",
        description="A local, stateful stand-in for PIK's payment-links sandbox.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on (0: any free port)"
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=DEFAULT_DB_PATH,
        help=f"SQLite database file (default: {DEFAULT_DB_PATH})",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help=f"an API key (one account); repeat for more (also ${API_KEYS_ENV}, comma-separated)",
    )
    parser.add_argument(
        "--public-url",
        help="base URL of checkout links (default: http://HOST:PORT)",
    )
    parser.add_argument(
        "--rate-limit",
        choices=["on", "off"],
        default="on",
        help="PIK's per-key rate limits (default: on)",
    )
    parser.add_argument(
        "--link-ttl",
        type=float,
        metavar="SECONDS",
        help="links expire this many seconds after creation (default: never)",
    )
    parser.add_argument(
        "--asset",
        type=_asset,
        action="append",
        metavar="CODE[:DECIMALS]",
        help="a supported asset; repeat for more (default: USDT, USDC, BTC, ETH)",
    )
    parser.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every response against openapi.yaml (slower)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="logging verbosity (default: info)",
    )
    return parser


def _api_keys(from_args: Sequence[str]) -> tuple[tuple[str, ...], bool]:
    """The configured keys, and whether the demo key stands in for none."""
    keys = [key.strip() for key in from_args if key.strip()]
    keys += [key.strip() for key in os.environ.get(API_KEYS_ENV, "").split(",") if key.strip()]
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


def _banner(settings: SandboxSettings, listen_url: str, demo_key: bool) -> str:
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
        "Try it:",
        f"  {curl}",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)


class _Stopped(Exception):
    """SIGTERM, once uvicorn has shut down."""


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise _Stopped


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGINT or SIGTERM; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    keys, demo_key = _api_keys(args.api_key)
    try:
        sock = _bind(args.host, args.port)
    except OSError as error:
        print(f"pik-sandbox: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
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
        )
        app = create_app(settings)
    except (ValueError, OSError) as error:
        sock.close()
        print(f"pik-sandbox: {error}", file=sys.stderr)
        return 2
    except sqlite3.Error as error:
        sock.close()
        print(f"pik-sandbox: cannot use {args.db} as a SQLite database: {error}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        app,
        # "auto" picks uvloop and httptools when they are installed, asyncio and h11 otherwise.
        loop="auto",
        http="auto",
        lifespan="on",
        # The sandbox writes its own access log, which never contains API keys.
        access_log=False,
        log_config=None,
        log_level=args.log_level,
        server_header=False,
    )
    server = uvicorn.Server(config)
    print(_banner(settings, listen_url, demo_key), flush=True)
    # While serving, uvicorn handles SIGINT and SIGTERM itself: it stops accepting, finishes the
    # requests in flight and runs the lifespan shutdown, which closes the database. Afterwards
    # it raises the signal again for the previous handler; these handlers turn that into a
    # quiet exit instead of a traceback (SIGINT) or death by signal (SIGTERM).
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.run(sockets=[sock])
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        sock.close()
    print("PIK sandbox stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
