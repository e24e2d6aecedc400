"""One database file written by several worker processes at once (`pik-sandbox --workers N`):
every write lands, positions stay dense, the WAL stays short, and a worker stuck in its turn to
write holds the others up only briefly."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from pik_sandbox import store as store_module
from pik_sandbox.store import PaymentLinkStore

ACCOUNT = "a" * 64
WRITERS = 2
LINKS_EACH = 3000
# About 160 MB are written to the WAL in all; the checkpointer keeps it near 10 MB.
WAL_BOUND_BYTES = 48 * 1024 * 1024


def _write_links(store: PaymentLinkStore, count: int) -> None:
    async def write() -> None:
        for n in range(count):
            await store.create(
                account=ACCOUNT, amount=f"{n + 1}", currency="USDT", description=None
            )

    asyncio.run(write())


def _fork(work: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            work()
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    return pid


def test_writes_of_two_processes_all_land_and_the_wal_stays_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Commits never checkpoint here: only the checkpoints' own turns keep the WAL short.
    monkeypatch.setattr(store_module, "AUTOCHECKPOINT_PAGES", 0)
    monkeypatch.setattr(store_module, "RESTART_WAL_PAGES", 256)
    db = tmp_path / "store.sqlite3"
    wal = Path(f"{db}-wal")
    store = PaymentLinkStore(db)
    store.use_checkpointer()
    store.close()  # as the command does before it forks its workers
    writers = [_fork(lambda: _write_links(store, LINKS_EACH)) for _ in range(WRITERS)]

    statuses: dict[int, int] = {}

    async def checkpoint_while_writing() -> int:
        checkpoints = asyncio.create_task(store.checkpoints(interval=0.01))
        longest = 0
        try:
            while len(statuses) < len(writers):
                longest = max(longest, wal.stat().st_size if wal.exists() else 0)
                for pid in set(writers) - set(statuses):
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        statuses[pid] = os.waitstatus_to_exitcode(status)
                await asyncio.sleep(0.005)
        finally:
            checkpoints.cancel()
        return longest

    try:
        longest_wal = asyncio.run(checkpoint_while_writing())
    finally:
        store.close()
        for pid in set(writers) - set(statuses):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    assert list(statuses.values()) == [0] * WRITERS
    with sqlite3.connect(db) as reader:
        rows = reader.execute("SELECT position, created_ts FROM payment_links ORDER BY position")
        positions, times = zip(*rows, strict=True)
    assert positions == tuple(range(1, WRITERS * LINKS_EACH + 1))
    # A link's time is its commit's, so later positions never have earlier times.
    assert list(times) == sorted(times)
    assert longest_wal < WAL_BOUND_BYTES, f"the WAL grew to {longest_wal:,} bytes"


def test_a_write_gets_through_while_the_turn_to_write_is_held(tmp_path: Path) -> None:
    # A worker stuck holding its turn (its process stopped, say) delays the others' writes by
    # moments, not for as long as it holds it: they go to SQLite's own lock instead.
    store = PaymentLinkStore(tmp_path / "store.sqlite3")
    turn = store._write_turn
    assert turn.acquire(timeout=1)
    releaser = threading.Timer(2.0, turn.release)
    releaser.start()

    async def create() -> float:
        started = time.monotonic()
        await store.create(account=ACCOUNT, amount="1", currency="USDT", description=None)
        return time.monotonic() - started

    try:
        took = asyncio.run(create())
    finally:
        releaser.join()
        store.close()
    assert took < 1.0, f"the write waited {took:.2f} s for the held turn"
