"""The sandbox at 1,000,000 links in one account against the same at 1,000.

Seeds both databases straight into the store's schema (timing the 1M seeding), then loads get
by id, the first list page with and without a status filter, and a deep page (offset near the
end) on both, taking turns. Also: the sandbox's resident memory, the same list pages at 1M
without the store's list indexes, and where a list request's time goes inside the store.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from benchmarks import serve_sandbox
from benchmarks.load import (
    REQUEST_TIMEOUT,
    LoadResult,
    LoadSettings,
    ensure_wrk,
    measure_load,
    write_script,
)
from benchmarks.processes import ServerProcess, free_port
from benchmarks.report import Table, milliseconds, per_second, ratio
from benchmarks.seeding import SeedResult, seed_links
from benchmarks.serving import sandbox_cli
from pik_sandbox.store import PaymentLinkStore

SMALL: Final = 1_000
LARGE: Final = 1_000_000
PAGE: Final = 100
GOAL_SLOWDOWN: Final = 2.0
FILTER: Final = "active"

GET: Final = "get by id"
FIRST: Final = "first list page"
FILTERED: Final = f"first list page, status={FILTER}"
DEEP: Final = "deep page (last 100)"
REQUESTS: Final = (GET, FIRST, FILTERED, DEEP)
# What the 2x goal covers; the deep page is reported, not judged.
JUDGED: Final = (GET, FIRST, FILTERED)


@dataclass
class Scale:
    """One database size: its seeding, its server, and the best result per request."""

    links: int
    seed: SeedResult
    server: ServerProcess
    results: dict[str, LoadResult] = field(default_factory=dict)
    rss_bytes: int = 0


@dataclass(frozen=True)
class StoreTimings:
    """Milliseconds inside the store at 1M, without HTTP: a whole list call and its COUNT."""

    list_first_ms: float
    count_all_ms: float
    page_only_ms: float
    list_filtered_ms: float
    list_deep_ms: float


@dataclass(frozen=True)
class ScaleResults:
    """Everything the scale tables show."""

    small: Scale
    large: Scale
    without_indexes: dict[str, LoadResult]
    store: StoreTimings
    db_bytes: int
    settings: LoadSettings
    rounds: int


def _paths(links: int, ids: Sequence[str]) -> dict[str, list[str]]:
    base = "/v1/payment-links"
    return {
        GET: [f"{base}/{link_id}" for link_id in ids],
        FIRST: [f"{base}?limit={PAGE}"],
        FILTERED: [f"{base}?limit={PAGE}&status={FILTER}"],
        DEEP: [f"{base}?limit={PAGE}&offset={links - PAGE}"],
    }


def _best_ms(call: object, repeat: int = 5) -> float:
    assert callable(call)
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return min(samples) * 1000


def store_timings(db: Path, account: str, links: int) -> StoreTimings:
    """Time the store's list calls in-process, and the COUNT(*) that their `total` avoids."""
    store = PaymentLinkStore(db)
    counter = sqlite3.connect(db)
    try:
        return StoreTimings(
            list_first_ms=_best_ms(
                lambda: store.list_links(account=account, status=None, limit=PAGE, offset=0)
            ),
            # The same statement the store runs for `total` when no status is given.
            count_all_ms=_best_ms(
                lambda: counter.execute(
                    "SELECT COUNT(*) FROM payment_links WHERE account = ?", (account,)
                ).fetchone()
            ),
            # The page alone, as the store selects it.
            page_only_ms=_best_ms(
                lambda: counter.execute(
                    "SELECT id, amount, currency, description, status, created_at, paid_at"
                    " FROM payment_links WHERE account = ? ORDER BY seq DESC LIMIT ?",
                    (account, PAGE),
                ).fetchall()
            ),
            list_filtered_ms=_best_ms(
                lambda: store.list_links(account=account, status=FILTER, limit=PAGE, offset=0)
            ),
            list_deep_ms=_best_ms(
                lambda: store.list_links(
                    account=account, status=None, limit=PAGE, offset=links - PAGE
                )
            ),
        )
    finally:
        counter.close()
        store.close()


def measure(settings: LoadSettings, rounds: int, workdir: Path) -> ScaleResults:
    """Seed, load both sizes in turns, then the large one without list indexes."""
    ensure_wrk()
    key = "sk_bench_scale"
    scales: list[Scale] = []
    for links in (SMALL, LARGE):
        db = workdir / f"scale-{links}.sqlite3"
        seed = seed_links(db, key, links)
        server = sandbox_cli(f"scale-{links}", db, key, workdir, "warning")
        scales.append(Scale(links=links, seed=seed, server=server))
    small, large = scales
    large_db = workdir / f"scale-{LARGE}.sqlite3"
    db_bytes = large_db.stat().st_size
    scripts = {
        scale.links: {
            name: write_script(
                workdir / f"scale-{scale.links}-{index}.lua",
                paths=paths,
                headers={"Authorization": f"Bearer {key}"},
            )
            for index, (name, paths) in enumerate(
                _paths(scale.links, scale.seed.sample_ids).items()
            )
        }
        for scale in scales
    }
    try:
        for scale in scales:
            scale.server.start()
        for scale in scales:
            scale.server.wait_ready()
        for round_index in range(rounds):
            for request in REQUESTS:
                for scale in scales:
                    run = LoadSettings(
                        duration_s=settings.duration_s,
                        warmup_s=settings.warmup_s if round_index == 0 else 0,
                        threads=settings.threads,
                        connections=settings.connections,
                    )
                    result = measure_load(scale.server.base_url, scripts[scale.links][request], run)
                    best = scale.results.get(request)
                    if best is None or result.requests_per_s > best.requests_per_s:
                        scale.results[request] = result
        for scale in scales:
            scale.rss_bytes = scale.server.rss_bytes()
    finally:
        for scale in scales:
            scale.server.stop()
    store = store_timings(large_db, large.seed.account, LARGE)
    without_indexes = _without_list_indexes(large_db, key, scripts[LARGE], settings, workdir)
    return ScaleResults(
        small=small,
        large=large,
        without_indexes=without_indexes,
        store=store,
        db_bytes=db_bytes,
        settings=settings,
        rounds=rounds,
    )


