from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

_FIELDS = frozenset(
    {
        "code",
        "message",
    }
)


@_attrs_define
class ErrorDetail:
    """What went wrong.

    Attributes:
        code (str): A stable, machine-readable code: `invalid_request`, `unauthorized`, `forbidden`,
            `not_found`, `unprocessable_entity`, `rate_limited` or `internal_error`. New codes
            may appear; fall back on the HTTP status for a code you do not know.
             Example: not_found.
        message (str): A human-readable explanation that says what to fix. Example: No payment link
            found with the given ID..
    """

    code: str
    message: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """This object as the JSON-ready dict the API uses."""

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        code = self.code
        field_dict["code"] = code
        message = self.message
        field_dict["message"] = message
        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """An object from the API's JSON; raises KeyError for a missing required field."""

        code = src_dict["code"]
        if not isinstance(code, str):
            raise TypeError(f"'code' is {type(code).__name__}, not a string")
        message = src_dict["message"]
        if not isinstance(message, str):
            raise TypeError(f"'message' is {type(message).__name__}, not a string")
        _instance = cls.__new__(cls)
        _instance.code = code
        _instance.message = message
        # Most bodies carry no unknown field; counting avoids scanning them.
        if len(src_dict) > 2:
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
