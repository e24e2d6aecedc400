from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreatePaymentLinkRequest")


@_attrs_define
class CreatePaymentLinkRequest:
    """What to charge for.

    Example:
        {'amount': '75.00', 'currency': 'USDT', 'description': 'Order #1234'}

    Attributes:
        amount (str): A decimal string: digits, optionally a point and more digits; no sign, no exponent.
            Must be greater than zero, with at most as many decimals as the asset has.
             Example: 75.00.
        currency (str): The digital asset code, such as USDT, USDC, BTC or ETH. An open set: new assets may
            appear at any time.
             Example: USDT.
        description (str | Unset): Optional label or reference for this payment link. Example: Order #1234.
    """

    amount: str
    currency: str
    description: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        currency = self.currency

        description = self.description

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "amount": amount,
                "currency": currency,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        currency = d.pop("currency")

        description = d.pop("description", UNSET)

        create_payment_link_request = cls(
            amount=amount,
            currency=currency,
            description=description,
        )

        return create_payment_link_request
