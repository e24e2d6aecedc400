"""Deep list pages: the store's positions and block counts give the pages and totals that reading
every link newest first would, at any offset, with or without a status filter, through creations,
bulk inserts, status changes and expiry by time; and a database from before positions opens."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import pytest

from pik_sandbox.store import (
    POSITIONS_PER_BLOCK,
    PaymentLinkRecord,
    PaymentLinkStore,
    TransitionRefused,
)

FILTERS: Final = (None, "active", "paid", "expired", "deactivated")
STORED: Final = ("active", "paid", "expired", "deactivated")
TTL: Final = 600.0
START: Final = 1_700_000_000.0


class Clock:
    """The store's time, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Link:
    """What the reference knows of one link."""

    id: str
    status: str
    expires_ts: float | None = None

    def status_at(self, now: float) -> str:
        past_expiry = self.expires_ts is not None and self.expires_ts <= now
        return "expired" if self.status == "active" and past_expiry else self.status


@dataclass
class Reference:
    """Every account's links in the order they were created, filtered and paged naively."""

    accounts: dict[str, list[Link]] = field(default_factory=dict)

    def add(self, account: str, link: Link) -> None:
        self.accounts.setdefault(account, []).append(link)

    def matching(self, account: str, status: str | None, now: float) -> list[tuple[str, str]]:
        newest_first = reversed(self.accounts.get(account, []))
        every = [(link.id, link.status_at(now)) for link in newest_first]
        return [link for link in every if status is None or link[1] == status]


