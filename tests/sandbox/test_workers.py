"""`pik-sandbox --workers N`: several processes serving one sandbox. A key's rate limit is the
same whichever worker answers, each webhook event goes out once, from worker 0, as soon as any
worker records the payment, and the command stops, or fails, as one."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pik_generated_client import Pik, webhooks
from pik_sandbox import webhooks as delivery
from pik_sandbox.app import create_app, sandbox_of
from pik_sandbox.ratelimit import RollingWindowLimiter
from pik_sandbox.settings import SandboxSettings
from pik_sandbox.testing import SandboxProcess
from pik_sandbox.workers import (
    WORKER_FAILED,
    WakePipe,
    WorkerRole,
    run_workers,
    stop_requested,
)
from tests.conftest import API_KEY
from tests.sandbox.support import ORDER, assert_error
from tests.webhooks.receiver import Receiver, running_receiver

WORKERS = ("--workers", "2")
# Every request on a connection of its own, so that the kernel hands them to either worker.
NO_KEEP_ALIVE = httpx.Limits(max_keepalive_connections=0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def worker_pids(parent: int) -> set[int]:
    """The processes whose parent is `parent`, from /proc."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.add(int(stat.parent.name))
    return children


def running(pid: int) -> bool:
    """Whether `pid` is a live process (not a zombie left for its parent to collect)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for_workers(sandbox: SandboxProcess, count: int) -> set[int]:
    deadline = time.monotonic() + 10
    while len(pids := worker_pids(sandbox.pid)) < count:
        assert time.monotonic() < deadline, f"{len(pids)} workers, not {count}"
        time.sleep(0.05)
    return pids


def test_a_limiter_counts_the_events_of_processes_forked_after_it() -> None:
    limiter = RollingWindowLimiter(3, 60.0, ["sk_a", "sk_b"])
    child = os.fork()
    if child == 0:
        os._exit(0 if limiter.acquire("sk_a") is None and limiter.acquire("sk_a") is None else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert limiter.acquire("sk_a") is None  # the third event, counted here
    assert limiter.acquire("sk_a") == 60  # the fourth: the child's two count here too
    assert limiter.acquire("sk_b") is None  # another key has its own budget


def test_a_key_outside_the_limiters_keys_is_named() -> None:
    with pytest.raises(KeyError, match="sk_c"):
        RollingWindowLimiter(3, 60.0, ["sk_a"]).acquire("sk_c")


def test_the_rate_limit_holds_across_workers() -> None:
    options = (*WORKERS, "--rate-limit", "on", "--log-level", "info")
    with SandboxProcess.start(*options) as sandbox:
        with sandbox.http_client(limits=NO_KEEP_ALIVE) as api:
            statuses = [api.get("/payment-links?limit=1").status_code for _ in range(300)]
            refused = api.get("/payment-links")
        log = sandbox.log()
    assert statuses == [200] * 300
    assert_error(refused, 429, "rate_limited", "300")
    # Both workers answered some of the 300: neither could have refused the 301st alone.
    assert "[worker 0] pik_sandbox.access" in log and "[worker 1] pik_sandbox.access" in log


def test_each_event_goes_out_once_from_worker_0(receiver: Receiver) -> None:
    options = (*WORKERS, "--rate-limit", "off", "--log-level", "info")
    with (
        SandboxProcess.start(*options) as sandbox,
        httpx.Client(limits=NO_KEEP_ALIVE) as http,
        Pik(api_key=sandbox.api_key, base_url=sandbox.base_url, http_client=http) as pik,
    ):
        endpoint = pik.webhooks.create(url=receiver.url, events=["payment.settled"])
        paid: list[str] = []
        # At least 8 payments, and until one has reached worker 1 (which does not send).
        while len(paid) < 8 or not payments_on(sandbox.log(), "worker 1"):
            assert len(paid) < 100, "no payment reached worker 1"
            link = pik.payment_links.create(amount="1", currency="USDT")
            pik.sandbox.simulate(link.id, status="paid")
            paid.append(link.id)
        events = [
            webhooks.verify(d.body, d.signature, endpoint.secret)
            for d in receiver.wait_for(len(paid))
        ]
        time.sleep(0.5)  # several polls of the outbox: nothing more may come
        log = sandbox.log()
    assert len(receiver.deliveries) == len(paid)
    assert sorted(event.data.payment_link_id for event in events) == sorted(paid)
    sent = [line for line in log.splitlines() if "pik_sandbox.webhooks" in line]
    assert len(sent) == len(paid) and all("[worker 0]" in line for line in sent)


def payments_on(log: str, worker: str) -> list[str]:
    """The access log's simulate lines written by `worker`."""
    return [line for line in log.splitlines() if f"[{worker}]" in line and "/simulate" in line]


