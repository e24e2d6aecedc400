"""The sandbox with 1,000,000 links in one account against the same with 1,000.

Seeds both databases through the store (timing the large one), then loads get by id, the first
list page with and without a status filter, and the last page on both, taking turns; and reads
the sandbox's resident memory after the loads.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from benchmarks import plan
from benchmarks.load import Load, LoadResult, LoadSettings, best_of_rounds, write_script
from benchmarks.processes import rss_bytes, start_sandbox
from benchmarks.report import Table, load_cells
from benchmarks.seeding import SeedResult, seed_links

PAGE: Final = 100
FILTER: Final = "active"
GOAL_LAST_PAGE: Final = 10.0

GET: Final = "get by id"
FIRST: Final = "first list page"
FILTERED: Final = f"first list page, status={FILTER}"
LAST: Final = "last list page"
REQUESTS: Final = (GET, FIRST, FILTERED, LAST)


@dataclass(frozen=True)
class Size:
    """One account size: its seeding and the sandbox's memory after the loads."""

    seed: SeedResult
    rss_bytes: int
    db_bytes: int


@dataclass(frozen=True)
class ScaleResults:
    """Both sizes and the best round of every (size, request)."""

    small: Size
    large: Size
    figures: dict[tuple[str, str], LoadResult]
    load: LoadSettings


def _paths(links: int, ids: Sequence[str]) -> dict[str, list[str]]:
    base = "/v1/payment-links"
    return {
        GET: [f"{base}/{link_id}" for link_id in ids],
        FIRST: [f"{base}?limit={PAGE}"],
        FILTERED: [f"{base}?limit={PAGE}&status={FILTER}"],
        LAST: [f"{base}?limit={PAGE}&offset={links - PAGE}"],
    }


def measure(load: LoadSettings, sizes: tuple[int, int], workdir: Path) -> ScaleResults:
    """Seed both sizes, then load them in turns."""
    key = "sk_bench_scale"
    with ExitStack() as stack:
        seeds: list[SeedResult] = []
        pids: list[int] = []
        loads: list[Load] = []
        for links in sizes:
            db = workdir / f"scale-{links}.sqlite3"
            seeds.append(seed_links(db, key, links))
            sandbox = stack.enter_context(start_sandbox(db, key, workdir))
            pids.append(sandbox.pid)
            for index, (request, paths) in enumerate(_paths(links, seeds[-1].sample_ids).items()):
                script = workdir / f"scale-{links}-{index}.lua"
                write_script(script, paths=paths, headers={"Authorization": f"Bearer {key}"})
                loads.append(Load(f"{links:,}", request, sandbox.site_url, script))
        # Turns by request, so that both sizes of one request meet the same moment of the machine.
        loads.sort(key=lambda each: REQUESTS.index(each.request))
        figures = best_of_rounds(loads, load)
        small, large = (
            Size(seed, rss_bytes(pid), (workdir / f"scale-{seed.links}.sqlite3").stat().st_size)
            for seed, pid in zip(seeds, pids, strict=True)
        )
    return ScaleResults(small, large, figures, load)


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def tables(results: ScaleResults) -> list[Table]:
    """The small account against the large one, request by request."""
    small, large = results.small.seed.links, results.large.seed.links
    table = Table(
        f"Scale: {large:,} links in one account against {small:,}",
        ["request"]
        + [f"{n:,}: {column}" for n in (small, large) for column in ("req/s", "p50 ms", "p99 ms")]
        + ["slowdown"],
    )
    for request in REQUESTS:
        a, b = results.figures[f"{small:,}", request], results.figures[f"{large:,}", request]
        failed = a.failed + b.failed
        table.add(
            request + (f" ({failed} failed)" if failed else ""),
            *load_cells(a),
            *load_cells(b),
            f"{a.requests_per_s / b.requests_per_s:.2f}x" if b.requests_per_s else "-",
        )
    first = results.figures[f"{large:,}", FIRST].requests_per_s
    last = results.figures[f"{large:,}", LAST].requests_per_s
    seed = results.large.seed
    table.notes += [
        f"Slowdown = requests/s at {small:,} ÷ requests/s at {large:,}; {results.load.describe()}.",
        f"Last page at {large:,}: the first page's requests/s ÷ the last page's = "
        f"{first / last:.2f}x (goal, issue 15: within {GOAL_LAST_PAGE:.0f}x).",
        f"Seeding {large:,} links through PaymentLinkStore.insert_many: {seed.seconds:.1f} s "
        f"({large / seed.seconds:,.0f} links/s), database {_mib(results.large.db_bytes)}.",
        f"Sandbox resident memory (VmRSS) after the loads: {_mib(results.small.rss_bytes)} at "
        f"{small:,} links, {_mib(results.large.rss_bytes)} at {large:,}.",
    ]
    return [table]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the scale benchmark alone and print its table."""
    run = plan.parse(__doc__, argv)
    with tempfile.TemporaryDirectory(prefix="pik-bench-scale-") as workdir:
        results = measure(run.load, run.scale_links, Path(workdir))
    for table in tables(results):
        print(table.markdown())


if __name__ == "__main__":
    main()
