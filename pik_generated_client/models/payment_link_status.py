from enum import StrEnum
from typing import Self


class PaymentLinkStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    EXPIRED = "expired"
    PAID = "paid"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        unknown = str.__new__(cls, value)
        unknown._name_ = value
        unknown._value_ = value
        return unknown

    @property
    def is_known(self) -> bool:
        """Whether this value is one the document lists."""
        return self._value_ in type(self)._value2member_map_
