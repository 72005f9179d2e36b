"""The one place that maps our enums to protobuf enum numbers and back.

Our values are the HTTP spellings (``DEBIT_CARD``); protobuf names add the enum's prefix
(``ACCOUNT_TYPE_DEBIT_CARD``). Both the gRPC client and the stand's gRPC side go through here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from ._endpoints import PROTO_PACKAGE
from ._enums import (
    AccountStatus,
    AccountType,
    CardPaymentSystem,
    CardStatus,
    CardType,
    OperationStatus,
    OperationType,
)
from ._protos import proto_enum

__all__ = ["from_proto", "to_proto"]

E = TypeVar("E", bound=StrEnum)


def _wrapper(name: str) -> EnumTypeWrapper:
    return EnumTypeWrapper(proto_enum(f"{PROTO_PACKAGE}.{name}"))


_PROTO_ENUMS: dict[type[StrEnum], tuple[EnumTypeWrapper, str]] = {
    AccountType: (_wrapper("accounts.AccountType"), "ACCOUNT_TYPE_"),
    AccountStatus: (_wrapper("accounts.AccountStatus"), "ACCOUNT_STATUS_"),
    CardType: (_wrapper("cards.CardType"), "CARD_TYPE_"),
    CardStatus: (_wrapper("cards.CardStatus"), "CARD_STATUS_"),
    CardPaymentSystem: (_wrapper("cards.CardPaymentSystem"), "CARD_PAYMENT_SYSTEM_"),
    OperationType: (_wrapper("operations.OperationType"), "OPERATION_TYPE_"),
    OperationStatus: (_wrapper("operations.OperationStatus"), "OPERATION_STATUS_"),
}


def to_proto(member: StrEnum) -> int:
    """``AccountType.DEBIT_CARD`` → ``ACCOUNT_TYPE_DEBIT_CARD`` (1)."""
    wrapper, prefix = _PROTO_ENUMS[type(member)]
    return wrapper.Value(prefix + member.value)


def from_proto(enum: type[E], number: int) -> E:
    """``from_proto(AccountType, 1)`` → ``AccountType.DEBIT_CARD``.

    Raises ``ValueError`` for numbers with no HTTP spelling (``*_UNSPECIFIED`` or unknown).
    """
    wrapper, prefix = _PROTO_ENUMS[enum]
    name = wrapper.Name(number)  # ValueError for numbers the proto does not define
    return enum(name.removeprefix(prefix))
