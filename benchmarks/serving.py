"""Sandbox throughput and latency under wrk, against its ceiling and its peer.

Get by id, a list page of 100 and create, against (a) a bare Starlette app serving the sandbox's
own response bytes from memory, the ceiling for a Python server here, (b) Stoplight Prism's mock
server reading the same openapi.yaml, and (c) the sandbox as `python -m pik_sandbox --workers 2`
runs it, with its API key check, request validation and SQLite doing their work (rate limits
off, 1,000 links in the account); then the sandbox with one of its own options changed, one
process among them. The ceiling runs as many worker processes as the sandbox.

Every server runs at once, idle while another is loaded, and the loads take turns in rounds;
each figure is the best round, the one least disturbed by whatever else the machine did.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from benchmarks import plan
from benchmarks.load import Load, LoadResult, LoadSettings, best_of_rounds, write_script
from benchmarks.processes import all_running, ceiling_server, prism_server, start_sandbox
from benchmarks.report import Table, load_cells, per_second, ratio
from benchmarks.seeding import seed_links
from pik_sandbox.testing import SandboxProcess

GET: Final = "get by id"
LIST: Final = "list page of 100"
CREATE: Final = "create"
REQUESTS: Final = (GET, LIST, CREATE)  # Creations last in each round: they add links.
LINKS: Final = 1000
PAGE_QUERY: Final = "?limit=100"
CREATE_BODY: Final = '{"amount": "75.00", "currency": "USDT", "description": "Order #1234"}'
GOAL_VS_PRISM: Final = 1.5

# The sandbox's processes, and the ceiling's: as many as the machine has cores.
WORKERS: Final = 2
CEILING: Final = f"ceiling: bare Starlette, bytes from memory, {WORKERS} workers"
PRISM: Final = "Prism mock server"
SANDBOX: Final = f"sandbox --workers {WORKERS} --log-level warning (as Prism's warn)"
SANDBOX_OPTIONS: Final = ("--workers", str(WORKERS))
# The sandbox with one of its own options changed: what each costs or buys.
VARIANTS: Final = {
    "sandbox --workers 1 (one process, as Prism)": ("--workers", "1"),
    f"sandbox --workers {WORKERS} --validate-responses": (
        *SANDBOX_OPTIONS,
        "--validate-responses",
    ),
    f"sandbox --workers {WORKERS} --log-level info (the command's default)": (
        *SANDBOX_OPTIONS,
        "--log-level",
        "info",
    ),
}


@dataclass(frozen=True)
class ServingResults:
    """Best-round figures per (server, request)."""

    figures: dict[tuple[str, str], LoadResult]
    load: LoadSettings


def _request(method: str, url: str, key: str, body: str | None = None) -> str:
    request = urllib.request.Request(
        url,
        method=method,
        data=body.encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def capture_bodies(base_url: str, key: str, link_id: str) -> dict[str, str]:
    """The sandbox's own response bodies for the three loaded requests, for the ceiling."""
    base = f"{base_url}/payment-links"
    bodies = {
        "link": _request("GET", f"{base}/{link_id}", key),
        "page": _request("GET", base + PAGE_QUERY, key),
        "created": _request("POST", base, key, CREATE_BODY),
    }
    if len(json.loads(bodies["page"])["data"]) != 100:
        raise RuntimeError("the sandbox's list page does not hold 100 links")
    return bodies


def _scripts(workdir: Path, prefix: str, key: str, ids: Sequence[str]) -> dict[str, Path]:
    headers = {"Authorization": f"Bearer {key}"}
    tag = prefix.strip("/") or "root"
    base = f"{prefix}/payment-links"
    return {
        GET: write_script(
            workdir / f"get-{tag}.lua", paths=[f"{base}/{i}" for i in ids], headers=headers
        ),
        LIST: write_script(workdir / f"list-{tag}.lua", paths=[base + PAGE_QUERY], headers=headers),
        CREATE: write_script(
            workdir / f"create-{tag}.lua",
            paths=[base],
            headers={**headers, "Content-Type": "application/json"},
            method="POST",
            body=CREATE_BODY,
        ),
    }


