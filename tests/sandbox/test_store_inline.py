"""The store answers on the event loop's own connection, and hands a call to its threads when the
database is locked: the call then waits for the lock (within the bound) without holding up the
loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from pik_sandbox.store import PaymentLinkStore

ACCOUNT = "a" * 64


def test_a_write_that_meets_a_lock_waits_on_the_threads_and_then_succeeds(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    store = PaymentLinkStore(db, lock_timeout=5.0)

    async def scenario() -> tuple[float, float, int]:
        first = await store.create(account=ACCOUNT, amount="1", currency="USDT", description=None)
        loop_connection = store._inline.connection()
        holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        released = threading.Event()

        def release_later() -> None:
            time.sleep(0.4)
            holder.execute("ROLLBACK")
            holder.close()
            released.set()

        threading.Thread(target=release_later).start()
        started = time.monotonic()
        creating = asyncio.create_task(
            store.create(account=ACCOUNT, amount="2", currency="USDT", description=None)
        )
        await asyncio.sleep(0.05)
        # The loop is free while the write waits: a read is answered at once.
        read_started = time.monotonic()
        assert await store.get(first.id, account=ACCOUNT) == first
        read_took = time.monotonic() - read_started
        assert not creating.done(), "the write did not wait for the lock"
        await creating
        waited = time.monotonic() - started
        assert released.is_set()
        page = await store.list_links(account=ACCOUNT, status=None, limit=10, offset=0)
        # Meeting a lock says nothing against the loop's connection: it is kept, warm.
        assert store._inline.connection() is loop_connection
        return read_took, waited, page.total

    try:
        read_took, waited, links = asyncio.run(scenario())
    finally:
        store.close()
    assert read_took < 0.2
    assert 0.3 < waited < 3.0
    assert links == 2


def test_the_store_reopens_its_loop_connection_after_close(tmp_path: Path) -> None:
    store = PaymentLinkStore(tmp_path / "store.sqlite3")

    async def create_one() -> str:
        link = await store.create(account=ACCOUNT, amount="1", currency="USDT", description=None)
        return link.id

    try:
        first = asyncio.run(create_one())
        store.close()
        second = asyncio.run(create_one())

        async def both() -> list[str]:
            page = await store.list_links(account=ACCOUNT, status=None, limit=10, offset=0)
            return [link.id for link in page.links]

        assert asyncio.run(both()) == [second, first]
    finally:
        store.close()
