from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from attrs import define as _attrs_define

from ..models.simulate_payment_link_request_status import SimulatePaymentLinkRequestStatus

_SimulatePaymentLinkRequestStatus_BY_VALUE = {member.value: member for member in SimulatePaymentLinkRequestStatus}
_FIELDS = frozenset(
    {
        "status",
    }
)


@_attrs_define
class SimulatePaymentLinkRequest:
    """The final state to move an active link into.

    Example:
        {'status': 'paid'}

    Attributes:
        status (SimulatePaymentLinkRequestStatus): The final state. Example: paid.
    """

    status: SimulatePaymentLinkRequestStatus

    def to_dict(self) -> dict[str, Any]:
        """This object as the JSON-ready dict the API uses."""

        field_dict: dict[str, Any] = {}
        status = self.status.value

        field_dict["status"] = status
        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """An object from the API's JSON; raises KeyError for a missing required field."""

        status = _SimulatePaymentLinkRequestStatus_BY_VALUE.get(src_dict["status"]) or SimulatePaymentLinkRequestStatus(
            src_dict["status"]
        )

        _instance = cls.__new__(cls)
        _instance.status = status
        return _instance
