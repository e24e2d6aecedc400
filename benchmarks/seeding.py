"""Many payment links in one account, stored through the store's own `insert_many`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pik_sandbox.domain import account_for_key
from pik_sandbox.store import ID_PREFIX, ID_RANDOM_LENGTH, PaymentLinkRecord, PaymentLinkStore

LINKS_PER_SECOND: Final = 10
SECONDS_TO_PAY: Final = 900
SAMPLE_SIZE: Final = 1000
# Out of every 20 links, 5 active, 12 paid, 2 expired and 1 deactivated: an account where most
# links were paid and a quarter still wait.
STATUSES: Final = ("active",) * 5 + ("paid",) * 12 + ("expired",) * 2 + ("deactivated",)


@dataclass(frozen=True)
class SeedResult:
    """What was seeded: how many links, in which account, a spread of their ids, how fast."""

    links: int
    account: str
    sample_ids: list[str]
    seconds: float


def _links(count: int, start: int) -> Iterator[PaymentLinkRecord]:
    # Ten links a second, oldest first, so that the store's order is creation order. Counting ids
    # are well-formed and distinct; a bench measures nothing about their randomness.
    times: dict[int, str] = {}
    for n in range(count):
        ts = start + n // LINKS_PER_SECOND
        if ts not in times:
            times = {ts: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))}
        status = STATUSES[n % len(STATUSES)]
        paid = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts + SECONDS_TO_PAY))
        yield PaymentLinkRecord(
            id=f"{ID_PREFIX}{n:0{ID_RANDOM_LENGTH}d}",
            amount="75.00" if n % 2 else "1250.500000",
            currency="USDT" if n % 3 else "USDC",
            description=f"Order #{n}" if n % 2 else None,
            status=status,
            created_at=times[ts],
            paid_at=paid if status == "paid" else None,
        )


def seed_links(db_path: Path, api_key: str, count: int) -> SeedResult:
    """Store `count` links at `db_path` in the account of `api_key`."""
    started = time.perf_counter()
    account = account_for_key(api_key)
    store = PaymentLinkStore(db_path)
    try:
        store.insert_many(account=account, links=_links(count, int(time.time()) - count))
    finally:
        store.close()
    step = max(1, count // SAMPLE_SIZE)
    ids = [f"{ID_PREFIX}{n:0{ID_RANDOM_LENGTH}d}" for n in range(0, count, step)]
    return SeedResult(count, account, ids[:SAMPLE_SIZE], time.perf_counter() - started)
