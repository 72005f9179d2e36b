"""The one place that maps our enums to protobuf enum numbers and back.

Our values are the HTTP spellings (``DEBIT_CARD``); protobuf names add the enum's prefix
(``ACCOUNT_TYPE_DEBIT_CARD``). Both the gRPC client and the stand's gRPC side go through here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from contracts.services.accounts import account_pb2
from contracts.services.cards import card_pb2
from contracts.services.operations import operation_pb2

from ._models import (
    AccountStatus,
    AccountType,
    CardPaymentSystem,
    CardStatus,
    CardType,
    OperationStatus,
    OperationType,
)

__all__ = ["from_proto", "to_proto"]

E = TypeVar("E", bound=StrEnum)

_PROTO_ENUMS: dict[type[StrEnum], tuple[EnumTypeWrapper, str]] = {
    AccountType: (account_pb2.AccountType, "ACCOUNT_TYPE_"),
    AccountStatus: (account_pb2.AccountStatus, "ACCOUNT_STATUS_"),
    CardType: (card_pb2.CardType, "CARD_TYPE_"),
    CardStatus: (card_pb2.CardStatus, "CARD_STATUS_"),
    CardPaymentSystem: (card_pb2.CardPaymentSystem, "CARD_PAYMENT_SYSTEM_"),
    OperationType: (operation_pb2.OperationType, "OPERATION_TYPE_"),
    OperationStatus: (operation_pb2.OperationStatus, "OPERATION_STATUS_"),
}


def to_proto(member: StrEnum) -> int:
    """``AccountType.DEBIT_CARD`` → ``account_pb2.ACCOUNT_TYPE_DEBIT_CARD`` (1)."""
    wrapper, prefix = _PROTO_ENUMS[type(member)]
    return wrapper.Value(prefix + member.value)


def from_proto(enum: type[E], number: int) -> E:
    """``from_proto(AccountType, 1)`` → ``AccountType.DEBIT_CARD``.

    Raises ``ValueError`` for numbers with no HTTP spelling (``*_UNSPECIFIED`` or unknown).
    """
    wrapper, prefix = _PROTO_ENUMS[enum]
    name = wrapper.Name(number)  # ValueError for numbers the proto does not define
    return enum(name.removeprefix(prefix))
