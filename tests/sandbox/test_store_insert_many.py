"""PaymentLinkStore.insert_many: ready-made links land where get and list read them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pik_sandbox.store import PaymentLinkRecord, PaymentLinkStore


def _link(n: int, status: str) -> PaymentLinkRecord:
    return PaymentLinkRecord(
        id=f"pl_{n:024d}",
        amount="75.00",
        currency="USDT",
        description=None,
        status=status,
        created_at=f"2024-01-15T10:30:{n:02d}Z",
        paid_at="2024-01-15T10:45:00Z" if status == "paid" else None,
    )


def test_inserted_links_keep_their_statuses_and_count_in_list_totals(tmp_path: Path) -> None:
    store = PaymentLinkStore(tmp_path / "links.sqlite3")
    links = [_link(n, "paid" if n % 2 else "active") for n in range(10)]
    store.insert_many(account="acct_a", links=links)

    async def read_back() -> None:
        await store.create(account="acct_a", amount="1.00", currency="USDT", description=None)
        assert await store.get(links[3].id, account="acct_a") == links[3]
        assert await store.get(links[3].id, account="acct_b") is None
        everything = await store.list_links(account="acct_a", status=None, limit=100, offset=0)
        assert everything.total == 11
        # Newest first: the link created after the insert, then the inserted ones in reverse.
        assert [link.id for link in everything.links[1:]] == [link.id for link in reversed(links)]
        paid = await store.list_links(account="acct_a", status="paid", limit=1, offset=0)
        active = await store.list_links(account="acct_a", status="active", limit=1, offset=0)
        assert (paid.total, active.total) == (5, 6)

    asyncio.run(read_back())
    store.close()
