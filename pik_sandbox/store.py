"""Payment links kept in SQLite: the only module that speaks SQL.

A call is first tried on the calling thread's own connection (the event loop's), which never
waits for SQLite's lock: answered at once, as nearly every call is, it costs no hand-over to
another thread. A call that finds the database locked is tried again on the loop a few times,
briefly, while the loop serves other requests (another worker's commit lasts well under a
millisecond); if the lock is still held, the call goes to the store's threads: one writer, where
every write that must wait queues, and a few readers, each keeping one connection for its whole
life; they wait for the lock while the event loop serves other requests. The API's handlers and
the checkout page await the same coroutines (`create`, `get`, `list_links`, `list_served`,
`transition`, `get_for_checkout`, `pay_from_checkout`), so a lock held by another program delays
only the requests that need it, never the event loop.

The worker processes of one command (pik_sandbox.workers) also take turns to write on a
process-shared lock, which a write on the loop waits for up to WRITE_TURN_WAIT_SECONDS, once;
and one thread of one of them checkpoints the WAL for all (`checkpoints`).

Every operation waits at most `lock_timeout` seconds for SQLite's locks, counted from the moment it
was asked for (time spent queued behind other writes included); past that it raises StorageBusy
and nothing of it is stored. A database that cannot be written (read-only, disk full, I/O errors)
raises StorageFailed; the constructor finds it at once where it can.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import json
import logging
import multiprocessing.synchronize
import os
import queue
import secrets
import shutil
import sqlite3
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import orjson

from pik_sandbox.workers import process_lock

T = TypeVar("T")

ID_PREFIX: Final = "pl_"
ID_ALPHABET: Final = string.ascii_letters + string.digits
ID_RANDOM_LENGTH: Final = 24  # 62**24 ~ 2**143: collisions are not a practical concern.
ID_DRAWS: Final = 3  # ...so an id taken this many times in a row means something else is wrong.
FINAL_STATUSES: Final = frozenset({"paid", "expired", "deactivated"})
# How many consecutive positions of an account one row of link_blocks counts. A filtered page at
# a deep offset adds up to (links / 2 / this) rows of counts, then steps over fewer than this many
# index entries: about the square root of a large account is best. Changing it means refilling
# link_blocks (a new _SCHEMA_VERSION).
POSITIONS_PER_BLOCK: Final = 1024

_SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS payment_links (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    account      TEXT    NOT NULL,
    -- 1, 2, 3... in the order the account's links were created, given in the creating
    -- transaction; links are never deleted, so an account's positions have no gaps.
    position     INTEGER NOT NULL,
    amount       TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    description  TEXT,
    status       TEXT    NOT NULL
                 CHECK (status IN ('active', 'paid', 'expired', 'deactivated')),
    created_at   TEXT    NOT NULL,
    created_ts   REAL    NOT NULL,
    expires_ts   REAL,
    paid_at      TEXT,
    tail         TEXT
);
-- tail: the link as the API shows it after its id and url, `"amount":...` to the object's end
-- (link_tail), written with every change, so that a page is read as two values per link.
-- The list, newest first: creation order, which also orders links created within the same
-- second. Positions have no gaps, so the page at `offset` starts at position (links - offset):
-- a seek in this index, however deep the page.
CREATE UNIQUE INDEX IF NOT EXISTS payment_links_account_position
    ON payment_links (account, position);
-- The list with a status filter; expires_ts is in it so that the `active` filter, which reads it,
-- is answered from the index alone.
CREATE INDEX IF NOT EXISTS payment_links_account_status_position
    ON payment_links (account, status, position, expires_ts);
-- Active links that carry an expiry time: counting the ones past it, and finding their blocks
-- for a filtered page, stays cheap however large the account, and reads the index alone (status
-- is in it for that). Links without one (no --link-ttl) are not in this index at all.
CREATE INDEX IF NOT EXISTS payment_links_expiring_at
    ON payment_links (account, expires_ts, position, status)
    WHERE status = 'active' AND expires_ts IS NOT NULL;
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
-- The same counts per block of POSITIONS_PER_BLOCK positions, so that a filtered page at a deep
-- offset finds the block it starts in by adding up block counts instead of stepping over every
-- matching link before it. A link without a position cannot be counted, and is refused here.
CREATE TABLE IF NOT EXISTS link_blocks (
    account  TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    block    INTEGER NOT NULL,
    links    INTEGER NOT NULL,
    PRIMARY KEY (account, status, block)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS link_blocks_after_insert AFTER INSERT ON payment_links BEGIN
    INSERT INTO link_blocks (account, status, block, links)
        VALUES (NEW.account, NEW.status, (NEW.position - 1) / {POSITIONS_PER_BLOCK}, 1)
        ON CONFLICT (account, status, block) DO UPDATE SET links = links + 1;
END;
CREATE TRIGGER IF NOT EXISTS link_blocks_after_status AFTER UPDATE OF status ON payment_links
WHEN OLD.status <> NEW.status BEGIN
    UPDATE link_blocks SET links = links - 1
        WHERE account = OLD.account AND status = OLD.status
        AND block = (OLD.position - 1) / {POSITIONS_PER_BLOCK};
    INSERT INTO link_blocks (account, status, block, links)
        VALUES (NEW.account, NEW.status, (NEW.position - 1) / {POSITIONS_PER_BLOCK}, 1)
        ON CONFLICT (account, status, block) DO UPDATE SET links = links + 1;
END;
-- Webhook endpoints, and the outbox of their deliveries: a delivery row is written in the same
-- transaction as the change that causes its event, so an acknowledged payment never loses it.
CREATE TABLE IF NOT EXISTS webhooks (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    account     TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    events      TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'active',
    created_at  TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS webhooks_account ON webhooks (account, seq);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    seq         INTEGER PRIMARY KEY,
    event_id    TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    webhook_id  TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'delivered', 'undelivered')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_ts     REAL    NOT NULL,
    last_result TEXT
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending
    ON webhook_deliveries (webhook_id, seq) WHERE state = 'pending';
"""
# Databases written before link_counts (version 1) or link_blocks (version 2) existed get them
# filled once, when first opened; both are counted afresh, in one transaction, and the index
# payment_links_expiring_at replaces is dropped. Version 3 stores each link's tail
# (_fill_tails), in the same transaction.
_SCHEMA_VERSION: Final = 3
_BACKFILL_COUNTS: Final = f"""
DROP INDEX IF EXISTS payment_links_expiring;
DELETE FROM link_counts;
INSERT INTO link_counts (account, status, links)
    SELECT account, status, COUNT(*) FROM payment_links GROUP BY account, status;
DELETE FROM link_blocks;
INSERT INTO link_blocks (account, status, block, links)
    SELECT account, status, (position - 1) / {POSITIONS_PER_BLOCK}, COUNT(*) FROM payment_links
    GROUP BY 1, 2, 3;
"""
# Databases written before positions existed: their links are numbered in the order of `seq`,
# which is the order they were created in and the order the list used to follow, and the
# indexes that position replaces are dropped.
_NUMBER_LINKS: Final = (
    "ALTER TABLE payment_links ADD COLUMN position INTEGER",
    "UPDATE payment_links SET position = numbered.position FROM ("
    "  SELECT seq, ROW_NUMBER() OVER (PARTITION BY account ORDER BY seq) AS position"
    "  FROM payment_links"
    ") AS numbered WHERE payment_links.seq = numbered.seq",
    "DROP INDEX IF EXISTS payment_links_account_seq",
    "DROP INDEX IF EXISTS payment_links_account_status_seq",
    "CREATE UNIQUE INDEX payment_links_account_position ON payment_links (account, position)",
)