@pytest.mark.anyio
async def test_a_worker_that_sends_no_webhooks_wakes_the_one_that_does(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the wake, the sending worker would not look at the outbox for a minute.
    monkeypatch.setattr(delivery, "POLL_INTERVAL_SECONDS", 60.0)
    settings = SandboxSettings(db_path=tmp_path / "sandbox.sqlite3", api_keys=(API_KEY,))
    sender, other, pipe = create_app(settings), create_app(settings), WakePipe()
    sandbox_of(sender).worker = WorkerRole(delivers_webhooks=True, wake_pipe=pipe)
    sandbox_of(other).worker = WorkerRole(delivers_webhooks=False, wake_pipe=pipe)
    async with (
        sender.router.lifespan_context(sender),
        other.router.lifespan_context(other),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other),
            base_url="http://sandbox.test/v1",
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as api,
    ):
        await asyncio.sleep(0.1)  # the sender's first look at the outbox, with nothing in it
        hook = {"url": receiver.url, "events": ["payment.settled"]}
        assert (await api.post("/webhooks", json=hook)).status_code == 201
        link = (await api.post("/payment-links", json=ORDER)).json()
        paid = await api.post(
            f"/sandbox/payment-links/{link['id']}/simulate", json={"status": "paid"}
        )
        assert paid.status_code == 200
        (arrived,) = await asyncio.to_thread(receiver.wait_for, 1, 5.0)
    assert link["id"].encode() in arrived.body


def test_a_worker_that_dies_stops_the_command_with_status_1(tmp_path: Path) -> None:
    with SandboxProcess.start(*WORKERS, workdir=tmp_path) as sandbox:
        victim, survivor = sorted(wait_for_workers(sandbox, 2))
        os.kill(victim, signal.SIGKILL)
        status = sandbox.process.wait(timeout=20)
    assert status == 1
    log = sandbox.log()
    assert f"(pid {victim}) ended on its own (signal 9); stopping the others" in log
    assert not running(survivor)


def test_sigterm_stops_every_worker_cleanly(tmp_path: Path) -> None:
    with SandboxProcess.start(*WORKERS, workdir=tmp_path) as sandbox:
        pids = wait_for_workers(sandbox, 2)
        with sandbox.http_client() as api:
            assert api.post("/payment-links", json=ORDER).status_code == 201
        status = sandbox.stop()
    log = sandbox.log()
    assert status == 0 and log.rstrip().endswith("PIK sandbox stopped.")
    assert not any(running(pid) for pid in pids)
    assert "Traceback" not in log


def test_no_worker_outlives_a_command_killed_outright(tmp_path: Path) -> None:
    with SandboxProcess.start(*WORKERS, workdir=tmp_path) as sandbox:
        pids = wait_for_workers(sandbox, 2)
        sandbox.stop(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (alive := [pid for pid in pids if running(pid)]) and (time.monotonic() < deadline):
        time.sleep(0.05)
    assert not alive, "workers kept running after the command was killed"


def test_sigterm_during_start_up_stops_every_worker(tmp_path: Path) -> None:
    # The signal arrives while the workers are being forked, or just after.
    for attempt in range(3):
        sandbox = SandboxProcess.start("--workers", "4", workdir=tmp_path / str(attempt))
        status = sandbox.stop(timeout=10)
        assert status == 0, sandbox.log()[-3000:]


def _worker_that_exits(index: int) -> None:
    if index == 1:
        sys.exit(3)
    deadline = time.monotonic() + 30
    while not stop_requested() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_worker_that_exits_stops_the_others_and_fails_the_command(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = time.monotonic()
    assert run_workers(2, _worker_that_exits) == WORKER_FAILED
    assert time.monotonic() - started < 10, "the other worker was not stopped"
    assert "worker 1 " in caplog.text and "exit status 3" in caplog.text


def test_a_limiter_whose_lock_stays_taken_lets_requests_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RollingWindowLimiter(1, 60.0, ["sk_a"])
    assert limiter.acquire("sk_a") is None
    limiter._lock.acquire()  # as a worker killed while holding it would leave it
    assert limiter.acquire("sk_a") is None  # uncounted, rather than held up for ever
    assert limiter.acquire("sk_a") is None
    assert caplog.text.count("requests are no longer counted") == 1