def _without_list_indexes(
    db: Path, key: str, scripts: dict[str, Path], settings: LoadSettings, workdir: Path
) -> dict[str, LoadResult]:
    # On a copy: the store recreates missing indexes whenever it opens a file, so the launcher
    # drops them only once the sandbox has started.
    copy = workdir / "scale-no-list-indexes.sqlite3"
    shutil.copyfile(db, copy)
    port = free_port()
    options = serve_sandbox.SandboxOptions(
        port=port, db=str(copy), api_key=key, drop_list_indexes=True
    )
    server = ServerProcess(
        "scale-no-list-indexes",
        serve_sandbox.command_line(options),
        port=port,
        ready_path="/openapi.yaml",
        log_dir=workdir,
    )
    results = {}
    with server:
        for request in (FIRST, FILTERED):
            results[request] = measure_load(server.base_url, scripts[request], settings)
    copy.unlink()
    return results


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def tables(results: ScaleResults) -> list[Table]:
    """The 1k-against-1M comparison, then memory, seeding and the store's own timings."""
    small, large = results.small, results.large
    table = Table(
        f"Scale: {LARGE:,} links in one account against {SMALL:,}",
        [
            "request",
            f"{SMALL:,}: req/s",
            "p50 ms",
            "p99 ms",
            f"{LARGE:,}: req/s",
            "p50 ms",
            "p99 ms",
            "slowdown",
            f"≤ {GOAL_SLOWDOWN:.0f}x?",
        ],
    )
    for request in REQUESTS:
        a, b = small.results[request], large.results[request]
        slowdown = a.requests_per_s / b.requests_per_s if b.requests_per_s else float("inf")
        if request in JUDGED:
            verdict = "yes" if slowdown <= GOAL_SLOWDOWN else "NO"
        else:
            verdict = "(reported)"
        table.add(
            request,
            per_second(a.requests_per_s),
            milliseconds(a.p50_ms),
            milliseconds(a.p99_ms),
            per_second(b.requests_per_s),
            milliseconds(b.p50_ms),
            milliseconds(b.p99_ms),
            f"{slowdown:.2f}x",
            verdict,
        )
    for request, result in results.without_indexes.items():
        with_indexes = large.results[request]
        completed = result.requests
        table.add(
            f"{request}, {LARGE:,} without the store's list indexes",
            "",
            "",
            "",
            per_second(result.requests_per_s)
            if completed > 0
            else f"0 (none answered within {REQUEST_TIMEOUT})",
            milliseconds(result.p50_ms) if completed > 0 else "-",
            milliseconds(result.p99_ms) if completed > 0 else "-",
            ratio(with_indexes.requests_per_s, result.requests_per_s),
            "(indexes buy)",
        )
    failed = sum(r.failed for s in (small, large) for r in s.results.values())
    store = results.store
    load = results.settings
    table.notes += [
        f"Slowdown = requests/s at {SMALL:,} ÷ requests/s at {LARGE:,}. "
        f"wrk -t{load.threads} -c{load.connections}, {load.duration_s} s after a "
        f"{load.warmup_s} s warm-up, best of {results.rounds} interleaved rounds"
        + (f"; {failed} requests failed." if failed else "; no request failed."),
        f"Seeding {LARGE:,} links: {large.seed.seconds:.1f} s "
        f"({LARGE / large.seed.seconds:,.0f} links/s), database {_mib(results.db_bytes)}.",
        f"Sandbox resident memory (VmRSS) after the loads: {_mib(small.rss_bytes)} at "
        f"{SMALL:,} links, {_mib(large.rss_bytes)} at {LARGE:,}.",
        f"Inside the store at {LARGE:,} (in-process, no HTTP): first page "
        f"{store.list_first_ms:.1f} ms (its `total` read from the counts the store keeps; a "
        f"COUNT(*) over the account would take {store.count_all_ms:.1f} ms), the page's own "
        f"SELECT {store.page_only_ms:.2f} ms; "
        f"status={FILTER} {store.list_filtered_ms:.1f} ms; "
        f"last page {store.list_deep_ms:.1f} ms.",
    ]
    return [table]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the scale benchmark alone and print its table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pik-bench-scale-") as workdir:
        results = measure(LoadSettings(duration_s=args.duration), args.rounds, Path(workdir))
    for table in tables(results):
        print(table.markdown())


if __name__ == "__main__":
    main()
