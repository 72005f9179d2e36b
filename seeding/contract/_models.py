"""What the gateway returns, as our own typed models: callers never see protobuf or raw JSON.

Enum values are the HTTP spellings (``DEBIT_CARD``); the gRPC names (``ACCOUNT_TYPE_DEBIT_CARD``)
are mapped in ``_enum_mapping``. Field names are snake_case; ``model_validate`` also accepts the
gateway's camelCase JSON, so the HTTP client feeds response bodies straight in. Dates and times are
parsed into ``date`` / ``datetime`` whichever transport's format they came in.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = [
    "Account",
    "AccountStatus",
    "AccountType",
    "Card",
    "CardPaymentSystem",
    "CardStatus",
    "CardType",
    "Document",
    "Operation",
    "OperationStatus",
    "OperationType",
    "OperationsSummary",
    "User",
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


class _GatewayModel(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)


class User(_GatewayModel):
    id: str
    email: str
    last_name: str
    first_name: str
    middle_name: str
    phone_number: str


class Card(_GatewayModel):
    id: str
    pin: str
    cvv: str
    type: CardType
    status: CardStatus
    account_id: str
    card_number: str
    card_holder: str
    expiry_date: date
    payment_system: CardPaymentSystem


class Account(_GatewayModel):
    """An account as the gateway shows it (``AccountView``): with its cards and balance."""

    id: str
    type: AccountType
    cards: list[Card]
    status: AccountStatus
    balance: float


class Operation(_GatewayModel):
    id: str
    type: OperationType
    status: OperationStatus
    amount: float
    card_id: str
    category: str
    created_at: datetime
    account_id: str


class OperationsSummary(_GatewayModel):
    spent_amount: float
    received_amount: float
    cashback_amount: float


class Document(_GatewayModel):
    """A receipt, tariff or contract: where storage keeps it and its content."""

    url: str
    document: bytes
