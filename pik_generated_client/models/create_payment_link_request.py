from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from attrs import define as _attrs_define

from ..types import UNSET, Unset

_FIELDS = frozenset(
    {
        "amount",
        "currency",
        "description",
    }
)


@_attrs_define
class CreatePaymentLinkRequest:
    """What to charge for.

    Example:
        {'amount': '75.00', 'currency': 'USDT', 'description': 'Order #1234'}

    Attributes:
        amount (str): A decimal string: digits, optionally a point and more digits; no sign, no
            exponent.
            Must be greater than zero, with at most as many decimals as the asset has.
             Example: 75.00.
        currency (str): The digital asset code, such as USDT, USDC, BTC or ETH. An open set: new
            assets may
            appear at any time.
             Example: USDT.
        description (str | Unset): Optional label or reference for this payment link. Example: Order
            #1234.
    """

    amount: str
    currency: str
    description: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        """This object as the JSON-ready dict the API uses."""

        field_dict: dict[str, Any] = {}
        amount = self.amount
        field_dict["amount"] = amount
        currency = self.currency
        field_dict["currency"] = currency
        description = self.description
        if description is not UNSET:
            field_dict["description"] = description
        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """An object from the API's JSON; raises KeyError for a missing required field."""

        amount = src_dict["amount"]
        if not isinstance(amount, str):
            raise TypeError(f"'amount' is {type(amount).__name__}, not a string")
        currency = src_dict["currency"]
        if not isinstance(currency, str):
            raise TypeError(f"'currency' is {type(currency).__name__}, not a string")
        description = src_dict.get("description", UNSET)
        if description is not UNSET and not isinstance(description, str):
            raise TypeError(f"'description' is {type(description).__name__}, not a string")
        _instance = cls.__new__(cls)
        _instance.amount = amount
        _instance.currency = currency
        _instance.description = description
        return _instance