# A link past its expiry time is `expired` whatever its stored status says, so get, list and the
# list's filter agree without a background job rewriting rows.
_EFFECTIVE_STATUS: Final = (
    "CASE WHEN status = 'active' AND expires_ts IS NOT NULL AND expires_ts <= :now"
    " THEN 'expired' ELSE status END"
)
_COLUMNS: Final = (
    f"id, amount, currency, description, {_EFFECTIVE_STATUS} AS status, created_at, paid_at"
)
# A page as the API serves it: the id, the stored tail, and whether the tail's status is out of
# date (an active link past its expiry time, or a row written without a tail).
_SERVED_COLUMNS: Final = (
    "id, tail, tail IS NULL OR (status = 'active' AND expires_ts IS NOT NULL"
    " AND expires_ts <= :now) AS stale"
)
_STATUS_FILTERS: Final = {
    None: "1",
    "active": "status = 'active' AND (expires_ts IS NULL OR expires_ts > :now)",
    "expired": "(status = 'expired' OR (status = 'active' AND expires_ts <= :now))",
    "paid": "status = 'paid'",
    "deactivated": "status = 'deactivated'",
}
# Stored counts per status (from link_counts) that make up each filter's total. Active links past
# their expiry time are counted apart (payment_links_expiring_at) and moved from active to
# expired.
_COUNTED_STATUSES: Final = {
    None: ("active", "paid", "expired", "deactivated"),
    "active": ("active",),
    "expired": ("expired",),
    "paid": ("paid",),
    "deactivated": ("deactivated",),
}
_EXPIRED_BY_TIME_SIGN: Final = {None: 0, "active": -1, "expired": 1, "paid": 0, "deactivated": 0}
# The position the account's next link takes (the unique index answers MAX with one seek).
_NEXT_POSITION: Final = "SELECT COALESCE(MAX(position), 0) + 1 FROM payment_links WHERE account = ?"


@dataclass(slots=True)
class PaymentLinkRecord:
    """One stored payment link, with its status as of the moment it was read.

    Not frozen: one is built for every link a page reads, and a frozen dataclass takes about
    six times as long to build. Its fields are in the order of `_COLUMNS`, so a row read as a
    plain tuple builds one positionally.
    """

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


@dataclass(frozen=True)
class ServedPage:
    """One page of an account's links as the API serves them: (id, tail) of each link, newest
    first, and the size of the whole filtered set."""

    links: list[tuple[str, str]]
    total: int


def link_fields(link: PaymentLinkRecord) -> dict[str, str]:
    """A link's fields as the API shows them, after its id and url: optional ones are absent,
    never null."""
    fields = {"amount": link.amount, "currency": link.currency}
    if link.description is not None:
        fields["description"] = link.description
    fields["status"] = link.status
    fields["created_at"] = link.created_at
    if link.paid_at is not None:
        fields["paid_at"] = link.paid_at
    return fields


def link_tail(link: PaymentLinkRecord) -> str:
    """`link_fields` as the end of a JSON object, `"amount":"75.00",...}`: what follows the id
    and the url, which depends on the sandbox's public URL and so is never stored."""
    return orjson.dumps(link_fields(link)).decode()[1:]


@dataclass(frozen=True)
class WebhookRecord:
    """One webhook endpoint; `secret` signs its deliveries."""

    id: str
    url: str
    events: tuple[str, ...]
    secret: str
    status: str
    created_at: str


@dataclass(frozen=True)
class DeliveryRecord:
    """One event to send to one endpoint, as the outbox holds it."""

    seq: int
    event_id: str
    event_type: str
    webhook_id: str
    url: str
    secret: str
    body: bytes
    attempts: int
    state: str
    last_result: str | None


class TransitionRefused(Exception):
    """The link is already in a final state, which never changes."""

    def __init__(self, link: PaymentLinkRecord) -> None:
        super().__init__(f"payment link {link.id} is already {link.status}")
        self.link = link


logger = logging.getLogger("pik_sandbox.store")

# How long an operation may wait for SQLite's locks before it is refused, unless told otherwise.
DEFAULT_LOCK_TIMEOUT_SECONDS: Final = 5.0
# Reader threads: reads in WAL mode never wait for a writer, so a few cover many requests.
READER_THREADS: Final = 4
# A call on the event loop that finds the database locked tries again on the loop after each of
# these pauses (seconds; 0 lets the loop's other work run first), about 15 ms in all: enough for
# another worker's commit or a checkpoint. Then it waits on a store thread, up to the lock
# timeout, for a lock held longer (by another program, say).
INLINE_RETRY_PAUSES: Final = (0, 0, 0.0002, 0.0005, 0.001, 0.001, 0.002, 0.002, 0.003, 0.005, None)
# The WAL is copied into the database file by one thread (see `PaymentLinkStore.checkpoints`)
# this often, rather than by whichever commit crosses SQLite's threshold: that commit would sync
# the disk on the event loop, and commits of several processes would take turns at checkpoints
# none of which could start the WAL over, so that it grew without end.
CHECKPOINT_INTERVAL_SECONDS: Final = 0.1
# A WAL longer than this (in pages of 4 KiB) is started over: writes that never pause would
# otherwise keep every passive checkpoint from finishing, and the WAL from being reused.
RESTART_WAL_PAGES: Final = 4096
# How long a RESTART checkpoint may wait for the writers and readers before its turn is skipped.
CHECKPOINT_WAIT_MS: Final = 50
# Once a store uses the checkpointer (an app's lifespan starts it), commits checkpoint only
# when the WAL holds this many pages (128 MiB, beyond what the checkpointer lets it reach), a
# safety net; before, or in an app served without its lifespan, at SQLite's own threshold.
AUTOCHECKPOINT_PAGES: Final = 32_768
SQLITE_AUTOCHECKPOINT_PAGES: Final = 1000
# How long a write on the event loop waits, on its first try, for another worker process's
# write to commit (in well under a millisecond, unless that process is held up); its later tries
# only look. Waiting, the loop serves nothing, but a waiter is woken the moment the turn is free:
# a write that only looked would keep losing the turn to the busier process's waiters.
WRITE_TURN_WAIT_SECONDS: Final = 0.002
# Below this much free space where the database lives, the sandbox refuses to start.
MIN_FREE_BYTES: Final = 1024 * 1024
# What a refused write tells the client to wait before trying again.
BUSY_RETRY_AFTER_SECONDS: Final = 1