def measure(load: LoadSettings, workdir: Path) -> ServingResults:
    """Start every server, load each in turn, keep each one's best round."""
    key = "sk_bench_" + secrets.token_hex(8)
    with ExitStack() as stack:
        sandboxes: dict[str, SandboxProcess] = {}
        ids: list[str] = []
        for index, (label, options) in enumerate([(SANDBOX, SANDBOX_OPTIONS), *VARIANTS.items()]):
            # A database each: one sandbox's creations must not change what another lists.
            db = workdir / f"serving-{index}.sqlite3"
            ids = seed_links(db, key, LINKS).sample_ids
            sandboxes[label] = stack.enter_context(start_sandbox(db, key, workdir, *options))
        bodies = workdir / "bodies.json"
        bodies.write_text(json.dumps(capture_bodies(sandboxes[SANDBOX].base_url, key, ids[0])))
        ceiling, prism = ceiling_server(bodies, workdir, WORKERS), prism_server(workdir)
        stack.enter_context(all_running([ceiling, prism]))
        # Prism serves the document's paths as written, without the /v1 of the servers' URL.
        sites = {CEILING: (ceiling.base_url, "/v1"), PRISM: (prism.base_url, "")}
        sites |= {label: (sandbox.site_url, "/v1") for label, sandbox in sandboxes.items()}
        scripts = {prefix: _scripts(workdir, prefix, key, ids) for prefix in ("/v1", "")}
        loads = [
            Load(label, request, url, scripts[prefix][request])
            for request in REQUESTS
            for label, (url, prefix) in sites.items()
        ]
        return ServingResults(best_of_rounds(loads, load), load)


def tables(results: ServingResults) -> list[Table]:
    """Every server on every request, against Prism and the ceiling."""
    figures = results.figures
    table = Table(
        "Sandbox throughput and latency (wrk)",
        [
            "request",
            "server",
            "requests/s",
            "p50 ms",
            "p99 ms",
            "slowest round",
            "vs Prism",
            "vs ceiling",
        ],
        numeric_from=2,
    )
    for request in REQUESTS:
        prism = figures[PRISM, request].requests_per_s
        ceiling = figures[CEILING, request].requests_per_s
        for server in (CEILING, PRISM, SANDBOX, *VARIANTS):
            result = figures[server, request]
            table.add(
                request,
                server + (f" ({result.failed} failed)" if result.failed else ""),
                *load_cells(result),
                per_second(result.slowest_round_per_s),
                ratio(result.requests_per_s, prism),
                ratio(result.requests_per_s, ceiling),
            )
    table.notes += [
        f"Goal (issue 15): the sandbox at least {GOAL_VS_PRISM}x Prism on each request.",
        f"Cores: the machine's 2, shared by the server loaded and wrk (one thread); the "
        f"sandbox and the ceiling run {WORKERS} worker processes (the sandbox's share one "
        "socket, one set of rate limits and one SQLite file), Prism one Node process, the only "
        "way it runs; the one-process sandbox is the row `--workers 1`. Each server is loaded "
        "alone while the others idle.",
        f"{results.load.describe()}; {LINKS:,} links in the account; get by id cycles through "
        f"{LINKS:,} ids. Prism answers its list with the document's one-link example, not 100 "
        "links, and remembers nothing it is sent.",
    ]
    return [table]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the serving benchmark alone and print its table."""
    run = plan.parse(__doc__, argv)
    with tempfile.TemporaryDirectory(prefix="pik-bench-serving-") as workdir:
        results = measure(run.load, Path(workdir))
    for table in tables(results):
        print(table.markdown())


if __name__ == "__main__":
    main()
