from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.simulate_payment_link_request_status import SimulatePaymentLinkRequestStatus

T = TypeVar("T", bound="SimulatePaymentLinkRequest")


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
        status = self.status.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = SimulatePaymentLinkRequestStatus(d.pop("status"))

        simulate_payment_link_request = cls(
            status=status,
        )

        return simulate_payment_link_request
