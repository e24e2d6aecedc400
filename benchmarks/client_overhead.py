"""What the generated client costs over raw httpx plus json.loads, for the same request over one
canned in-memory transport (no server, no network): one link, and a page of 100 links."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from benchmarks import plan
from benchmarks.report import Table
from pik_generated_client import AuthenticatedClient, Pik
from pik_generated_client.api.payment_links import get_payment_link, list_payment_links

BASE_URL = "https://api-sandbox.pik.global/v1"
TOKEN = "sk_bench_0123456789"
GOALS = {"one link": 1.10, "page of 100": 1.30}
# What the resources (pik.payment_links.get/list) may cost over the low-level functions.
RESOURCE_GOAL = 1.05


def canned_link(index: int) -> dict[str, Any]:
    """A realistic link as the API returns it."""
    return {
        "id": f"pl_{index:024d}",
        "url": f"https://pay.pik.global/pl_{index:024d}",
        "amount": "75.00",
        "currency": "USDT",
        "description": f"Order #{index}",
        "status": "paid" if index % 3 else "active",
        "created_at": "2024-01-15T10:30:00Z",
        **({"paid_at": "2024-01-15T10:45:00Z"} if index % 3 else {}),
    }


def canned_transport() -> httpx.MockTransport:
    """Answers a get by id with one link and a list with a full page of 100."""
    one = json.dumps(canned_link(1)).encode()
    page = json.dumps(
        {"data": [canned_link(i) for i in range(100)], "total": 1000, "limit": 100, "offset": 0}
    ).encode()
    headers = {"Content-Type": "application/json"}

    def answer(request: httpx.Request) -> httpx.Response:
        body = page if request.url.path.endswith("/payment-links") else one
        return httpx.Response(200, content=body, headers=headers)

    return httpx.MockTransport(answer)


def best_of(runs: tuple[Callable[[], object], ...], rounds: int, repeat: int) -> list[float]:
    """For each of `runs`, the fastest of `repeat` batches, in seconds per call: the least
    disturbed by the machine. The batches of the contenders are taken in turn, so that a spell of
    load from other work on a shared machine slows them alike instead of one of them only."""
    samples: list[list[float]] = [[] for _ in runs]
    # As timeit does: a collection that happens to land in one side's batch is not its cost.
    gc.disable()
    try:
        for _ in range(repeat):
            for run, times in zip(runs, samples, strict=True):
                start = time.perf_counter()
                for _ in range(rounds):
                    run()
                times.append((time.perf_counter() - start) / rounds)
    finally:
        gc.enable()
    return [min(times) for times in samples]


def measure(rounds: int = 2000, repeat: int = 7) -> list[tuple[str, float, float, float]]:
    """(case, raw, low-level function and resource seconds per call) for both cases."""
    transport = canned_transport()
    raw = httpx.Client(
        base_url=BASE_URL, transport=transport, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    client = AuthenticatedClient(
        base_url=BASE_URL, token=TOKEN, httpx_args={"transport": transport}
    )
    pik = Pik(api_key=TOKEN, base_url=BASE_URL, http_client=httpx.Client(transport=transport))
    link_id = "pl_000000000000000000000001"
    cases: dict[str, tuple[Callable[[], object], Callable[[], object], Callable[[], object]]] = {
        "one link": (
            lambda: json.loads(raw.get(f"/payment-links/{link_id}").content),
            lambda: get_payment_link.sync(client=client, id=link_id),
            lambda: pik.payment_links.get(link_id),
        ),
        "page of 100": (
            lambda: json.loads(raw.get("/payment-links", params={"limit": 100}).content),
            lambda: list_payment_links.sync(client=client, limit=100),
            lambda: pik.payment_links.list(limit=100),
        ),
    }
    results = []
    for name, calls in cases.items():
        n = rounds if name == "one link" else rounds // 10
        for call in calls:
            call()  # warm up
        raw_s, low_s, resource_s = best_of(calls, n, repeat)
        results.append((name, raw_s, low_s, resource_s))
    return results


def tables(results: list[tuple[str, float, float, float]]) -> list[Table]:
    """The client's cost per call against raw httpx plus json.loads, and the resources' cost
    over the low-level functions, with the goals."""
    table = Table(
        "Client overhead (one canned in-memory transport)",
        [
            "case",
            "raw httpx + json.loads",
            "low-level function",
            "ratio (goal)",
            "Pik resource",
            f"resource ÷ low-level (goal ≤ {RESOURCE_GOAL:.2f}x)",
        ],
    )
    for name, raw_s, low_s, resource_s in results:
        ratio = low_s / raw_s
        over = resource_s / low_s
        table.add(
            name,
            f"{raw_s * 1e6:.1f} µs",
            f"{low_s * 1e6:.1f} µs",
            f"{ratio:.2f}x (≤ {GOALS[name]:.2f}x: {'yes' if ratio <= GOALS[name] else 'NO'})",
            f"{resource_s * 1e6:.1f} µs",
            f"{over:.3f}x ({'yes' if over <= RESOURCE_GOAL else 'NO'})",
        )
    table.notes.append(
        "Best of 7 batches per case, the three sides' batches taken in turn; garbage collection"
        " paused while timing."
    )
    return [table]


def main(argv: Sequence[str] | None = None) -> None:
    """Measure as the options ask (`--smoke`: a few rounds) and print the table."""
    run = plan.parse(__doc__, argv)
    for table in tables(measure(run.client_rounds, run.client_repeat)):
        print(table.markdown())


if __name__ == "__main__":
    main()
