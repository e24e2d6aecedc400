from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.payment_link_status import PaymentLinkStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="PaymentLink")


@_attrs_define
class PaymentLink:
    """A payment link and its current state.

    Example:
        {'id': 'pl_abc123xyz', 'url': 'https://pay.pik.global/pl_abc123xyz', 'amount': '75.00', 'currency': 'USDT',
            'description': 'Order #1234', 'status': 'active', 'created_at': '2024-01-15T10:30:00Z'}

    Attributes:
        id (str): Unique identifier of a payment link, `pl_` followed by letters and digits. Example: pl_abc123xyz.
        url (str): The shareable payment link URL to send to your customer. Example:
            https://pay.pik.global/pl_abc123xyz.
        amount (str): A decimal string: digits, optionally a point and more digits; no sign, no exponent.
            Must be greater than zero, with at most as many decimals as the asset has.
             Example: 75.00.
        currency (str): The digital asset code, such as USDT, USDC, BTC or ETH. An open set: new assets may
            appear at any time.
             Example: USDT.
        status (PaymentLinkStatus): `active`: waiting for payment. `paid`: the customer paid. `expired`: past its expiry
            time. `deactivated`: manually disabled. Every status but `active` is final.
             Example: active.
        created_at (datetime.datetime): When the link was created (RFC 3339, UTC). Example: 2024-01-15T10:30:00Z.
        description (str | Unset): The optional description provided at creation; absent when none was. Example: Order
            #1234.
        paid_at (datetime.datetime | Unset): When the link was paid (RFC 3339, UTC); present once `status` is `paid`.
            Example: 2024-01-15T10:45:00Z.
    """

    id: str
    url: str
    amount: str
    currency: str
    status: PaymentLinkStatus
    created_at: datetime.datetime
    description: str | Unset = UNSET
    paid_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        url = self.url

        amount = self.amount

        currency = self.currency

        status = self.status.value

        created_at = self.created_at.isoformat().replace("+00:00", "Z")

        description = self.description

        paid_at: str | Unset = UNSET
        if not isinstance(self.paid_at, Unset):
            paid_at = self.paid_at.isoformat().replace("+00:00", "Z")

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "url": url,
                "amount": amount,
                "currency": currency,
                "status": status,
                "created_at": created_at,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if paid_at is not UNSET:
            field_dict["paid_at"] = paid_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        url = d.pop("url")

        amount = d.pop("amount")

        currency = d.pop("currency")

        status = PaymentLinkStatus(d.pop("status"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        description = d.pop("description", UNSET)

        _paid_at = d.pop("paid_at", UNSET)
        paid_at: datetime.datetime | Unset
        if isinstance(_paid_at, Unset):
            paid_at = UNSET
        else:
            paid_at = datetime.datetime.fromisoformat(_paid_at)

        payment_link = cls(
            id=id,
            url=url,
            amount=amount,
            currency=currency,
            status=status,
            created_at=created_at,
            description=description,
            paid_at=paid_at,
        )

        payment_link.additional_properties = d
        return payment_link

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
