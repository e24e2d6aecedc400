from enum import StrEnum


class SimulatePaymentLinkRequestStatus(StrEnum):
    DEACTIVATED = "deactivated"
    EXPIRED = "expired"
    PAID = "paid"

    def __str__(self) -> str:
        return str(self.value)
