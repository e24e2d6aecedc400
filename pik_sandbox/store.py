"""Payment links kept in SQLite: the only module that speaks SQL.

Connexion's AsyncApp runs plain (sync) handlers on worker threads, which come and go. Each
operation checks a connection out of a small pool and returns it, so a connection is used by one
thread at a time and there are never more than operations in flight; writes from this process
take one lock so they queue in Python instead of spinning in SQLite's busy handler.
"""

from __future__ import annotations

import queue
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

ID_PREFIX: Final = "pl_"
ID_ALPHABET: Final = string.ascii_letters + string.digits
ID_RANDOM_LENGTH: Final = 24  # 62**24 ~ 2**143: collisions are not a practical concern.
ID_DRAWS: Final = 3  # ...so an id taken this many times in a row means something else is wrong.
FINAL_STATUSES: Final = frozenset({"paid", "expired", "deactivated"})

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS payment_links (
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
-- The list, newest first, with and without a status filter; `seq` breaks ties between links
-- created within the same second.
CREATE INDEX IF NOT EXISTS payment_links_account_seq
    ON payment_links (account, seq);
CREATE INDEX IF NOT EXISTS payment_links_account_status_seq
    ON payment_links (account, status, seq);
-- Active links that carry an expiry time: counting the ones past it stays cheap however large
-- the account. Links without one (no --link-ttl) are not in this index at all.
CREATE INDEX IF NOT EXISTS payment_links_expiring
    ON payment_links (account, expires_ts) WHERE status = 'active' AND expires_ts IS NOT NULL;
-- How many links each account has in each stored status, kept by the triggers below in the
-- same transaction as the change, so that a list's `total` is a lookup, not a COUNT(*) over
-- every matching link.
CREATE TABLE IF NOT EXISTS link_counts (
    account  TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    links    INTEGER NOT NULL,
    PRIMARY KEY (account, status)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS link_counts_after_insert AFTER INSERT ON payment_links BEGIN
    INSERT INTO link_counts (account, status, links) VALUES (NEW.account, NEW.status, 1)
        ON CONFLICT (account, status) DO UPDATE SET links = links + 1;
END;
CREATE TRIGGER IF NOT EXISTS link_counts_after_status AFTER UPDATE OF status ON payment_links
WHEN OLD.status <> NEW.status BEGIN
    UPDATE link_counts SET links = links - 1
        WHERE account = OLD.account AND status = OLD.status;
    INSERT INTO link_counts (account, status, links) VALUES (NEW.account, NEW.status, 1)
        ON CONFLICT (account, status) DO UPDATE SET links = links + 1;
END;
"""
# Databases written before link_counts existed get it filled once, when first opened.
_SCHEMA_VERSION: Final = 1
_BACKFILL_COUNTS: Final = """
DELETE FROM link_counts;
INSERT INTO link_counts (account, status, links)
    SELECT account, status, COUNT(*) FROM payment_links GROUP BY account, status;
"""

# A link past its expiry time is `expired` whatever its stored status says, so get, list and the
# list's filter agree without a background job rewriting rows.
_EFFECTIVE_STATUS: Final = (
    "CASE WHEN status = 'active' AND expires_ts IS NOT NULL AND expires_ts <= :now"
    " THEN 'expired' ELSE status END"
)
_COLUMNS: Final = (
    f"id, amount, currency, description, {_EFFECTIVE_STATUS} AS status, created_at, paid_at"
)
_STATUS_FILTERS: Final = {
    None: "1",
    "active": "status = 'active' AND (expires_ts IS NULL OR expires_ts > :now)",
    "expired": "(status = 'expired' OR (status = 'active' AND expires_ts <= :now))",
    "paid": "status = 'paid'",
    "deactivated": "status = 'deactivated'",
}
# Stored counts per status (from link_counts) that make up each filter's total. Active links past
# their expiry time are counted apart (payment_links_expiring) and moved from active to expired.
_COUNTED_STATUSES: Final = {
    None: ("active", "paid", "expired", "deactivated"),
    "active": ("active",),
    "expired": ("expired",),
    "paid": ("paid",),
    "deactivated": ("deactivated",),
}
_EXPIRED_BY_TIME_SIGN: Final = {None: 0, "active": -1, "expired": 1, "paid": 0, "deactivated": 0}


@dataclass(frozen=True)
class PaymentLinkRecord:
    """One stored payment link, with its status as of the moment it was read."""

    id: str
    amount: str
    currency: str
    description: str | None
    status: str
    created_at: str
    paid_at: str | None


@dataclass(frozen=True)
class PaymentLinkPage:
    """One page of an account's links and the size of the whole filtered set."""

    links: list[PaymentLinkRecord]
    total: int


class TransitionRefused(Exception):
    """The link is already in a final state, which never changes."""

    def __init__(self, link: PaymentLinkRecord) -> None:
        super().__init__(f"payment link {link.id} is already {link.status}")
        self.link = link


def new_link_id() -> str:
    """`pl_` followed by random letters and digits from a cryptographic source."""
    return ID_PREFIX + "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_RANDOM_LENGTH))


def rfc3339(timestamp: float) -> str:
    """UTC, RFC 3339, whole seconds, `Z` suffix: how PIK writes times."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_id_taken(error: sqlite3.IntegrityError) -> bool:
    return error.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE" and "payment_links.id" in str(error)


def _find(
    connection: sqlite3.Connection, link_id: str, account: str | None, now: float
) -> sqlite3.Row | None:
    """The row of the link with this id, in `account` or (None) in any account."""
    row: sqlite3.Row | None = connection.execute(
        f"SELECT seq, {_COLUMNS} FROM payment_links"
        " WHERE id = :id AND (:account IS NULL OR account = :account)",
        {"id": link_id, "account": account, "now": now},
    ).fetchone()
    return row


def _record(row: sqlite3.Row) -> PaymentLinkRecord:
    return PaymentLinkRecord(
        id=row["id"],
        amount=row["amount"],
        currency=row["currency"],
        description=row["description"],
        status=row["status"],
        created_at=row["created_at"],
        paid_at=row["paid_at"],
    )


class PaymentLinkStore:
    """Payment links of every account, in one SQLite file."""

    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        """Open (creating when needed) the database at `path`; `clock` tells the time, in
        seconds since the epoch, for links' times and expiry."""
        self.path = str(path)
        self._clock = clock
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._write_lock = threading.Lock()
        with self._connection() as connection:
            # WAL lets readers run while a write commits, and is persistent in the file.
            connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(_SCHEMA)
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version < _SCHEMA_VERSION:
                connection.executescript(
                    f"BEGIN IMMEDIATE; {_BACKFILL_COUNTS}"
                    f" PRAGMA user_version = {_SCHEMA_VERSION}; COMMIT;"
                )

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are opened and committed explicitly below.
        # timeout: another process (a second sandbox on the same file) may hold the write lock.
        # check_same_thread=False: a pooled connection serves whichever thread checks it out,
        # one at a time.
        connection = sqlite3.connect(
            self.path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        # In WAL mode, NORMAL writes every commit to the WAL file before COMMIT returns, so a
        # committed link is in the operating system's hands and survives the process being
        # killed (even with kill -9); only a power cut or kernel crash could lose the last
        # commits, which FULL would prevent at the cost of an fsync per commit.
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one operation: an idle one from the pool, or a new one."""
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            connection = self._open()
        try:
            yield connection
        except BaseException:
            # A connection left inside a transaction must not serve the next operation.
            if connection.in_transaction:
                connection.close()
                raise
            self._idle.put(connection)
            raise
        self._idle.put(connection)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with SQLite's write lock from the start."""
        with self._connection() as connection, self._write_lock:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every query inside sees the same snapshot."""
        with self._connection() as connection:
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                connection.execute("COMMIT")

    def create(
        self,
        *,
        account: str,
        amount: str,
        currency: str,
        description: str | None,
        ttl_seconds: float | None = None,
    ) -> PaymentLinkRecord:
        """Store a new active link for `account` and return it."""
        now = self._clock()
        expires_ts = now + ttl_seconds if ttl_seconds is not None else None
        created_at = rfc3339(now)
        for _ in range(ID_DRAWS):
            link_id = new_link_id()
            try:
                with self._write() as connection:
                    connection.execute(
                        "INSERT INTO payment_links (id, account, amount, currency, description,"
                        " status, created_at, created_ts, expires_ts)"
                        " VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?)",
                        (
                            link_id,
                            account,
                            amount,
                            currency,
                            description,
                            created_at,
                            now,
                            expires_ts,
                        ),
                    )
            except sqlite3.IntegrityError as error:
                if _is_id_taken(error):
                    continue  # The same random id twice: draw another.
                raise
            return PaymentLinkRecord(
                id=link_id,
                amount=amount,
                currency=currency,
                description=description,
                status="active",
                created_at=created_at,
                paid_at=None,
            )
        raise RuntimeError(f"{ID_DRAWS} random ids in a row were taken already")

    def get(self, link_id: str, *, account: str) -> PaymentLinkRecord | None:
        """The link with this id in `account`; None when there is none."""
        with self._connection() as connection:
            row = _find(connection, link_id, account, self._clock())
        return _record(row) if row is not None else None

    def get_for_checkout(self, link_id: str) -> PaymentLinkRecord | None:
        """The link with this id, whichever account it is in: its URL is all the checkout page's
        customer has."""
        with self._connection() as connection:
            row = _find(connection, link_id, None, self._clock())
        return _record(row) if row is not None else None

    def list_links(
        self, *, account: str, status: str | None, limit: int, offset: int
    ) -> PaymentLinkPage:
        """One page of the account's links, newest first, and how many match in all."""
        where = f"account = :account AND {_STATUS_FILTERS[status]}"
        now = self._clock()
        params = {"account": account, "now": now, "limit": limit, "offset": offset}
        with self._read() as connection:
            total = self._total(connection, account, status, now)
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM payment_links WHERE {where}"
                " ORDER BY seq DESC LIMIT :limit OFFSET :offset",
                params,
            ).fetchall()
        return PaymentLinkPage(links=[_record(row) for row in rows], total=int(total))

    @staticmethod
    def _total(connection: sqlite3.Connection, account: str, status: str | None, now: float) -> int:
        """How many of the account's links the filter matches, from the kept counts."""
        counted = _COUNTED_STATUSES[status]
        marks = ", ".join("?" * len(counted))
        (stored,) = connection.execute(
            f"SELECT COALESCE(SUM(links), 0) FROM link_counts"
            f" WHERE account = ? AND status IN ({marks})",
            (account, *counted),
        ).fetchone()
        sign = _EXPIRED_BY_TIME_SIGN[status]
        if not sign:
            return int(stored)
        (expired_by_time,) = connection.execute(
            "SELECT COUNT(*) FROM payment_links WHERE account = ? AND status = 'active'"
            " AND expires_ts IS NOT NULL AND expires_ts <= ?",
            (account, now),
        ).fetchone()
        return int(stored) + sign * int(expired_by_time)

    def transition(self, link_id: str, *, account: str, status: str) -> PaymentLinkRecord | None:
        """Move an active link of `account` into the final `status`; None when there is no such
        link.

        Raises TransitionRefused when the link is already final (including expired by time).
        """
        return self._transition(link_id, account, status)

    def pay_from_checkout(self, link_id: str) -> PaymentLinkRecord | None:
        """The customer pays the link with this id, whichever account it is in; None when there
        is no such link. Raises TransitionRefused when the link is already final."""
        return self._transition(link_id, None, "paid")

    def _transition(
        self, link_id: str, account: str | None, status: str
    ) -> PaymentLinkRecord | None:
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final status: {status!r}")
        with self._write() as connection:
            now = self._clock()
            row = _find(connection, link_id, account, now)
            if row is None:
                return None
            current = _record(row)
            if current.status != "active":
                raise TransitionRefused(current)
            paid_at = rfc3339(now) if status == "paid" else None
            connection.execute(
                "UPDATE payment_links SET status = ?, paid_at = ? WHERE seq = ?",
                (status, paid_at, row["seq"]),
            )
        return PaymentLinkRecord(
            id=current.id,
            amount=current.amount,
            currency=current.currency,
            description=current.description,
            status=status,
            created_at=current.created_at,
            paid_at=paid_at,
        )

    def insert_many(self, *, account: str, links: Iterable[PaymentLinkRecord]) -> None:
        """Store ready-made links in `account` in one transaction, with the statuses and times
        they carry: for filling a database with test data quickly (the benchmarks seed a million
        links with it). The ids must be new; the kept counts follow, as for any insert."""
        with self._write() as connection:
            connection.executemany(
                "INSERT INTO payment_links (id, account, amount, currency, description, status,"
                " created_at, created_ts, paid_at) VALUES (?, ?, ?, ?, ?, ?, ?, unixepoch(?), ?)",
                (
                    (
                        link.id,
                        account,
                        link.amount,
                        link.currency,
                        link.description,
                        link.status,
                        link.created_at,
                        link.created_at,
                        link.paid_at,
                    )
                    for link in links
                ),
            )

    def close(self) -> None:
        """Close the pooled connections.

        The store stays usable: the next operation opens a fresh connection. An ASGI harness may
        run the app's lifespan, whose shutdown closes the store, more than once in one process.
        """
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return
            connection.close()
