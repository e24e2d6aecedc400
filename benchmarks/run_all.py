"""Every benchmark in one go: prints the full report and writes it to reports/bench.md.

Absolute figures drift on a shared machine; the ratios, measured side by side in one run, are
what to compare between runs. Progress goes to stderr, the report to stdout. With --smoke, every
benchmark runs in seconds and nothing is written unless --output says where.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Final

from benchmarks import (
    choices,
    client_overhead,
    plan,
    property_tests,
    scale,
    serving,
    startup,
    webhooks,
)
from benchmarks.load import WRK
from benchmarks.processes import PRISM, ROOT
from benchmarks.report import Table

REPORT: Final = ROOT / "reports" / "bench.md"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _os_name() -> str:
    try:
        return f"{platform.freedesktop_os_release()['PRETTY_NAME']}, Linux {platform.release()}"
    except (OSError, KeyError):
        return platform.platform()


def _tool_version(command: Sequence[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (completed.stdout or completed.stderr).strip().splitlines()
    return text[0] if text else "?"


# Why the sandbox serves as it does; "What each serving choice buys" above measures each one.
DESIGN_NOTES: Final = """### The serving design, choice by choice

- **The document drives the routes, without Connexion.** Each path of openapi.yaml is a route on
  Starlette's router; each operation's parameters and body schemas are compiled once at start.
  Connexion did the same work per request through eight ASGI layers: a Connexion app with a
  static handler served 3,082 requests/s here, below the goal on its own. Its duties and what
  replaced them: routing (Starlette's router, the document's paths), the bearer key (one header
  parse and a dictionary), strict query parameters and types (ParameterRule, the document's
  schemas), media types and bodies (the operation's content types, jsonschema-rs), response
  checks (`--validate-responses`, the same compiled checks), Swagger UI (its own files, served
  offline). tests/sandbox/test_bad_input.py, the contract tests (schemathesis, all phases and
  checks) and the spec rules tests prove them, unchanged.
- **Compiled schema checks, with jsonschema's words.** jsonschema-rs answers whether a value is
  valid; only a failure is described by the `jsonschema` library, so every message stayed as it
  was. Formats of requests are checked by jsonschema's own checkers in both, so the two agree.
- **orjson** serialises the answers; a list page's links go in as prepared JSON.
- **httptools under the sandbox's own limits.** uvicorn's h11 protocol capped a request's head
  but held a bare app to about a third of httptools' rate; the sandbox counts a head's bytes
  itself, and keeps its deadlines and connection cap.
- **The store answers on the event loop**, on a connection that never waits for SQLite's lock;
  a locked database is tried again on the loop for about 15 ms, and only a lock held longer sends
  a call to the store's threads, which wait up to `--db-lock-timeout`. A thread hand-over costs
  far more than the query itself. One thread checkpoints the WAL, off the loop.
- **List pages from stored tails.** Each link keeps its API form after its id and url, written
  with every change; a page reads two values per link instead of seven. A tail whose status time
  has changed (expired by time) is made afresh from the columns.
- **Deep pages seek.** Links have dense per-account positions, so the page at any offset starts
  at a known position; filtered pages add up per-block counts to find where they start.
- **Two worker processes.** The sandbox runs `--workers 2`, one per core, as the ceiling does;
  Prism runs as one Node process, the only way it runs. The workers share the listening socket,
  the rate limits (in shared memory, under one lock) and the SQLite file; worker 0 alone sends
  webhooks, woken through a pipe by the others. Reads scale with the second process. Writes
  take turns on a process-shared lock before SQLite's: a write that finds another under way
  sleeps until it commits (2 ms at most) instead of being refused by SQLite and polling, and a
  link is built before its transaction, which holds the lock for the SQL alone. The `--workers
  1` row shows one process.
"""


def machine_lines() -> list[str]:
    """The machine and the versions of what serves and loads."""
    wrk = _tool_version([WRK, "--version"]).split(" [")[0]
    prism = _tool_version([str(PRISM), "--version"])
    return [
        f"Machine: {_cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"{_os_name()}.",
        f"Tools: {wrk}; Prism {prism} on Node {_tool_version(['node', '--version'])}; "
        f"uvicorn {version('uvicorn')}, uvloop {version('uvloop')}, httptools "
        f"{version('httptools')}; Starlette {version('starlette')}, jsonschema-rs "
        f"{version('jsonschema-rs')}, orjson {version('orjson')}; schemathesis "
        f"{version('schemathesis')}.",
    ]


def _step(name: str, run: Callable[[], list[Table]]) -> tuple[list[Table], float]:
    print(f"bench: {name}…", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    print(f"bench: {name} took {seconds:.0f} s", file=sys.stderr, flush=True)
    return result, seconds


def main(argv: Sequence[str] | None = None) -> None:
    """Run every benchmark and write the report."""
    parser = plan.parser(__doc__)
    parser.add_argument(
        "--output", type=Path, help=f"the report (default: {REPORT}; none in smoke)"
    )
    args = parser.parse_args(argv)
    run = plan.from_arguments(args)
    output = args.output or (None if run.smoke else REPORT)
    # schemathesis finds schemathesis.toml in the working directory.
    os.chdir(ROOT)
    started = time.perf_counter()
    sections: list[Table] = []
    timings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pik-bench-") as tmp:
        workdir = Path(tmp)
        steps: list[tuple[str, Callable[[], list[Table]]]] = [
            (
                "client overhead",
                lambda: client_overhead.tables(
                    client_overhead.measure(run.client_rounds, run.client_repeat)
                ),
            ),
            ("sandbox serving", lambda: serving.tables(serving.measure(run.load, workdir))),
            (
                "serving choices",
                lambda: [choices.table(choices.measure(run.load, workdir, smoke=run.smoke))],
            ),
            (
                "startup",
                lambda: [startup.table(startup.measure(1 if run.smoke else 5, workdir))],
            ),
            (
                "scale",
                lambda: scale.tables(scale.measure(run.load, run.scale_links, workdir)),
            ),
            (
                "webhooks",
                lambda: webhooks.tables(
                    webhooks.measure(run.load, workdir, payments=10 if run.smoke else 200)
                ),
            ),
            (
                "property tests",
                lambda: property_tests.tables(
                    property_tests.measure(workdir, run.property_examples), run.property_examples
                ),
            ),
        ]
        for name, step in steps:
            tables, seconds = _step(name, step)
            sections += tables
            timings.append(f"{name} {seconds:.0f} s")
    total = time.perf_counter() - started
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = "Benchmarks (smoke run: the figures mean nothing)" if run.smoke else "Benchmarks"
    lines = [f"# {title}", "", f"Run {stamp}.", ""]
    lines += [line + "  " for line in machine_lines()]
    lines += [f"Took {total:.0f} s ({', '.join(timings)}).", ""]
    report = "\n".join(lines) + "\n" + "\n".join(table.markdown() for table in sections)
    report += "\n" + DESIGN_NOTES
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report)
    print(report, end="")


if __name__ == "__main__":
    main()
