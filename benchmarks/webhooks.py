"""Webhook delivery as the sandbox does it: the latency from sending a payment to its
event's arrival at a receiver (p50, p99), and the API's get-by-id throughput with deliveries in
flight (a receiver that answers slowly while links are being paid) against none."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import httpx

from benchmarks.load import LoadSettings, ensure_wrk, run_wrk, write_script
from benchmarks.report import Table
from pik_generated_client import Pik
from pik_sandbox.testing import SandboxProcess
from tests.webhooks.receiver import Receiver, running_receiver

WORKERS = ("--workers", "2")


def _latencies(pik: Pik, receiver: Receiver, payments: int) -> list[float]:
    """Seconds from sending each simulate call to the arrival of its payment.confirmed (the
    event now often arrives before the call's answer does, so the answer cannot be the start)."""
    latencies = []
    for _ in range(payments):
        link = pik.payment_links.create(amount="1", currency="USDT")
        expected = len(receiver.deliveries) + 1
        sent = time.monotonic()
        pik.sandbox.simulate(link.id, status="paid")
        latencies.append(receiver.wait_for(expected)[-1].received_at - sent)
    return latencies


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99, in milliseconds."""
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


def _latencies_with_workers(payments: int) -> tuple[float, float]:
    """p50 and p99 with `--workers 2`, every call on a connection of its own, so that payments
    reach either worker and those on worker 1 wake worker 0, the sender, through its pipe."""
    fresh = httpx.Limits(max_keepalive_connections=0)
    with (
        SandboxProcess.start(*WORKERS, "--rate-limit", "off", "--log-level", "warning") as sandbox,
        running_receiver() as receiver,
        httpx.Client(limits=fresh) as http,
        Pik(api_key=sandbox.api_key, base_url=sandbox.base_url, http_client=http) as pik,
    ):
        pik.webhooks.create(url=receiver.url, events=["payment.confirmed"])
        return _percentiles(_latencies(pik, receiver, payments))


def _paying(pik: Pik, stop: threading.Event) -> None:
    while not stop.is_set():
        link = pik.payment_links.create(amount="1", currency="USDT")
        pik.sandbox.simulate(link.id, status="paid")


def measure(load: LoadSettings, workdir: Path, payments: int) -> dict[str, float]:
    """The figures, from one `pik-sandbox` process with rate limits off."""
    ensure_wrk()
    figures: dict[str, float] = {}
    with (
        SandboxProcess.start("--rate-limit", "off", "--log-level", "warning") as sandbox,
        running_receiver() as receiver,
        Pik(api_key=sandbox.api_key, base_url=sandbox.base_url) as pik,
    ):
        pik.webhooks.create(url=receiver.url, events=["payment.confirmed"])
        figures["p50_ms"], figures["p99_ms"] = _percentiles(_latencies(pik, receiver, payments))
        link = pik.payment_links.create(amount="1", currency="USDT")
        script = write_script(
            workdir / "webhooks-get.lua",
            paths=[f"/v1/payment-links/{link.id}"],
            headers={"Authorization": f"Bearer {sandbox.api_key}"},
        )
        site = sandbox.base_url.removesuffix("/v1")
        figures["get_idle"] = run_wrk(site, script, load, load.duration_s).requests_per_s
        receiver.hang_seconds = 0.5
        receiver.answers = [None] * 100_000  # every delivery waits half a second for its answer
        for _ in range(7):  # eight endpoints, so that deliveries run side by side
            pik.webhooks.create(url=receiver.url, events=["payment.confirmed"])
        stop = threading.Event()
        payer = threading.Thread(target=_paying, args=(pik, stop), daemon=True)
        payer.start()
        try:
            time.sleep(0.5)
            figures["get_delivering"] = run_wrk(site, script, load, load.duration_s).requests_per_s
        finally:
            stop.set()
            payer.join()
        figures["delivered_meanwhile"] = len(receiver.deliveries) - payments
    figures["p50_ms_workers"], figures["p99_ms_workers"] = _latencies_with_workers(payments)
    return figures


def tables(figures: dict[str, float]) -> list[Table]:
    """The delivery latency and the throughput with and without deliveries in flight."""
    table = Table(
        "Webhook delivery (pik-sandbox process, receiver on loopback)", ["figure", "value"]
    )
    table.add("payment sent → event received, p50", f"{figures['p50_ms']:.1f} ms")
    table.add("payment sent → event received, p99", f"{figures['p99_ms']:.1f} ms")
    table.add(
        "the same with --workers 2, p50 / p99",
        f"{figures['p50_ms_workers']:.1f} / {figures['p99_ms_workers']:.1f} ms",
    )
    table.add("get by id, no deliveries", f"{figures['get_idle']:,.0f} req/s")
    table.add("get by id, deliveries in flight", f"{figures['get_delivering']:,.0f} req/s")
    table.add("ratio", f"{figures['get_delivering'] / figures['get_idle']:.2f}x")
    table.notes.append(
        "In flight: links paid continuously (which is API load too) while eight endpoints' "
        f"receiver takes 0.5 s to answer each of {figures['delivered_meanwhile']:.0f} "
        "deliveries. A payment wakes the delivery loop at once; with --workers 2, a payment "
        "on worker 1 wakes worker 0, the one that sends, through a pipe (every call on a new "
        "connection, so that payments reach both)."
    )
    return [table]


def main() -> None:
    """Print the table (a short load)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for table in tables(measure(LoadSettings(duration_s=3), Path(tmp), payments=50)):
            print(table.markdown())


if __name__ == "__main__":
    main()