class StorageBusy(Exception):
    """SQLite's lock stayed taken (by another process on the same file) for longer than the
    bounded wait; nothing of the operation was stored and it may be retried."""

    retry_after: int = BUSY_RETRY_AFTER_SECONDS


class StorageFailed(Exception):
    """The database cannot be used as it must be: read-only, a full disk, an I/O error. The
    message says which, in words for the person running the sandbox."""


_FAILURE_REASONS: Final = (
    ("SQLITE_READONLY", "the database is read-only"),
    ("SQLITE_FULL", "the disk holding the database is full"),
    ("SQLITE_CANTOPEN", "the database file cannot be opened"),
    ("SQLITE_PERM", "the database file may not be written"),
    ("SQLITE_IOERR", "the database file cannot be read or written (an I/O error)"),
    ("SQLITE_CORRUPT", "the database file is damaged"),
    ("SQLITE_NOTADB", "the file is not a SQLite database"),
)


def _storage_error(error: sqlite3.Error) -> Exception:
    """The store's own exception for a SQLite error about the file or its locks; any other
    error (a bug in a statement) is left as it is."""
    name = getattr(error, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StorageBusy(f"the database is locked by another connection: {error}")
    for prefix, reason in _FAILURE_REASONS:
        if name.startswith(prefix):
            return StorageFailed(f"{reason} ({error})")
    if isinstance(error, sqlite3.OperationalError) and "disk" in str(error).lower():
        return StorageFailed(f"the database file cannot be written ({error})")
    return error


# Random bytes become letters and digits by keeping those below 248 (4 x 62) and taking each one
# modulo 62: every character equally likely, at the speed of one bytes.translate.
_UNBIASED_BYTES: Final = 4 * len(ID_ALPHABET)
_BYTE_TO_CHARACTER: Final = bytes(ord(ID_ALPHABET[byte % len(ID_ALPHABET)]) for byte in range(256))
_BIASED_BYTES: Final = bytes(range(_UNBIASED_BYTES, 256))


def _random_id(prefix: str) -> str:
    """`prefix` followed by ID_RANDOM_LENGTH random letters and digits from a cryptographic
    source."""
    picked = b""
    while len(picked) < ID_RANDOM_LENGTH:
        picked += secrets.token_bytes(32).translate(_BYTE_TO_CHARACTER, _BIASED_BYTES)
    return prefix + picked[:ID_RANDOM_LENGTH].decode("ascii")


# The events a link's final state causes, in the order they are sent.
_EVENTS_OF_STATUS: Final = {
    "paid": ("payment.confirmed", "payment.settled"),
    "expired": ("payment.failed",),
    "deactivated": ("payment.failed",),
}


def _event_bodies(link: PaymentLinkRecord, now: float) -> list[tuple[str, str, bytes]]:
    """(event id, type, JSON body) of each event `link` reaching its final status causes."""
    at = rfc3339(now)
    transaction = _random_id("txn_")
    bodies = []
    for event in _EVENTS_OF_STATUS.get(link.status, ()):
        data: dict[str, str] = {
            "transaction_id": transaction,
            "payment_link_id": link.id,
            "amount": link.amount,
            "currency": link.currency,
        }
        if event == "payment.failed":
            data.update(status="failed", failed_at=at, reason=link.status)
        else:
            data.update(confirmed_at=link.paid_at or at)
            data["status"] = "confirmed" if event == "payment.confirmed" else "settled"
            if event == "payment.settled":
                data["settled_at"] = at
        event_id = _random_id("evt_")
        envelope = {"event": event, "id": event_id, "created_at": at, "data": data}
        bodies.append((event_id, event, json.dumps(envelope, separators=(",", ":")).encode()))
    return bodies


def _record_events(
    connection: sqlite3.Connection, account: str, link: PaymentLinkRecord, now: float
) -> None:
    """Put the events of `link`'s new final status in the outbox of every active endpoint of
    `account` subscribed to them, inside the caller's transaction."""
    endpoints = connection.execute(
        "SELECT id, events FROM webhooks WHERE account = ? AND status = 'active' ORDER BY seq",
        (account,),
    ).fetchall()
    if not endpoints:
        return
    for event_id, event, body in _event_bodies(link, now):
        for endpoint in endpoints:
            if event in json.loads(endpoint["events"]):
                connection.execute(
                    "INSERT INTO webhook_deliveries"
                    " (event_id, event_type, webhook_id, body, next_ts) VALUES (?, ?, ?, ?, ?)",
                    (event_id, event, endpoint["id"], body, now),
                )


def _webhook(row: sqlite3.Row) -> WebhookRecord:
    return WebhookRecord(
        id=row["id"],
        url=row["url"],
        events=tuple(json.loads(row["events"])),
        secret=row["secret"],
        status=row["status"],
        created_at=row["created_at"],
    )


_DELIVERIES: Final = (
    "SELECT d.seq, d.event_id, d.event_type, d.webhook_id, w.url, w.secret, d.body, d.attempts,"
    " d.state, d.last_result FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
)


def _delivery(row: sqlite3.Row) -> DeliveryRecord:
    return DeliveryRecord(**{key: row[key] for key in row.keys()})  # noqa: SIM118


def _nothing() -> None:
    pass


def new_link_id() -> str:
    """`pl_` followed by random letters and digits from a cryptographic source."""
    return _random_id(ID_PREFIX)


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


def _has_lapsed_links(connection: sqlite3.Connection, account: str, now: float) -> bool:
    """Whether any active link of `account` is past its expiry time (one seek in
    payment_links_expiring_at)."""
    (lapsed,) = connection.execute(
        "SELECT EXISTS (SELECT 1 FROM payment_links WHERE account = ? AND status = 'active'"
        " AND expires_ts IS NOT NULL AND expires_ts <= ?)",
        (account, now),
    ).fetchone()
    return bool(lapsed)


def _fresh_tail(connection: sqlite3.Connection, link_id: str, now: float) -> str:
    """The tail of a link as it is now, made from its columns (for a stale or missing one)."""
    row = _find(connection, link_id, None, now)
    if row is None:  # The page was read in the same snapshot: it cannot be gone.
        raise RuntimeError(f"link {link_id} vanished within one read transaction")
    return link_tail(_record(row))


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


def _tuples(connection: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor whose rows are plain tuples: a page's hundred rows are read faster so."""
    cursor = connection.cursor()
    cursor.row_factory = None
    return cursor


def _filtered_page(
    connection: sqlite3.Connection,
    account: str,
    status: str,
    now: float,
    total: int,
    limit: int,
    offset: int,
    columns: str = _COLUMNS,
) -> list[tuple[Any, ...]]:
    """The rows (`columns`) of one page of `account`'s links whose status is `status`, of
    `total` in all.

    The block counts, added up from whichever end of the account is nearer the page, give the
    blocks holding its first and its last link, and how many matching links of the first block
    come before the page; the page is then read between those blocks' positions, stepping over
    fewer than POSITIONS_PER_BLOCK index entries.
    """
    offset = max(offset, 0)
    # As SQLite's LIMIT: a negative one is no limit.
    end = total if limit < 0 else min(offset + limit, total)
    if end <= offset:
        return []
    moved = _moved_by_time(connection, account, status, now)
    # The page holds the matching links ranked first..last from the newest (from 0), which are
    # those ranked total-1-last..total-1-first from the oldest: the counts are added up from
    # whichever end is nearer.
    first, last = offset, end - 1
    if last <= total - 1 - first:
        counts = _block_counts(connection, account, status, moved, newest_first=True)
        (top, skip, _), (bottom, _, _) = _find_ranks(counts, (first, last))
    else:
        counts = _block_counts(connection, account, status, moved, newest_first=False)
        (bottom, _, _), (top, older, links) = _find_ranks(
            counts, (total - 1 - last, total - 1 - first)
        )
        skip = links - 1 - older
    # With no link past its expiry time, the stored status is the status: the status index
    # alone answers then, even for `expired`, whose full condition has every row in the range
    # read from the table.
    condition = _STATUS_FILTERS.get(status, "status = :status") if moved else "status = :status"
    rows: list[tuple[Any, ...]] = (
        _tuples(connection)
        .execute(
            f"SELECT {columns} FROM payment_links WHERE account = :account AND {condition}"
            " AND position > :low AND position <= :high"
            " ORDER BY position DESC LIMIT :limit OFFSET :skip",
            {
                "account": account,
                "status": status,
                "now": now,
                "low": bottom * POSITIONS_PER_BLOCK,
                "high": (top + 1) * POSITIONS_PER_BLOCK,
                "limit": end - offset,
                "skip": skip,
            },
        )
        .fetchall()
    )
    return rows


def _moved_by_time(
    connection: sqlite3.Connection, account: str, status: str, now: float
) -> dict[int, int]:
    """Per block, how far the filter `status` counts away from the stored statuses: active links
    past their expiry time count as expired (+1 each) and not as active (-1 each)."""
    sign = _EXPIRED_BY_TIME_SIGN.get(status, 0)
    if not sign:
        return {}
    cursor = connection.cursor()
    cursor.row_factory = None
    # Counted here rather than by GROUP BY, whose sorting costs more than the counting.
    blocks = collections.Counter(
        block
        for (block,) in cursor.execute(
            f"SELECT (position - 1) / {POSITIONS_PER_BLOCK} FROM payment_links"
            " WHERE account = ? AND status = 'active' AND expires_ts IS NOT NULL"
            " AND expires_ts <= ?",
            (account, now),
        )
    )
    return {block: sign * links for block, links in blocks.items()}


def _block_counts(
    connection: sqlite3.Connection,
    account: str,
    status: str,
    moved: dict[int, int],
    *,
    newest_first: bool,
) -> Iterator[tuple[int, int]]:
    """(block, how many links the filter `status` matches in it) of `account`, from its newest
    block or its oldest, read as they are needed."""
    cursor = connection.cursor()
    cursor.row_factory = None  # plain tuples: this may read a thousand rows
    stored: Iterator[tuple[int, int]] = cursor.execute(
        "SELECT block, links FROM link_blocks WHERE account = ? AND status = ?"
        f" ORDER BY block {'DESC' if newest_first else 'ASC'}",
        (account, status),
    )
    return _with_moved(stored, moved, newest_first=newest_first) if moved else stored


def _with_moved(
    stored: Iterator[tuple[int, int]], moved: dict[int, int], *, newest_first: bool
) -> Iterator[tuple[int, int]]:
    """The stored (block, count) rows with `moved` added to their counts, in the same order; a
    block that only `moved` has (expired links by time alone) comes in its place."""
    pending = sorted(moved, reverse=newest_first)
    index = 0
    for block, links in stored:
        # Blocks that come before this one and that only `moved` has.
        while index < len(pending) and (
            pending[index] > block if newest_first else pending[index] < block
        ):
            yield pending[index], moved[pending[index]]
            index += 1
        if index < len(pending) and pending[index] == block:
            index += 1
            yield block, links + moved[block]
        else:
            yield block, links
    for block in pending[index:]:
        yield block, moved[block]


def _find_ranks(
    counts: Iterator[tuple[int, int]], ranks: Sequence[int]
) -> list[tuple[int, int, int]]:
    """For each of `ranks` (ascending, counted in the order of `counts`): the block holding the
    link of that rank, the link's rank within that block, and the block's count."""
    found = []
    passed, block, links = 0, 0, 0
    for rank in ranks:
        while passed + links <= rank:
            passed += links
            step = next(counts, None)
            if step is None:
                raise RuntimeError("the block counts hold fewer links than the kept totals")
            block, links = step
        found.append((block, rank - passed, links))
    return found


def _read_only_reason(path: Path) -> str | None:
    """Why the database at `path` cannot be written, when the file system says so."""
    folder = path.parent
    if hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY:
        return "the file system holding the database is read-only"
    if path.exists() and not os.access(path, os.W_OK):
        return "the database file is read-only"
    if not os.access(folder, os.W_OK):
        return "the database's folder is read-only (SQLite writes its -wal and -shm files there)"
    return None


@dataclass
class _Job:
    """One call for a store thread: `function` gets the thread's connection and the moment by
    which it must have its locks."""

    function: Callable[[sqlite3.Connection, float], object]
    deadline: float
    future: concurrent.futures.Future[object]


class _Lane:
    """Threads that each own one SQLite connection and take calls from one queue, in order.

    Started on first use and stopped by `close()`, which the next call undoes; the threads are
    daemons, so an app that is never closed does not keep the process alive.
    """

    def __init__(self, name: str, threads: int, connect: Callable[[], sqlite3.Connection]) -> None:
        self._name = name
        self._size = threads
        self._connect = connect
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, job: _Job) -> None:
        with self._lock:
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._serve, name=f"{self._name}-{n}", daemon=True)
                    for n in range(self._size)
                ]
                for thread in self._threads:
                    thread.start()
            self._jobs.put(job)

    def close(self) -> None:
        with self._lock:
            threads, self._threads = self._threads, []
            for _ in threads:
                self._jobs.put(None)
        for thread in threads:
            thread.join()

    def _serve(self) -> None:
        connection: sqlite3.Connection | None = None
        while (job := self._jobs.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                if connection is None:
                    connection = self._connect()
                result = job.function(connection, job.deadline)
            except sqlite3.Error as error:
                job.future.set_exception(_storage_error(error))
                # A connection that failed on the file itself (or is left inside a transaction)
                # is replaced by a fresh one for the next call.
                if connection is not None and not _still_usable(connection, error):
                    _close_quietly(connection)
                    connection = None
            except BaseException as error:  # handed to the caller, which re-raises it
                job.future.set_exception(error)
            else:
                job.future.set_result(result)
        if connection is not None:
            _close_quietly(connection)


class _InlineConnections:
    """One connection per thread for calls made on an event loop: a call that finds the database
    unlocked (nearly every one) is answered without handing it to another thread.

    They never wait for SQLite's lock (busy_timeout 0), so the event loop is never held up by
    another program's transaction. `close()` closes them all; each thread's next call opens a
    new one.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._local = threading.local()
        self._open: set[sqlite3.Connection] = set()
        self._lock = threading.Lock()
        self._generation = 0

    def connection(self) -> sqlite3.Connection:
        kept: tuple[int, sqlite3.Connection] | None = getattr(self._local, "kept", None)
        if kept is not None and kept[0] == self._generation:
            return kept[1]
        connection = self._connect()
        with self._lock:
            self._open.add(connection)
            self._local.kept = (self._generation, connection)
        return connection

    def after_error(self, connection: sqlite3.Connection, error: sqlite3.Error) -> None:
        """Replace a connection that failed on the file itself, or was left in a transaction,
        as the store's threads do theirs."""
        if not _still_usable(connection, error):
            with self._lock:
                self._open.discard(connection)
                self._local.kept = None
            _close_quietly(connection)

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, set()
            self._generation += 1
        for connection in connections:
            _close_quietly(connection)


def _still_usable(connection: sqlite3.Connection, error: sqlite3.Error) -> bool:
    """Whether a connection can serve the next call after `error`: it is not left inside a
    transaction, and the error was about the data (a constraint) or another connection's lock,
    not about the file itself. Reopening costs far more than the call (a cold cache, the schema
    read again), and a worker meets the other workers' locks often."""
    if connection.in_transaction:
        return False
    return isinstance(error, sqlite3.IntegrityError) or isinstance(
        _storage_error(error), StorageBusy
    )


def _close_quietly(connection: sqlite3.Connection) -> None:
    """Close a connection whose file may be failing: the thread must live on to serve the next
    call, which opens a fresh one."""
    with contextlib.suppress(sqlite3.Error):
        connection.close()


def _wait_at_most(connection: sqlite3.Connection, deadline: float | None) -> None:
    """Let SQLite wait for a lock until `deadline` at most; refuse at once when it has passed.
    None: a call on the event loop's own connection, which never waits (a lock sends the call
    to the store's threads instead)."""
    if deadline is None:
        return
    remaining_ms = int((deadline - time.monotonic()) * 1000)
    if remaining_ms <= 0:
        raise StorageBusy("the database stayed locked while this operation queued")
    connection.execute(f"PRAGMA busy_timeout = {remaining_ms}")


def _checkpoint_after_change(
    seen: int | None, turn: multiprocessing.synchronize.Lock
) -> Callable[[sqlite3.Connection, float | None], int]:
    """When the database changed since `seen` (its data_version, as this connection saw it), a
    passive checkpoint, which never holds up a writer; when it finds the WAL longer than
    RESTART_WAL_PAGES, a RESTART checkpoint too, in the writers' `turn` (writes that never
    pause would starve it of SQLite's lock), after which the next write starts the WAL over.
    Returns the version now."""

    def run(connection: sqlite3.Connection, _deadline: float | None) -> int:
        (version,) = connection.execute("PRAGMA data_version").fetchone()
        if version != seen:
            _, wal_pages, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if wal_pages > RESTART_WAL_PAGES and turn.acquire(timeout=CHECKPOINT_WAIT_MS / 1000):
                try:
                    connection.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
                    connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                finally:
                    turn.release()
        return int(version)

    return run


# A new link's row; the account's next position is read and taken inside the write transaction,
# where no other write of this or any process comes in between.
_INSERT_LINK: Final = (
    "INSERT INTO payment_links (id, account, position, amount, currency, description,"
    " status, created_at, created_ts, expires_ts, tail)"
    f" VALUES (?, ?, ({_NEXT_POSITION}), ?, ?, ?, 'active', ?, ?, ?, ?)"
)


def _in_write_transaction(
    function: Callable[[sqlite3.Connection], T],
) -> Callable[[sqlite3.Connection, float | None], T]:
    """`function` inside one write transaction, taken with SQLite's write lock from the start:
    all of it is stored, or (on any failure) none of it."""

    def run(connection: sqlite3.Connection, deadline: float | None) -> T:
        _wait_at_most(connection, deadline)
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = function(connection)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return result

    return run


def _one_statement(
    function: Callable[[sqlite3.Connection], T],
) -> Callable[[sqlite3.Connection, float | None], T]:
    """`function`, a single read statement (its own snapshot), under the bounded wait."""

    def run(connection: sqlite3.Connection, deadline: float | None) -> T:
        _wait_at_most(connection, deadline)
        return function(connection)

    return run


def _in_read_transaction(
    function: Callable[[sqlite3.Connection], T],
) -> Callable[[sqlite3.Connection, float | None], T]:
    """`function` inside one read transaction: every query sees the same snapshot."""

    def run(connection: sqlite3.Connection, deadline: float | None) -> T:
        _wait_at_most(connection, deadline)
        connection.execute("BEGIN")
        try:
            return function(connection)
        finally:
            if connection.in_transaction:
                connection.execute("COMMIT")

    return run


class PaymentLinkStore:
    """Payment links of every account, in one SQLite file."""

    def __init__(
        self,
        path: Path | str,
        clock: Callable[[], float] = time.time,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    ) -> None:
        """Open (creating when needed) the database at `path` and check that it can be written;
        `clock` tells the time, in seconds since the epoch, for links' times and expiry;
        `lock_timeout` bounds every wait for SQLite's locks, in seconds.

        Raises StorageFailed when the database cannot be written (read-only, a full disk) and
        StorageBusy when another process keeps it locked longer than `lock_timeout`.
        """
        self.path = str(path)
        self._clock = clock
        # Called on the event loop after a change that may have put events in the outbox.
        self.on_events: Callable[[], None] = _nothing
        self.lock_timeout = lock_timeout
        folder = Path(self.path).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(folder).free
        except OSError as error:
            raise StorageFailed(f"the database's folder cannot be used ({error})") from None
        if free < MIN_FREE_BYTES:
            raise StorageFailed(
                f"the disk holding the database is full ({free} bytes free, "
                f"{MIN_FREE_BYTES // 1024} KiB needed)"
            )
        self._writer = _Lane("pik-store-writer", 1, self._open)
        self._readers = _Lane("pik-store-reader", READER_THREADS, self._open)
        self._inline = _InlineConnections(self._open_inline)
        self._checkpointer = _Lane("pik-store-checkpointer", 1, self._open)
        # Writes on the event loops of the processes forked after this (pik_sandbox.workers)
        # take turns here: a write that finds another under way sleeps until it commits (up to
        # WRITE_TURN_WAIT_SECONDS), woken in turn, where SQLite's lock would only refuse it,
        # at more cost, and leave it to poll, losing to the busier process. The checkpointer
        # takes the turn to hold the writers off while it starts the WAL over.
        self._write_turn: multiprocessing.synchronize.Lock = process_lock()
        # SQLite's own threshold until use_checkpointer().
        self._autocheckpoint_pages = SQLITE_AUTOCHECKPOINT_PAGES
        try:
            self._call_blocking(self._writer, _prepare)
        except StorageFailed as failed:
            self.close()
            reason = _read_only_reason(Path(self.path))
            raise StorageFailed(f"{reason} ({failed})" if reason else str(failed)) from None
        except BaseException:
            self.close()
            raise

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are opened and committed explicitly.
        # check_same_thread=False: opened by the thread that uses it, closed by it or by close().
        connection = sqlite3.connect(
            self.path, timeout=self.lock_timeout, isolation_level=None, check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        # In WAL mode, NORMAL writes every commit to the WAL file before COMMIT returns, so a
        # committed link is in the operating system's hands and survives the process being
        # killed (even with kill -9); only a power cut or kernel crash could lose the last
        # commits, which FULL would prevent at the cost of an fsync per commit.
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute(f"PRAGMA wal_autocheckpoint = {self._autocheckpoint_pages}")
        return connection

    def _open_inline(self) -> sqlite3.Connection:
        connection = self._open()
        connection.execute("PRAGMA busy_timeout = 0")
        return connection

    def _job(self, function: Callable[[sqlite3.Connection, float | None], T]) -> _Job:
        future: concurrent.futures.Future[object] = concurrent.futures.Future()
        return _Job(function, time.monotonic() + self.lock_timeout, future)

    async def _call(
        self, lane: _Lane, function: Callable[[sqlite3.Connection, float | None], T]
    ) -> T:
        """`function`'s result: run at once on this thread's own connection, which never waits
        for SQLite's lock; when the database is locked, again on the loop after each of
        INLINE_RETRY_PAUSES, then on `lane`'s threads, which wait for it up to the lock timeout
        while the event loop serves other requests."""
        turn = self._write_turn if lane is self._writer else None
        for attempt, pause in enumerate(INLINE_RETRY_PAUSES):
            try:
                return self._call_inline(function, turn, may_wait=attempt == 0)
            except StorageBusy:
                if pause is None:
                    break
            # Another worker's commit lasts well under a millisecond: this loop's other requests
            # run meanwhile, and the call tries again.
            await asyncio.sleep(pause)
        job = self._job(function)
        lane.submit(job)
        return cast(T, await asyncio.wrap_future(job.future))

    def _call_inline(
        self,
        function: Callable[[sqlite3.Connection, float | None], T],
        turn: multiprocessing.synchronize.Lock | None,
        *,
        may_wait: bool,
    ) -> T:
        """`function` on this thread's own connection, holding `turn` (a write's), waited for
        up to WRITE_TURN_WAIT_SECONDS when `may_wait`; StorageBusy when the database, or the
        turn, is taken."""
        if turn is not None:
            got = turn.acquire(True, WRITE_TURN_WAIT_SECONDS) if may_wait else turn.acquire(False)
            if not got:
                raise StorageBusy("another worker process is writing")
        connection = None
        try:
            connection = self._inline.connection()
            return function(connection, None)
        except sqlite3.Error as error:
            if connection is not None:
                self._inline.after_error(connection, error)
            raise _storage_error(error) from None
        finally:
            if turn is not None:
                turn.release()

    def use_checkpointer(self) -> None:
        """From now on, leave checkpoints to `checkpoints()`, which one process of those serving
        the file runs: commits checkpoint only past AUTOCHECKPOINT_PAGES, as a safety net, not
        past SQLite's 1,000 pages. Connections already open are closed (the next calls open
        them again)."""
        self._autocheckpoint_pages = AUTOCHECKPOINT_PAGES
        self.close()

    async def checkpoints(self, interval: float = CHECKPOINT_INTERVAL_SECONDS) -> None:
        """Until cancelled, every `interval` seconds after a change: copy the WAL's pages into
        the database file and have the next write start the WAL over, on a thread of its own.

        One process of those sharing the file runs this (the one that sends webhooks). It waits
        for the writers at most CHECKPOINT_WAIT_MS, then holds them off while it copies; a turn
        it cannot take is taken at the next one."""
        seen = None
        while True:
            await asyncio.sleep(interval)
            job = self._job(_checkpoint_after_change(seen, self._write_turn))
            self._checkpointer.submit(job)
            try:
                seen = cast(int, await asyncio.wrap_future(job.future))
            except (StorageBusy, StorageFailed, sqlite3.Error) as error:
                logger.debug("checkpoint skipped: %s", error)

    def _call_blocking(
        self, lane: _Lane, function: Callable[[sqlite3.Connection, float | None], T]
    ) -> T:
        job = self._job(function)
        lane.submit(job)
        return cast(T, job.future.result())

    async def create(
        self,
        *,
        account: str,
        amount: str,
        currency: str,
        description: str | None,
        ttl_seconds: float | None = None,
    ) -> PaymentLinkRecord:
        """Store a new active link for `account` and return it."""

        def made_at(link_id: str, now: float) -> tuple[PaymentLinkRecord, str]:
            link = PaymentLinkRecord(
                id=link_id,
                amount=amount,
                currency=currency,
                description=description,
                status="active",
                created_at=rfc3339(now),
                paid_at=None,
            )
            return link, link_tail(link)

        def insert(
            link_id: str, made: float, link: PaymentLinkRecord, tail: str
        ) -> Callable[[sqlite3.Connection], PaymentLinkRecord]:
            def run(connection: sqlite3.Connection) -> PaymentLinkRecord:
                # Its time is the commit's, as its position is: made again in the rare case
                # that the second changed while the write waited for the lock.
                now = self._clock()
                new, new_tail = (link, tail) if int(now) == int(made) else made_at(link_id, now)
                expires = now + ttl_seconds if ttl_seconds is not None else None
                values = [link_id, account, account, amount, currency, description]
                connection.execute(_INSERT_LINK, [*values, new.created_at, now, expires, new_tail])
                return new

            return run

        for _ in range(ID_DRAWS):
            # The link and its stored tail are made before the write transaction, so that it
            # holds the lock (which other worker processes wait for) as briefly as it can.
            link_id, made = new_link_id(), self._clock()
            link, tail = made_at(link_id, made)
            try:
                return await self._call(
                    self._writer, _in_write_transaction(insert(link_id, made, link, tail))
                )
            except sqlite3.IntegrityError as error:
                if not _is_id_taken(error):
                    raise
                # The same random id twice: draw another.
        raise RuntimeError(f"{ID_DRAWS} random ids in a row were taken already")

    async def get(self, link_id: str, *, account: str) -> PaymentLinkRecord | None:
        """The link with this id in `account`; None when there is none."""
        return await self._call(self._readers, self._finder(link_id, account))

    async def get_for_checkout(self, link_id: str) -> PaymentLinkRecord | None:
        """The link with this id, whichever account it is in: its URL is all the checkout page's
        customer has."""
        return await self._call(self._readers, self._finder(link_id, None))

    def _finder(
        self, link_id: str, account: str | None
    ) -> Callable[[sqlite3.Connection, float | None], PaymentLinkRecord | None]:
        def find(connection: sqlite3.Connection) -> PaymentLinkRecord | None:
            row = _find(connection, link_id, account, self._clock())
            return _record(row) if row is not None else None

        return _one_statement(find)

    async def list_links(
        self, *, account: str, status: str | None, limit: int, offset: int
    ) -> PaymentLinkPage:
        """One page of the account's links, newest first, and how many match in all.

        A deep page costs about what the first one does: without a filter it starts at a known
        position; with one, the kept block counts say between which positions it lies.
        """

        def page(connection: sqlite3.Connection) -> PaymentLinkPage:
            rows, total = self._page(connection, account, status, limit, offset, _COLUMNS)
            return PaymentLinkPage(links=[PaymentLinkRecord(*row) for row in rows], total=total)

        return await self._call(self._readers, _in_read_transaction(page))

    async def list_served(
        self, *, account: str, status: str | None, limit: int, offset: int
    ) -> ServedPage:
        """The page `list_links` gives, as the API serves it: each link's id and stored tail,
        read as two values per link instead of seven (a tail whose status time has changed is
        made afresh)."""

        def page(connection: sqlite3.Connection) -> ServedPage:
            now = self._clock()
            if _has_lapsed_links(connection, account, now):
                columns = _SERVED_COLUMNS
            else:
                # No status is out of date by time (the usual case): only a missing tail is.
                columns = "id, tail, tail IS NULL"
            rows, total = self._page(connection, account, status, limit, offset, columns, now)
            links = [
                (link_id, _fresh_tail(connection, link_id, now) if stale else tail)
                for link_id, tail, stale in rows
            ]
            return ServedPage(links=links, total=total)

        return await self._call(self._readers, _in_read_transaction(page))

    def _page(
        self,
        connection: sqlite3.Connection,
        account: str,
        status: str | None,
        limit: int,
        offset: int,
        columns: str,
        now: float | None = None,
    ) -> tuple[list[tuple[Any, ...]], int]:
        """`columns` of the links of one page, newest first, and how many match in all, as of
        `now` (default: the clock's time)."""
        now = self._clock() if now is None else now
        total = self._total(connection, account, status, now)
        if status is not None:
            rows = _filtered_page(connection, account, status, now, total, limit, offset, columns)
            return rows, total
        # Positions run 1..links without gaps: the link at `offset` from the newest is at
        # position (links - offset).
        rows = (
            _tuples(connection)
            .execute(
                f"SELECT {columns} FROM payment_links WHERE account = :account"
                " AND position <= (SELECT MAX(position) FROM payment_links"
                "                  WHERE account = :account) - :offset"
                " ORDER BY position DESC LIMIT :limit",
                {"account": account, "now": now, "limit": limit, "offset": max(offset, 0)},
            )
            .fetchall()
        )
        return rows, int(total)

    @staticmethod
    def _total(connection: sqlite3.Connection, account: str, status: str | None, now: float) -> int:
        """How many of the account's links the filter matches, from the kept counts."""
        # A status the document names but the store has never stored matches no link.
        counted = _COUNTED_STATUSES.get(status, (status,))
        marks = ", ".join("?" * len(counted))
        (stored,) = connection.execute(
            f"SELECT COALESCE(SUM(links), 0) FROM link_counts"
            f" WHERE account = ? AND status IN ({marks})",
            (account, *counted),
        ).fetchone()
        sign = _EXPIRED_BY_TIME_SIGN.get(status, 0)
        if not sign:
            return int(stored)
        (expired_by_time,) = connection.execute(
            "SELECT COUNT(*) FROM payment_links WHERE account = ? AND status = 'active'"
            " AND expires_ts IS NOT NULL AND expires_ts <= ?",
            (account, now),
        ).fetchone()
        return int(stored) + sign * int(expired_by_time)

    async def transition(
        self, link_id: str, *, account: str, status: str
    ) -> PaymentLinkRecord | None:
        """Move an active link of `account` into the final `status`; None when there is no such
        link.

        Raises TransitionRefused when the link is already final (including expired by time).
        """
        link = await self._call(self._writer, self._transition(link_id, account, status))
        self.on_events()
        return link

    async def pay_from_checkout(self, link_id: str) -> PaymentLinkRecord | None:
        """The customer pays the link with this id, whichever account it is in; None when there
        is no such link. Raises TransitionRefused when the link is already final."""
        link = await self._call(self._writer, self._transition(link_id, None, "paid"))
        self.on_events()
        return link

    def _transition(
        self, link_id: str, account: str | None, status: str
    ) -> Callable[[sqlite3.Connection, float | None], PaymentLinkRecord | None]:
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final status: {status!r}")

        def change(connection: sqlite3.Connection) -> PaymentLinkRecord | None:
            now = self._clock()
            row = _find(connection, link_id, account, now)
            if row is None:
                return None
            current = _record(row)
            if current.status != "active":
                raise TransitionRefused(current)
            paid_at = rfc3339(now) if status == "paid" else None
            changed = PaymentLinkRecord(
                id=current.id,
                amount=current.amount,
                currency=current.currency,
                description=current.description,
                status=status,
                created_at=current.created_at,
                paid_at=paid_at,
            )
            (owner,) = connection.execute(
                "UPDATE payment_links SET status = ?, paid_at = ?, tail = ? WHERE seq = ?"
                " RETURNING account",
                (status, paid_at, link_tail(changed), row["seq"]),
            ).fetchone()
            _record_events(connection, owner, changed, now)
            return changed

        return _in_write_transaction(change)

    async def expire_due(self, limit: int = 100) -> int:
        """Store as `expired` the active links past their expiry time (at most `limit`), with
        their `payment.failed` events; how many there were. Reads already show such links as
        expired: this gives their events a moment to be sent."""

        def expire(connection: sqlite3.Connection) -> int:
            now = self._clock()
            rows = connection.execute(
                f"SELECT seq, account, {_COLUMNS} FROM payment_links"
                " WHERE status = 'active' AND expires_ts IS NOT NULL AND expires_ts <= :now"
                " LIMIT :limit",
                {"now": now, "limit": limit},
            ).fetchall()
            for row in rows:
                expired = _record(row)  # read as expired already: its time has passed
                connection.execute(
                    "UPDATE payment_links SET status = 'expired', tail = ? WHERE seq = ?",
                    (link_tail(expired), row["seq"]),
                )
                _record_events(connection, row["account"], expired, now)
            return len(rows)

        return await self._call(self._writer, _in_write_transaction(expire))

    async def create_webhook(
        self, *, account: str, url: str, events: Iterable[str]
    ) -> WebhookRecord:
        """Register an active endpoint of `account`, with a new signing secret."""

        def insert(connection: sqlite3.Connection) -> WebhookRecord:
            webhook = WebhookRecord(
                id=_random_id("wh_"),
                url=url,
                events=tuple(dict.fromkeys(events)),
                secret="whsec_" + secrets.token_hex(24),
                status="active",
                created_at=rfc3339(self._clock()),
            )
            connection.execute(
                "INSERT INTO webhooks (id, account, url, events, secret, status, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    webhook.id,
                    account,
                    url,
                    json.dumps(webhook.events),
                    webhook.secret,
                    webhook.status,
                    webhook.created_at,
                ),
            )
            return webhook

        return await self._call(self._writer, _in_write_transaction(insert))

    async def list_webhooks(self, *, account: str) -> list[WebhookRecord]:
        """Every endpoint of `account`, oldest first."""

        def select(connection: sqlite3.Connection) -> list[WebhookRecord]:
            rows = connection.execute(
                "SELECT * FROM webhooks WHERE account = ? ORDER BY seq", (account,)
            )
            return [_webhook(row) for row in rows.fetchall()]

        return await self._call(self._readers, _one_statement(select))

    async def due_deliveries(self, *, limit: int, skip: Iterable[int] = ()) -> list[DeliveryRecord]:
        """Pending deliveries whose time has come, oldest first: for each endpoint only its
        oldest pending one, so that an endpoint gets its events in order. `skip`: deliveries
        already being sent."""
        busy = list(skip)

        def select(connection: sqlite3.Connection) -> list[DeliveryRecord]:
            marks = ", ".join("?" * len(busy))
            rows = connection.execute(
                _DELIVERIES + " WHERE d.state = 'pending' AND d.next_ts <= ?"
                f" AND d.seq NOT IN ({marks})"
                " AND d.seq = (SELECT MIN(e.seq) FROM webhook_deliveries e"
                "              WHERE e.webhook_id = d.webhook_id AND e.state = 'pending')"
                " ORDER BY d.seq LIMIT ?",
                (self._clock(), *busy, limit),
            )
            return [_delivery(row) for row in rows.fetchall()]

        return await self._call(self._readers, _one_statement(select))

    async def deliveries(self, *, account: str) -> list[DeliveryRecord]:
        """Every delivery to `account`'s endpoints, oldest first, whatever its state."""

        def select(connection: sqlite3.Connection) -> list[DeliveryRecord]:
            rows = connection.execute(
                _DELIVERIES + " WHERE w.account = ? ORDER BY d.seq",
                (account,),
            )
            return [_delivery(row) for row in rows.fetchall()]

        return await self._call(self._readers, _one_statement(select))

    async def finish_attempt(
        self, seq: int, *, delivered: bool, result: str, retry_in: float | None
    ) -> None:
        """Record one attempt of delivery `seq`: delivered, to be retried in `retry_in` seconds,
        or (None) undelivered for good."""

        def update(connection: sqlite3.Connection) -> None:
            state = (
                "delivered" if delivered else ("pending" if retry_in is not None else "undelivered")
            )
            connection.execute(
                "UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_result = ?,"
                " next_ts = ? WHERE seq = ?",
                (state, result[:200], self._clock() + (retry_in or 0.0), seq),
            )

        await self._call(self._writer, _in_write_transaction(update))

    def insert_many(self, *, account: str, links: Iterable[PaymentLinkRecord]) -> None:
        """Store ready-made links in `account` in one transaction, with the statuses and times
        they carry: for filling a database with test data quickly (the benchmarks seed a million
        links with it), from code that is not on an event loop: it blocks until they are stored.
        The ids must be new; the kept counts follow, as for any insert."""

        def insert(connection: sqlite3.Connection) -> None:
            (start,) = connection.execute(_NEXT_POSITION, (account,)).fetchone()
            connection.executemany(
                "INSERT INTO payment_links (id, account, position, amount, currency, description,"
                " status, created_at, created_ts, paid_at, tail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, unixepoch(?), ?, ?)",
                (
                    (
                        link.id,
                        account,
                        position,
                        link.amount,
                        link.currency,
                        link.description,
                        link.status,
                        link.created_at,
                        link.created_at,
                        link.paid_at,
                        link_tail(link),
                    )
                    for position, link in enumerate(links, start)
                ),
            )

        self._call_blocking(self._writer, _in_write_transaction(insert))

    def close(self) -> None:
        """Finish the calls already asked for, then stop the store's threads and close their
        connections.

        The store stays usable: the next call starts them again. An ASGI harness may run the
        app's lifespan, whose shutdown closes the store, more than once in one process.
        """
        self._writer.close()
        self._readers.close()
        self._checkpointer.close()
        self._inline.close()


def _prepare(connection: sqlite3.Connection, deadline: float | None) -> None:
    """Create or update the schema, then prove that the database can be written: a write that
    is rolled back fails on a read-only file as a kept one would."""
    _wait_at_most(connection, deadline)
    # WAL lets readers run while a write commits, and is persistent in the file.
    connection.execute("PRAGMA journal_mode = WAL")
    _number_links(connection)
    _add_tail_column(connection)
    connection.executescript(_SCHEMA)
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version < _SCHEMA_VERSION:
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Looked at again under the write lock: another process may have done it meanwhile.
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version < _SCHEMA_VERSION:
                for statement in _BACKFILL_COUNTS.split(";"):
                    if statement.strip():
                        connection.execute(statement)
                _fill_tails(connection)
                connection.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(
            "INSERT INTO link_counts (account, status, links) VALUES ('', 'write check', 0)"
        )
    finally:
        connection.execute("ROLLBACK")


def _add_tail_column(connection: sqlite3.Connection) -> None:
    """Give a file written before tails were stored its (empty) tail column; _fill_tails fills
    it in the same step as the version it comes with."""
    if "tail" in _link_columns(connection) or not _link_columns(connection):
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        if "tail" not in _link_columns(connection):
            connection.execute("ALTER TABLE payment_links ADD COLUMN tail TEXT")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _link_columns(connection: sqlite3.Connection) -> set[str]:
    return {row["name"] for row in connection.execute("PRAGMA table_info(payment_links)")}


def _fill_tails(connection: sqlite3.Connection, batch: int = 10_000) -> None:
    """Store the tail of every link that has none, from its stored columns, in batches, inside
    the caller's transaction."""
    last = -1
    while True:
        rows = connection.execute(
            "SELECT seq, id, amount, currency, description, status, created_at, paid_at"
            " FROM payment_links WHERE tail IS NULL AND seq > ? ORDER BY seq LIMIT ?",
            (last, batch),
        ).fetchall()
        if not rows:
            return
        connection.executemany(
            "UPDATE payment_links SET tail = ? WHERE seq = ?",
            [(link_tail(PaymentLinkRecord(*tuple(row)[1:])), row["seq"]) for row in rows],
        )
        last = rows[-1]["seq"]


def _has_unnumbered_links(connection: sqlite3.Connection) -> bool:
    """Whether the file has a payment_links table from before positions existed."""
    columns = {row["name"] for row in connection.execute("PRAGMA table_info(payment_links)")}
    return bool(columns) and "position" not in columns


def _number_links(connection: sqlite3.Connection) -> None:
    """Give every link of a database written before positions existed its position, in one
    transaction: another process opening the same file at the same moment either finds it done
    or waits for it, and never sees links without positions."""
    # Looked at first without the write lock, so that an up-to-date file (the usual case) is only
    # read here, as before.
    if not _has_unnumbered_links(connection):
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        if _has_unnumbered_links(connection):
            for statement in _NUMBER_LINKS:
                connection.execute(statement)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
