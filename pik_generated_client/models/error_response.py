from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.error_detail import ErrorDetail

_FIELDS = frozenset(
    {
        "error",
    }
)


@_attrs_define
class ErrorResponse:
    """The body of every error response.

    Attributes:
        error (ErrorDetail): What went wrong.
    """

    error: ErrorDetail
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """This object as the JSON-ready dict the API uses."""

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        error = self.error.to_dict()
        field_dict["error"] = error
        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """An object from the API's JSON; raises KeyError for a missing required field."""
        from ..models.error_detail import ErrorDetail

        error = ErrorDetail.from_dict(src_dict["error"])

        _instance = cls.__new__(cls)
        _instance.error = error
        # Most bodies carry no unknown field; counting avoids scanning them.
        if len(src_dict) > 1:
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
