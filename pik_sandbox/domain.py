"""The rules of PIK's payment links that an OpenAPI document cannot express."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal


class RuleBroken(Exception):
    """A well-formed request that PIK's rules refuse; the message names the field and the rule."""


def account_for_key(api_key: str) -> str:
    """The account an API key belongs to: each key is its own account.

    The database holds a digest, never the key itself, so a copied database file reveals no key.
    """
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def check_new_link(amount: str, currency: str, supported_assets: Mapping[str, int]) -> None:
    """Raise RuleBroken for an unsupported asset, an amount of zero, or more decimals than the
    asset has.

    The spec already guarantees that `amount` is a plain decimal string and `currency` an asset
    code; what is left depends on the asset.
    """
    if currency not in supported_assets:
        supported = ", ".join(sorted(supported_assets))
        raise RuleBroken(
            f"currency: {currency!r} is not a supported asset; use one of {supported}."
        )
    if Decimal(amount) <= 0:
        raise RuleBroken(f"amount: must be greater than zero, got {amount!r}.")
    decimals = len(amount.partition(".")[2])
    allowed = supported_assets[currency]
    if decimals > allowed:
        raise RuleBroken(
            f"amount: {currency} has at most {allowed} decimals, {amount!r} has {decimals}."
        )
