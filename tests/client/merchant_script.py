"""A merchant's integration as they would write it: plain raise-style code with no isinstance
checks and no None checks, type-checked with mypy --strict as part of the suite and run against a
real sandbox by test_merchant_script.py."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from pik_generated_client import AsyncPik, Pik, errors


def charge(pik: Pik, order_id: int, total: Decimal) -> str:
    """Create a link for an order and return the URL to send to the customer."""
    link = pik.payment_links.create(amount=total, currency="USDT", description=f"Order #{order_id}")
    return link.url


def status_of(pik: Pik, link_id: str) -> str:
    """A link's status, or 'unknown' when the account has no such link."""
    try:
        return pik.payment_links.get(link_id).status.value
    except errors.NotFoundError:
        return "unknown"


def try_to_charge(pik: Pik, amount: str, currency: str) -> str:
    """What happened when charging: the link's id, or the reason it was refused."""
    try:
        return pik.payment_links.create(amount=amount, currency=currency).id
    except errors.UnprocessableEntityError as refused:
        return f"refused: {refused.message}"
    except errors.AuthenticationError:
        return "check the API key"
    except errors.RateLimitError as limited:
        return f"slow down for {limited.retry_after} s"
    except errors.APIConnectionError:
        return "PIK is unreachable; try again"


def paid_total(pik: Pik) -> Decimal:
    """The sum of every paid link's amount, over every page."""
    return sum(
        (Decimal(link.amount) for link in pik.payment_links.iter(status="paid", limit=100)),
        Decimal(0),
    )


async def descriptions(api_key: str, base_url: str) -> list[str]:
    """Every link's description, fetched with the asynchronous client."""
    async with AsyncPik(api_key=api_key, base_url=base_url) as pik:
        return [link.description or "" async for link in pik.payment_links.iter(limit=50)]


def run(api_key: str, base_url: str) -> dict[str, object]:
    """The whole script: what a merchant's job would log."""
    with Pik(api_key=api_key, base_url=base_url) as pik:
        url = charge(pik, 1234, Decimal("75.00"))
        link_id = url.rsplit("/", 1)[1]
        pik.sandbox.simulate(link_id, status="paid")
        return {
            "url": url,
            "status": status_of(pik, link_id),
            "missing": status_of(pik, "pl_doesnotexist"),
            "doge": try_to_charge(pik, "1", "DOGE"),
            "paid_total": paid_total(pik),
            "descriptions": asyncio.run(descriptions(api_key, base_url)),
        }