def _offsets(total: int, rng: random.Random) -> set[int]:
    """Offsets at both ends, in the middle, around block edges, past the end, and at random."""
    near = {0, 1, 2, total // 2, total - 101, total - 100, total - 7, total - 1, total, total + 3}
    edges = {edge + step for edge in range(0, total, POSITIONS_PER_BLOCK // 4) for step in (-1, 0)}
    chosen = set(rng.sample(sorted(edges), min(len(edges), 12)))
    chosen |= {rng.randrange(total + 1) for _ in range(6)}
    return {offset for offset in near | chosen | {2**31 - 1} if offset >= 0}


async def _assert_pages_match(
    store: PaymentLinkStore, reference: Reference, now: float, rng: random.Random
) -> None:
    for account in reference.accounts:
        for status in FILTERS:
            expected = reference.matching(account, status, now)
            for offset in sorted(_offsets(len(expected), rng)):
                for limit in (1, 7, 100):
                    page = await store.list_links(
                        account=account, status=status, limit=limit, offset=offset
                    )
                    got = [(link.id, link.status) for link in page.links]
                    where = f"{account} status={status} offset={offset} limit={limit}"
                    assert page.total == len(expected), where
                    assert got == expected[offset : offset + limit], where


def _assert_counts_agree(path: Path) -> None:
    """Positions run 1..n in each account, and the block counts add up to the kept counts."""
    with closing(sqlite3.connect(path)) as db:
        positions = db.execute(
            "SELECT account, COUNT(*), MIN(position), MAX(position), COUNT(DISTINCT position)"
            " FROM payment_links GROUP BY account"
        ).fetchall()
        for account, links, lowest, highest, distinct in positions:
            assert (lowest, highest, distinct) == (1, links, links), account
        by_blocks = db.execute(
            "SELECT account, status, SUM(links) FROM link_blocks GROUP BY account, status"
            " HAVING SUM(links) > 0 ORDER BY 1, 2"
        ).fetchall()
        by_counts = db.execute(
            "SELECT account, status, links FROM link_counts WHERE links > 0 ORDER BY 1, 2"
        ).fetchall()
        stored = db.execute(
            "SELECT account, status, COUNT(*) FROM payment_links GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
        assert by_blocks == by_counts == stored


def _bulk(first: int, count: int, rng: random.Random) -> list[PaymentLinkRecord]:
    return [
        PaymentLinkRecord(
            id=f"pl_{n:024d}",
            amount="75.00",
            currency="USDT",
            description=None,
            status=status,
            created_at="2023-11-14T22:13:20Z",
            paid_at="2023-11-14T22:20:00Z" if status == "paid" else None,
        )
        for n, status in zip(range(first, first + count), rng.choices(STORED, k=count), strict=True)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pages_and_totals_equal_a_naive_reading_through_every_change(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    clock = Clock()
    path = tmp_path / "links.sqlite3"
    store = PaymentLinkStore(path, clock=clock)
    reference = Reference()
    accounts = ("acct_a", "acct_b")

    async def create(account: str, ttl: float | None) -> None:
        link = await store.create(
            account=account, amount="1.00", currency="USDT", description=None, ttl_seconds=ttl
        )
        reference.add(account, Link(link.id, "active", clock.now + ttl if ttl else None))

    async def change(account: str, link: Link, status: str) -> None:
        before = link.status_at(clock.now)
        try:
            changed = await store.transition(link.id, account=account, status=status)
        except TransitionRefused as refused:
            assert before != "active" and refused.link.status == before
            return
        assert before == "active" and changed is not None and changed.status == status
        link.status = status

    async def scenario() -> None:
        # Bulk inserts and single creations (some expiring) in both accounts, in turns, a
        # minute apart: several blocks per account, links expiring at many different times.
        bulk_ids = 0
        for _ in range(12):
            account = rng.choice(accounts)
            count = rng.randrange(1, 400)
            batch = _bulk(bulk_ids, count, rng)
            bulk_ids += count
            # insert_many blocks until stored: not on the event loop.
            await asyncio.to_thread(store.insert_many, account=account, links=batch)
            for record in batch:
                reference.add(account, Link(record.id, record.status))
            for _ in range(rng.randrange(1, 30)):
                await create(rng.choice(accounts), rng.choice((TTL, None)))
            clock.now += 60
        await _assert_pages_match(store, reference, clock.now, rng)

        # Status changes, some of them refused: final already, or expired by time.
        for _ in range(300):
            account = rng.choice(accounts)
            link = rng.choice(reference.accounts[account])
            await change(account, link, rng.choice(("paid", "expired", "deactivated")))
        await _assert_pages_match(store, reference, clock.now, rng)

        # Some links past their expiry time stored as expired, the others still only by time.
        due = sum(
            link.status_at(clock.now) == "expired" and link.status == "active"
            for links in reference.accounts.values()
            for link in links
        )
        assert due > 0, "the scenario must leave links expired by time only"
        assert await store.expire_due(limit=(due + 1) // 2) == (due + 1) // 2
        with closing(sqlite3.connect(path)) as db:
            stored_as = dict(db.execute("SELECT id, status FROM payment_links").fetchall())
        for links in reference.accounts.values():
            for link in links:
                link.status = stored_as[link.id]
        await _assert_pages_match(store, reference, clock.now, rng)

        # get agrees with the list on every link, at this moment and after every TTL has run.
        for moment in (clock.now, clock.now + TTL):
            clock.now = moment
            for account, links in reference.accounts.items():
                for link in rng.sample(links, 50):
                    got = await store.get(link.id, account=account)
                    assert got is not None and got.status == link.status_at(moment)
            await _assert_pages_match(store, reference, clock.now, rng)

    try:
        asyncio.run(scenario())
    finally:
        store.close()
    _assert_counts_agree(path)


def test_every_page_of_a_filter_covers_its_links_once(tmp_path: Path) -> None:
    rng = random.Random(7)
    store = PaymentLinkStore(tmp_path / "links.sqlite3")
    links = _bulk(0, 3 * POSITIONS_PER_BLOCK + 17, rng)
    store.insert_many(account="acct", links=links)

    async def walk(status: str | None, limit: int) -> list[str]:
        seen: list[str] = []
        offset = 0
        while True:
            page = await store.list_links(account="acct", status=status, limit=limit, offset=offset)
            seen += [link.id for link in page.links]
            offset += limit
            if offset >= page.total:
                return seen

    for status in FILTERS:
        expected = [link.id for link in reversed(links) if status in (None, link.status)]
        assert asyncio.run(walk(status, 100)) == expected
        assert asyncio.run(walk(status, 33)) == expected
    store.close()


def test_blocks_whose_links_are_expired_by_time_alone(tmp_path: Path) -> None:
    # Oldest to newest: a block of paid links, then more than a block of expiring ones (whole
    # blocks with no link stored as expired), then stored expired ones: the `expired` filter
    # counts the middle from the expiry times alone, from either end of the account.
    rng = random.Random(3)
    clock = Clock()
    store = PaymentLinkStore(tmp_path / "links.sqlite3", clock=clock)
    reference = Reference()

    def bulk(first: int, count: int, status: str) -> None:
        links = [replace(link, status=status, paid_at=None) for link in _bulk(first, count, rng)]
        store.insert_many(account="acct", links=links)
        for link in links:
            reference.add("acct", Link(link.id, link.status))

    async def expiring(count: int) -> None:
        for _ in range(count):
            link = await store.create(
                account="acct", amount="1.00", currency="USDT", description=None, ttl_seconds=TTL
            )
            reference.add("acct", Link(link.id, "active", clock.now + TTL))

    bulk(0, POSITIONS_PER_BLOCK, "paid")
    asyncio.run(expiring(POSITIONS_PER_BLOCK + 200))
    bulk(POSITIONS_PER_BLOCK, 300, "expired")
    clock.now += TTL
    asyncio.run(_assert_pages_match(store, reference, clock.now, rng))
    store.close()


# payment_links and its counts as the previous version of the store wrote them: no positions, the
# list's order kept by `seq` alone.
BEFORE_POSITIONS: Final = """
CREATE TABLE payment_links (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    account      TEXT    NOT NULL,
    amount       TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    description  TEXT,
    status       TEXT    NOT NULL
                 CHECK (status IN ('active', 'paid', 'expired', 'deactivated')),
    created_at   TEXT    NOT NULL,
    created_ts   REAL    NOT NULL,
    expires_ts   REAL,
    paid_at      TEXT
);
CREATE INDEX payment_links_account_seq ON payment_links (account, seq);
CREATE INDEX payment_links_account_status_seq ON payment_links (account, status, seq);
CREATE INDEX payment_links_expiring
    ON payment_links (account, expires_ts) WHERE status = 'active' AND expires_ts IS NOT NULL;
CREATE TABLE link_counts (
    account  TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    links    INTEGER NOT NULL,
    PRIMARY KEY (account, status)
) WITHOUT ROWID;
CREATE TRIGGER link_counts_after_insert AFTER INSERT ON payment_links BEGIN
    INSERT INTO link_counts (account, status, links) VALUES (NEW.account, NEW.status, 1)
        ON CONFLICT (account, status) DO UPDATE SET links = links + 1;
END;
CREATE TRIGGER link_counts_after_status AFTER UPDATE OF status ON payment_links
WHEN OLD.status <> NEW.status BEGIN
    UPDATE link_counts SET links = links - 1
        WHERE account = OLD.account AND status = OLD.status;
    INSERT INTO link_counts (account, status, links) VALUES (NEW.account, NEW.status, 1)
        ON CONFLICT (account, status) DO UPDATE SET links = links + 1;
END;
PRAGMA user_version = 1;
"""


def _write_before_positions(path: Path, rows: Iterable[tuple[str, str, str, float | None]]) -> None:
    """A file as the previous store left it, holding (id, account, status, expires_ts) rows in
    this order, all created within the same second."""
    with closing(sqlite3.connect(path)) as db:
        db.executescript(BEFORE_POSITIONS)
        db.executemany(
            "INSERT INTO payment_links (id, account, amount, currency, description, status,"
            " created_at, created_ts, expires_ts) VALUES (?, ?, '5.00', 'USDC', NULL, ?,"
            " '2023-11-14T22:13:20Z', ?, ?)",
            (
                (link_id, account, status, START, expires)
                for link_id, account, status, expires in rows
            ),
        )
        db.commit()


def test_a_database_from_before_positions_opens_numbered_in_creation_order(
    tmp_path: Path,
) -> None:
    rng = random.Random(11)
    path = tmp_path / "before.sqlite3"
    reference = Reference()
    rows = []
    for n in range(2 * POSITIONS_PER_BLOCK + 300):
        account = rng.choice(("acct_a", "acct_a", "acct_b"))
        status = rng.choice(STORED)
        # Some active links expire before the store reopens, others after.
        expires = rng.choice((None, START + TTL, START + 3 * TTL)) if status == "active" else None
        rows.append((f"pl_{n:024d}", account, status, expires))
        reference.add(account, Link(f"pl_{n:024d}", status, expires))
    _write_before_positions(path, rows)
    clock = Clock()
    clock.now = START + 2 * TTL

    async def after_reopening(store: PaymentLinkStore) -> None:
        await _assert_pages_match(store, reference, clock.now, rng)
        # New links take the next positions; changes to old links keep every count right.
        link = await store.create(
            account="acct_b", amount="1.00", currency="USDT", description=None
        )
        reference.add("acct_b", Link(link.id, "active"))
        for old in reference.accounts["acct_a"][:: POSITIONS_PER_BLOCK // 3]:
            if old.status_at(clock.now) == "active":
                await store.transition(old.id, account="acct_a", status="paid")
                old.status = "paid"
        await _assert_pages_match(store, reference, clock.now, rng)

    store = PaymentLinkStore(path, clock=clock)
    try:
        asyncio.run(after_reopening(store))
    finally:
        store.close()
    more = _bulk(10**6, 5, rng)
    store.insert_many(account="acct_a", links=more)
    store.close()
    for link in more:
        reference.add("acct_a", Link(link.id, link.status))
    _assert_counts_agree(path)
    with closing(sqlite3.connect(path)) as db:
        indexes = {
            name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        (version,) = db.execute("PRAGMA user_version").fetchone()
        (tailless,) = db.execute("SELECT COUNT(*) FROM payment_links WHERE tail IS NULL").fetchone()
    replaced = {"payment_links_account_seq", "payment_links_account_status_seq"}
    assert not indexes & (replaced | {"payment_links_expiring"})
    assert "payment_links_expiring_at" in indexes
    assert version == 3 and tailless == 0

    # Opening it again changes nothing.
    again = PaymentLinkStore(path, clock=clock)
    try:
        asyncio.run(_assert_pages_match(again, reference, clock.now, rng))
    finally:
        again.close()


def test_a_link_without_a_position_is_refused(tmp_path: Path) -> None:
    # What an older sandbox writing to an upgraded file would do: refused rather than left out
    # of the positions, which would shift every page after it.
    path = tmp_path / "links.sqlite3"
    _write_before_positions(path, [("pl_" + "0" * 24, "acct", "active", None)])
    PaymentLinkStore(path).close()
    with closing(sqlite3.connect(path)) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO payment_links (id, account, amount, currency, status, created_at,"
            " created_ts) VALUES ('pl_x', 'acct', '1.00', 'USDT', 'active', '', 0)"
        )


def test_a_database_from_before_block_counts_opens_with_them_filled(tmp_path: Path) -> None:
    rng = random.Random(5)
    path = tmp_path / "links.sqlite3"
    clock = Clock()
    store = PaymentLinkStore(path, clock=clock)
    reference = Reference()
    links = _bulk(0, 2 * POSITIONS_PER_BLOCK + 50, rng)
    store.insert_many(account="acct", links=links)
    store.close()
    for link in links:
        reference.add("acct", Link(link.id, link.status))
    # What the previous version of the store left: positions, no block counts, version 1.
    with closing(sqlite3.connect(path)) as db:
        db.executescript(
            "DROP TRIGGER link_blocks_after_insert; DROP TRIGGER link_blocks_after_status;"
            " DROP TABLE link_blocks; DROP INDEX payment_links_expiring_at;"
            " CREATE INDEX payment_links_expiring ON payment_links (account, expires_ts)"
            " WHERE status = 'active' AND expires_ts IS NOT NULL;"
            " PRAGMA user_version = 1;"
        )

    async def after_reopening(store: PaymentLinkStore) -> None:
        await _assert_pages_match(store, reference, clock.now, rng)
        for old in reference.accounts["acct"][::97]:
            if old.status == "active":
                await store.transition(old.id, account="acct", status="deactivated")
                old.status = "deactivated"
        await _assert_pages_match(store, reference, clock.now, rng)

    reopened = PaymentLinkStore(path, clock=clock)
    try:
        asyncio.run(after_reopening(reopened))
    finally:
        reopened.close()
    _assert_counts_agree(path)
