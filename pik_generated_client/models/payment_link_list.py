from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.payment_link import PaymentLink

_FIELDS = frozenset(
    {
        "data",
        "total",
        "limit",
        "offset",
    }
)


@_attrs_define
class PaymentLinkList:
    """One page of payment links, newest first.

    Attributes:
        data (list[PaymentLink]): The links on this page.
        total (int): How many links match the filter, on all pages. Example: 1.
        limit (int): The page size that was applied. Example: 10.
        offset (int): How many matching links were skipped. Example: 0.
    """

    data: list[PaymentLink]
    total: int
    limit: int
    offset: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """This object as the JSON-ready dict the API uses."""

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        field_dict["data"] = data
        total = self.total
        field_dict["total"] = total
        limit = self.limit
        field_dict["limit"] = limit
        offset = self.offset
        field_dict["offset"] = offset
        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """An object from the API's JSON; raises KeyError for a missing required field."""
        from ..models.payment_link import PaymentLink

        data = []
        _data = src_dict["data"]
        for data_item_data in _data:
            data_item = PaymentLink.from_dict(data_item_data)

            data.append(data_item)

        total = src_dict["total"]
        if not (type(total) is int):
            raise TypeError(f"'total' is {type(total).__name__}, not an integer")
        limit = src_dict["limit"]
        if not (type(limit) is int):
            raise TypeError(f"'limit' is {type(limit).__name__}, not an integer")
        offset = src_dict["offset"]
        if not (type(offset) is int):
            raise TypeError(f"'offset' is {type(offset).__name__}, not an integer")
        _instance = cls.__new__(cls)
        _instance.data = data
        _instance.total = total
        _instance.limit = limit
        _instance.offset = offset
        # Most bodies carry no unknown field; counting avoids scanning them.
        if len(src_dict) > 4:
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
