"""A list page is served from each link's stored tail: it must show exactly what `link_json`
shows for the same links, whatever their text, status, expiry or age of the file."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson

from pik_sandbox.settings import SandboxSettings
from pik_sandbox.state import Sandbox
from pik_sandbox.store import PaymentLinkStore

ACCOUNT = "b" * 64
TEXTS = [
    None,
    "Order #1234",
    'quotes " and \\ backslashes',
    '"status":"active"',
    "ünïcödé ✓ 支付",
    "line\nbreak\ttab\u2028",
    "",
]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def served_and_expected(
    sandbox: Sandbox, status: str | None, limit: int, offset: int
) -> tuple[Any, Any]:
    async def both() -> tuple[Any, Any]:
        store = sandbox.store
        served = await store.list_served(account=ACCOUNT, status=status, limit=limit, offset=offset)
        records = await store.list_links(account=ACCOUNT, status=status, limit=limit, offset=offset)
        assert served.total == records.total
        return (
            json.loads(orjson.dumps({"data": sandbox.served_links(served.links)})),
            {"data": [sandbox.link_json(link) for link in records.links]},
        )

    return asyncio.run(both())


def test_served_pages_equal_link_json_for_every_text_status_and_expiry(tmp_path: Path) -> None:
    clock = Clock()
    settings = SandboxSettings(
        db_path=tmp_path / "s.sqlite3", public_url='http://h:1/a"b\\c', clock=clock
    )
    sandbox = Sandbox(settings=settings, store=PaymentLinkStore(settings.db_path, clock=clock))
    rng = random.Random(7)

    async def fill() -> None:
        for index in range(60):
            link = await sandbox.store.create(
                account=ACCOUNT,
                amount=f"{index}.5",
                currency=rng.choice(["USDT", "BTC"]),
                description=rng.choice(TEXTS),
                ttl_seconds=rng.choice([None, 50.0, 500.0]),
            )
            if rng.random() < 0.3:
                target = rng.choice(["paid", "expired", "deactivated"])
                await sandbox.store.transition(link.id, account=ACCOUNT, status=target)
            clock.now += 1

    try:
        asyncio.run(fill())
        clock.now += 100  # some active links are now past their expiry time, unstored
        for status in (None, "active", "paid", "expired", "deactivated"):
            for limit, offset in ((100, 0), (7, 3), (5, 55)):
                served, expected = served_and_expected(sandbox, status, limit, offset)
                assert served == expected
        assert asyncio.run(sandbox.store.expire_due()) > 0
        served, expected = served_and_expected(sandbox, None, 100, 0)
        assert served == expected
        statuses = {link["status"] for link in served["data"]}
        assert statuses == {"active", "paid", "expired", "deactivated"}
    finally:
        sandbox.store.close()


def test_a_file_without_tails_gets_them_filled_and_rows_written_without_one_still_serve(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.sqlite3"
    settings = SandboxSettings(db_path=db)
    store = PaymentLinkStore(db)

    async def create(count: int) -> None:
        for index in range(count):
            await store.create(
                account=ACCOUNT, amount=str(index + 1), currency="USDT", description=TEXTS[3]
            )

    asyncio.run(create(5))
    store.close()
    # The file as a version without tails wrote it: no column, schema version 2.
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("ALTER TABLE payment_links DROP COLUMN tail")
        connection.execute("PRAGMA user_version = 2")
        connection.commit()
    sandbox = Sandbox(settings=settings, store=PaymentLinkStore(db))
    try:
        with closing(sqlite3.connect(db)) as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            missing = connection.execute(
                "SELECT COUNT(*) FROM payment_links WHERE tail IS NULL"
            ).fetchone()[0]
        assert (version, missing) == (3, 0)
        served, expected = served_and_expected(sandbox, None, 100, 0)
        assert served == expected and len(served["data"]) == 5
        # A row another writer stored without a tail is made afresh when read.
        with closing(sqlite3.connect(db)) as connection:
            connection.execute("UPDATE payment_links SET tail = NULL WHERE position = 2")
            connection.commit()
        served, expected = served_and_expected(sandbox, None, 100, 0)
        assert served == expected and len(served["data"]) == 5
    finally:
        sandbox.store.close()
