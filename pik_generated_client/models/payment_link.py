from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.payment_link_status import PaymentLinkStatus
from ..types import UNSET, Unset, parse_datetime

_PaymentLinkStatus_BY_VALUE = {member.value: member for member in PaymentLinkStatus}
_FIELDS = frozenset(
    {
        "id",
        "url",
        "amount",
        "currency",
        "status",
        "created_at",
        "description",
        "paid_at",
    }
)


@_attrs_define
class PaymentLink:
    """A payment link and its current state.

    Example:
        {'id': 'pl_abc123xyz', 'url': 'https://pay.pik.global/pl_abc123xyz', 'amount': '75.00',
        'currency': 'USDT', 'description': 'Order #1234', 'status': 'active', 'created_at':
        '2024-01-15T10:30:00Z'}

    Attributes:
        id (str): Unique identifier of a payment link, `pl_` followed by letters and digits.
            Example: pl_abc123xyz.
        url (str): The shareable payment link URL to send to your customer. Example:
            https://pay.pik.global/pl_abc123xyz.
        amount (str): A decimal string: digits, optionally a point and more digits; no sign, no
            exponent.
            Must be greater than zero, with at most as many decimals as the asset has.
             Example: 75.00.
        currency (str): The digital asset code, such as USDT, USDC, BTC or ETH. An open set: new
            assets may
            appear at any time.
             Example: USDT.
        status (PaymentLinkStatus): `active`: waiting for payment. `paid`: the customer paid.
            `expired`: past its expiry
            time. `deactivated`: manually disabled. Every status but `active` is final.
             Example: active.
        created_at (datetime.datetime): When the link was created (RFC 3339, UTC). Example:
            2024-01-15T10:30:00Z.
        description (str | Unset): The optional description provided at creation; absent when none
            was. Example: Order #1234.
        paid_at (datetime.datetime | Unset): When the link was paid (RFC 3339, UTC); present once
            `status` is `paid`. Example: 2024-01-15T10:45:00Z.
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
        """This object as the JSON-ready dict the API uses."""

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        id = self.id
        field_dict["id"] = id
        url = self.url
        field_dict["url"] = url
        amount = self.amount
        field_dict["amount"] = amount
        currency = self.currency
        field_dict["currency"] = currency
        status = self.status.value

        field_dict["status"] = status
        created_at = self.created_at.isoformat().replace("+00:00", "Z")

        field_dict["created_at"] = created_at
        description = self.description
        if description is not UNSET:
            field_dict["description"] = description
        paid_at: str | Unset = UNSET
        if not isinstance(self.paid_at, Unset):
            paid_at = self.paid_at.isoformat().replace("+00:00", "Z")

        if paid_at is not UNSET:
            field_dict["paid_at"] = paid_at
        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """An object from the API's JSON; raises KeyError for a missing required field."""

        id = src_dict["id"]
        if not isinstance(id, str):
            raise TypeError(f"'id' is {type(id).__name__}, not a string")
        url = src_dict["url"]
        if not isinstance(url, str):
            raise TypeError(f"'url' is {type(url).__name__}, not a string")
        amount = src_dict["amount"]
        if not isinstance(amount, str):
            raise TypeError(f"'amount' is {type(amount).__name__}, not a string")
        currency = src_dict["currency"]
        if not isinstance(currency, str):
            raise TypeError(f"'currency' is {type(currency).__name__}, not a string")
        status = _PaymentLinkStatus_BY_VALUE.get(src_dict["status"]) or PaymentLinkStatus(src_dict["status"])

        created_at = parse_datetime(src_dict["created_at"])

        description = src_dict.get("description", UNSET)
        if description is not UNSET and not isinstance(description, str):
            raise TypeError(f"'description' is {type(description).__name__}, not a string")
        _paid_at = src_dict.get("paid_at", UNSET)
        paid_at: datetime.datetime | Unset
        if isinstance(_paid_at, Unset):
            paid_at = UNSET
        else:
            paid_at = parse_datetime(_paid_at)

        _instance = cls.__new__(cls)
        _instance.id = id
        _instance.url = url
        _instance.amount = amount
        _instance.currency = currency
        _instance.status = status
        _instance.created_at = created_at
        _instance.description = description
        _instance.paid_at = paid_at
        # Most bodies carry no unknown field; counting avoids scanning them.
        if len(src_dict) > 6 + (description is not UNSET) + (paid_at is not UNSET):
            _extras = {key: value for key, value in src_dict.items() if key not in _FIELDS}
        else:
            _extras = {}
        _instance.additional_properties = _extras
        return _instance

    @property
    def additional_keys(self) -> list[str]:
        """Names of the fields the document does not define."""
        return list(self.additional_properties)

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
