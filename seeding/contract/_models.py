"""What the gateway returns, as our own typed models: callers never see protobuf or raw JSON.

Enum values are the HTTP spellings (``DEBIT_CARD``); the gRPC names (``ACCOUNT_TYPE_DEBIT_CARD``)
are mapped in ``_enum_mapping``. Field names are snake_case; ``model_validate`` also accepts the
gateway's camelCase JSON, so the HTTP client feeds response bodies straight in. Dates and times are
parsed into ``date`` / ``datetime`` whichever transport's format they came in.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from ._enums import (
    AccountStatus,
    AccountType,
    CardPaymentSystem,
    CardStatus,
    CardType,
    OperationStatus,
    OperationType,
)

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
