"""The sandbox served with a chosen stack, to show what each serving choice buys.

`python -m pik_sandbox` picks uvloop and httptools when installed, runs one process and checks no
responses unless asked; this launcher builds the same app with `create_app` and switches each
choice on its own: event loop and HTTP parser, response validation, the access log, the number
of worker processes, the store's list indexes, and (as the sandbox ran before, not a setting it
has) handlers called in a worker thread instead of on the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import uvicorn

from pik_sandbox import handlers
from pik_sandbox.app import create_app
from pik_sandbox.settings import SandboxSettings

# The indexes PaymentLinkStore creates for its list queries (the id index belongs to the
# table's UNIQUE constraint and cannot be dropped).
LIST_INDEXES: Final = ("payment_links_account_seq", "payment_links_account_status_seq")
# Worker processes rebuild the app from this variable: uvicorn starts them from an import string.
OPTIONS_ENV: Final = "PIK_BENCH_SANDBOX_OPTIONS"


@dataclass(frozen=True)
class SandboxOptions:
    """Everything that defines one sandbox variant."""

    port: int
    db: str
    api_key: str
    loop: str = "uvloop"
    http: str = "httptools"
    workers: int = 1
    validate_responses: bool = False
    access_log: bool = False
    drop_list_indexes: bool = False
    handlers_in_threads: bool = False


def drop_list_indexes(db_path: Path | str) -> None:
    """Drop the store's list indexes; open connections notice the schema change."""
    connection = sqlite3.connect(db_path, isolation_level=None)
    try:
        for name in LIST_INDEXES:
            connection.execute(f"DROP INDEX IF EXISTS {name}")
    finally:
        connection.close()


def _in_thread(coroutine_function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(coroutine_function)  # Connexion reads the parameters through __wrapped__.
    def call_in_thread(*args: Any, **kwargs: Any) -> Any:
        # The handlers await nothing: one step runs a call to its end.
        coroutine = coroutine_function(*args, **kwargs)
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value
        coroutine.close()
        raise RuntimeError(f"{coroutine_function.__name__} awaited something")

    return call_in_thread


def run_handlers_in_threads() -> None:
    """Make every operation handler a plain function again, which Connexion sends to a worker
    thread for each call, as the sandbox did before its handlers became coroutines."""
    for name, function in list(vars(handlers).items()):
        if (
            inspect.isfunction(function)
            and function.__module__ == handlers.__name__
            and not name.startswith("_")
            and asyncio.iscoroutinefunction(function)
        ):
            setattr(handlers, name, _in_thread(function))


def build_app(options: SandboxOptions) -> Any:
    """The sandbox ASGI app for `options` (once per worker process)."""
    if options.handlers_in_threads:
        run_handlers_in_threads()
    if options.access_log:
        # What `pik-sandbox` does at its default --log-level info: a line per request.
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
    app = create_app(
        SandboxSettings(
            db_path=Path(options.db),
            api_keys=(options.api_key,),
            public_url=f"http://127.0.0.1:{options.port}",
            rate_limit=False,
            validate_responses=options.validate_responses,
        )
    )
    if options.drop_list_indexes:
        drop_list_indexes(options.db)
    return app


def app_from_environment() -> Any:
    """The app factory uvicorn's worker processes call."""
    return build_app(SandboxOptions(**json.loads(os.environ[OPTIONS_ENV])))


def serve(options: SandboxOptions) -> None:
    """Serve the variant on 127.0.0.1 until stopped."""
    common: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": options.port,
        "loop": options.loop,
        "http": options.http,
        "lifespan": "on",
        "access_log": False,
        "log_config": None,
        "log_level": "info" if options.access_log else "warning",
        "server_header": False,
    }
    if options.workers > 1:
        os.environ[OPTIONS_ENV] = json.dumps(asdict(options))
        uvicorn.run(
            "benchmarks.serve_sandbox:app_from_environment",
            factory=True,
            workers=options.workers,
            **common,
        )
    else:
        uvicorn.run(build_app(options), **common)


def command_line(options: SandboxOptions) -> list[str]:
    """The command that runs this launcher with `options`."""
    line = [sys.executable, "-m", __name__]
    for name, value in asdict(options).items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            line.append(flag)
        elif value is not False:
            line += [flag, str(value)]
    return line


def main() -> None:
    """Parse the options written by `command_line` and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="uvloop")
    parser.add_argument("--http", choices=["h11", "httptools"], default="httptools")
    parser.add_argument("--workers", type=int, default=1)
    for flag in ("validate-responses", "access-log", "drop-list-indexes", "handlers-in-threads"):
        parser.add_argument(f"--{flag}", action="store_true")
    serve(SandboxOptions(**vars(parser.parse_args())))


if __name__ == "__main__":
    main()
