"""The gateway's enums, in their HTTP spellings (``DEBIT_CARD``): plain ``StrEnum``s.

Apart from the models (``_models``) so that plans, the endpoint table and command lines use them
without building a pydantic model; the gRPC names are mapped in ``_enum_mapping``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AccountStatus",
    "AccountType",
    "CardPaymentSystem",
    "CardStatus",
    "CardType",
    "OperationStatus",
    "OperationType",
]


class AccountType(StrEnum):
    DEBIT_CARD = "DEBIT_CARD"
    CREDIT_CARD = "CREDIT_CARD"
    DEPOSIT = "DEPOSIT"
    SAVINGS = "SAVINGS"

    @property
    def has_cards(self) -> bool:
        """Card accounts come with cards and accept more; deposit and savings accounts refuse them."""
        return self in (AccountType.DEBIT_CARD, AccountType.CREDIT_CARD)


class AccountStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PENDING_CLOSURE = "PENDING_CLOSURE"
    CLOSED = "CLOSED"


class CardType(StrEnum):
    VIRTUAL = "VIRTUAL"
    PHYSICAL = "PHYSICAL"


class CardStatus(StrEnum):
    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"
    CLOSED = "CLOSED"
    BLOCKED = "BLOCKED"


class CardPaymentSystem(StrEnum):
    MASTERCARD = "MASTERCARD"
    VISA = "VISA"


class OperationType(StrEnum):
    FEE = "FEE"
    TOP_UP = "TOP_UP"
    PURCHASE = "PURCHASE"
    CASHBACK = "CASHBACK"
    TRANSFER = "TRANSFER"
    BILL_PAYMENT = "BILL_PAYMENT"
    CASH_WITHDRAWAL = "CASH_WITHDRAWAL"

    @property
    def is_income(self) -> bool:
        """TOP_UP and CASHBACK add money; every other type takes it away (the server sets the sign)."""
        return self in (OperationType.TOP_UP, OperationType.CASHBACK)


class OperationStatus(StrEnum):
    # UNSPECIFIED is proto3's default: a gRPC client that leaves status unset creates one, and the
    # gateway stores it as sent (it neither moves the balance nor gets a receipt).
    UNSPECIFIED = "UNSPECIFIED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
