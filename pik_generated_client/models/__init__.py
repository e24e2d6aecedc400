"""Contains all the data models used in inputs/outputs"""

from .create_payment_link_request import CreatePaymentLinkRequest
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .payment_link import PaymentLink
from .payment_link_list import PaymentLinkList
from .payment_link_status import PaymentLinkStatus
from .simulate_payment_link_request import SimulatePaymentLinkRequest
from .simulate_payment_link_request_status import SimulatePaymentLinkRequestStatus

__all__ = (
    "CreatePaymentLinkRequest",
    "ErrorDetail",
    "ErrorResponse",
    "PaymentLink",
    "PaymentLinkList",
    "PaymentLinkStatus",
    "SimulatePaymentLinkRequest",
    "SimulatePaymentLinkRequestStatus",
)
