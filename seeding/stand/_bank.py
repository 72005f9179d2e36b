"""The stand's in-memory bank: all state and all behaviour, with no transport in sight.

Both servers call the same ``Bank``, so a user created over HTTP is visible over gRPC and the
other way round. Every method that changes state is synchronous: the servers run in one asyncio
loop, so a read-modify-write with no ``await`` inside cannot interleave with another one and
balance updates are never lost (unlike the real gateway's, see the contract).

The behaviour follows the contract's "Behaviour" section; errors are the ``_errors`` tree.
"""

from __future__ import annotations

import asyncio
import functools
import math
import os
import random
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar, TypeVar

from pydantic import BaseModel

from seeding.contract import (
    Account,
    AccountStatus,
    AccountType,
    Card,
    CardPaymentSystem,
    CardStatus,
    CardType,
    Document,
    Operation,
    OperationsSummary,
    OperationStatus,
    OperationType,
    User,
)

from ._errors import (
    CardsNotAllowedError,
    DuplicateEmailError,
    InvalidEmailError,
    MalformedIdError,
    NonFiniteAmountError,
    NotFoundError,
    ReceiptMissingError,
)

__all__ = [
    "DOCUMENTS_BASE_URL",
    "AccountRow",
    "Bank",
    "CardRow",
    "DocumentKind",
    "DocumentRow",
    "OperationRow",
    "SummaryRow",
    "UserRow",
]

_V = TypeVar("_V")

DOCUMENTS_BASE_URL = "http://localhost:9000/documents"
CREDIT_LIMIT = 25000.0  # credit-card accounts open with this balance
CARD_VALIDITY_YEARS = 7

# Categories the server sets; PURCHASE keeps the client's.
_FIXED_CATEGORIES: dict[OperationType, str] = {
    OperationType.TOP_UP: "money_in",
    OperationType.FEE: "fee",
    OperationType.CASHBACK: "cashback_rewards",
    OperationType.TRANSFER: "transfer",
    OperationType.BILL_PAYMENT: "bill_payment",
    OperationType.CASH_WITHDRAWAL: "cash_withdrawal",
}
# Statuses that move the balance and get a receipt; FAILED and UNSPECIFIED do neither.
_BOOKED = frozenset({OperationStatus.COMPLETED, OperationStatus.IN_PROGRESS})
# Card numbers start with the payment system's prefix (Visa 4, Mastercard 51-55).
_CARD_PREFIX = {CardPaymentSystem.VISA: "4", CardPaymentSystem.MASTERCARD: "5"}
_CARD_NUMBER_LENGTH = 16

# Deliberately simple: something@domain.tld, no spaces, one "@".
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class DocumentKind(StrEnum):
    """The per-account documents; the value is the file name prefix in storage."""

    TARIFF = "tariff"
    CONTRACT = "contract"


@dataclass(frozen=True, slots=True)
class UserRow:
    model: ClassVar[type[BaseModel]] = User  # the contract's shape of this row
    id: str
    email: str
    last_name: str
    first_name: str
    middle_name: str
    phone_number: str


@dataclass(frozen=True, slots=True)
class CardRow:
    model: ClassVar[type[BaseModel]] = Card  # the contract's shape of this row
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


@dataclass(slots=True)
class AccountRow:
    """Mutable: the balance moves with operations and ``cards`` grows as cards are issued."""

    model: ClassVar[type[BaseModel]] = Account  # the contract's shape of this row
    id: str
    type: AccountType
    status: AccountStatus
    user_id: str
    balance: float
    cards: list[CardRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OperationRow:
    model: ClassVar[type[BaseModel]] = Operation  # the contract's shape of this row
    id: str
    type: OperationType
    status: OperationStatus  # UNSPECIFIED too: stored as sent
    amount: float  # signed by the server from the type
    card_id: str
    category: str
    created_at: datetime  # naive UTC
    account_id: str

    @property
    def booked(self) -> bool:
        """Whether it moved the balance (and so has a receipt)."""
        return self.status in _BOOKED


@dataclass(frozen=True, slots=True)
class SummaryRow:
    model: ClassVar[type[BaseModel]] = OperationsSummary  # the contract's shape of this row
    spent_amount: float  # negative: the sum of the outgoing types
    received_amount: float  # TOP_UP
    cashback_amount: float  # CASHBACK


@dataclass(frozen=True, slots=True)
class DocumentRow:
    model: ClassVar[type[BaseModel]] = Document  # the contract's shape of this row
    url: str
    document: bytes


def normalize_id(name: str, value: str) -> str:
    """The canonical text of a UUID id (lower case, hyphens); ``MalformedIdError`` otherwise."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise MalformedIdError(name, value) from None


def _by_id(table: Mapping[str, _V], name: str, value: str) -> _V | None:
    """``table``'s entry for id ``value`` (None if none); ``MalformedIdError`` if ``value`` is no UUID.

    The keys are canonical ids, so a value found as it is needs no parsing: only the others
    (upper case, no hyphens, malformed) go through ``normalize_id``.
    """
    found = table.get(value) if isinstance(value, str) else None
    return found if found is not None else table.get(normalize_id(name, value))


def email_problem(email: str) -> str | None:
    """Why ``email`` is refused, in the words of the gateway's validator (never echoing it); None if fine.

    The stand's rule, shared by both transports, is deliberately simpler than the real one.
    """
    if "@" not in email:
        return "An email address must have an @-sign."
    if _EMAIL_RE.match(email) is None:
        return "The email address is not valid."
    return None


def _breaks_finiteness(signed: float, balance: float | None) -> bool:
    """A non-finite amount, or a finite ``balance`` (None: not moved) that it would push out of range."""
    if not math.isfinite(signed):
        return True
    return balance is not None and math.isfinite(balance) and not math.isfinite(balance + signed)


def new_id() -> str:
    """A random (version 4) UUID as canonical text, like ``str(uuid.uuid4())`` at a third of its cost.

    16 random bytes as hex, then the version nibble set to 4 and the variant's top bits to ``10``.
    """
    hex_ = os.urandom(16).hex()
    variant = _VARIANT_DIGITS[int(hex_[16], 16) & 3]
    return f"{hex_[:8]}-{hex_[8:12]}-4{hex_[13:16]}-{variant}{hex_[17:20]}-{hex_[20:]}"


_VARIANT_DIGITS = "89ab"  # the RFC 4122 variant: 10xx in the 17th hex digit


@functools.lru_cache(maxsize=4)  # the expiry date of every card issued the same day
def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a non-leap year
        return day.replace(year=day.year + years, day=28)


def _random_digits(rng: random.Random, count: int) -> str:
    """``count`` decimal digits: those of ``rng.randrange(10)`` drawn ``count`` times, at a quarter of its cost.

    ``randrange(10)`` draws 4 bits until they make a number below 10; so does this, so a seed
    gives the same card numbers as it always did (``test_random_digits_are_randranges`` checks).
    """
    getrandbits = rng.getrandbits
    digits = []
    for _ in range(count):
        digit = getrandbits(4)
        while digit >= 10:
            digit = getrandbits(4)
        digits.append(digit)
    return "".join(map(str, digits))


# A digit's share of the Luhn sum where it is doubled: 2d, minus 9 once that has two digits.
_LUHN_DOUBLED = {str(d): d * 2 - 9 if d > 4 else d * 2 for d in range(10)}


def _luhn_complete(digits: str) -> str:
    """``digits`` plus the Luhn check digit, so card numbers look real to validators."""
    # From the right, the check digit to come makes the 1st, 3rd, ... of these the doubled ones.
    doubled = sum(_LUHN_DOUBLED[ch] for ch in digits[::-2])
    total = doubled + sum(map(int, digits[-2::-2]))
    return digits + str((10 - total % 10) % 10)


class Bank:
    """Users, accounts, cards, operations and documents, kept in dictionaries.

    ``seed`` makes the generated card data (numbers, cvv, pin, payment system of issued cards)
    reproducible; ids are uuid4 regardless. ``missing_receipt_delay_s`` is how long asking for a
    receipt that does not exist takes before it fails (the real gateway retries for ~2.5 s over
    HTTP, ~5 s over gRPC; the stand defaults to answering at once).
    """

    def __init__(self, *, seed: int | None = None, missing_receipt_delay_s: float = 0.0) -> None:
        if missing_receipt_delay_s < 0:
            raise ValueError(f"missing_receipt_delay_s must be >= 0, got {missing_receipt_delay_s}")
        self.missing_receipt_delay_s = missing_receipt_delay_s
        self._rng = random.Random(seed)
        self._users: dict[str, UserRow] = {}
        self._user_ids_by_email: dict[str, str] = {}
        self._accounts: dict[str, AccountRow] = {}
        self._account_ids_by_user: dict[str, list[str]] = {}
        self._cards: dict[str, CardRow] = {}
        self._operations: dict[str, OperationRow] = {}
        self._operation_ids_by_account: dict[str, list[str]] = {}

    # read-only views, for tests and diagnostics
    @property
    def users(self) -> Mapping[str, UserRow]:
        return MappingProxyType(self._users)

    @property
    def accounts(self) -> Mapping[str, AccountRow]:
        return MappingProxyType(self._accounts)

    @property
    def cards(self) -> Mapping[str, CardRow]:
        return MappingProxyType(self._cards)

    @property
    def operations(self) -> Mapping[str, OperationRow]:
        return MappingProxyType(self._operations)

    # users
    def create_user(
        self,
        *,
        email: str,
        last_name: str = "",
        first_name: str = "",
        middle_name: str = "",
        phone_number: str = "",
    ) -> UserRow:
        """A new user; the email must be valid and not taken."""
        if problem := email_problem(email):
            raise InvalidEmailError(problem)
        if email in self._user_ids_by_email:
            raise DuplicateEmailError(email)
        user = UserRow(new_id(), email, last_name, first_name, middle_name, phone_number)
        self._users[user.id] = user
        self._user_ids_by_email[email] = user.id
        return user

    def get_user(self, user_id: str) -> UserRow:
        user = _by_id(self._users, "user_id", user_id)
        if user is None:
            raise NotFoundError("User", user_id)
        return user

    def delete_user(self, user_id: str) -> None:
        """Remove a user with its accounts, cards and operations, as a gateway reset for one user would.

        The gateway has no such call; tests use it to make a dump stale for some users only.
        """
        user = self.get_user(user_id)
        del self._users[user.id]
        self._user_ids_by_email.pop(user.email, None)
        for account_id in self._account_ids_by_user.pop(user.id, []):
            self._accounts.pop(account_id, None)
            for operation_id in self._operation_ids_by_account.pop(account_id, []):
                self._operations.pop(operation_id, None)
            for card_id in [card.id for card in self._cards.values() if card.account_id == account_id]:
                del self._cards[card_id]

    # accounts
    def open_account(self, user_id: str, account_type: AccountType) -> AccountRow:
        """A new ACTIVE account; card accounts come with a VIRTUAL then a PHYSICAL card."""
        user = self.get_user(user_id)
        balance = CREDIT_LIMIT if account_type is AccountType.CREDIT_CARD else 0.0
        account = AccountRow(new_id(), account_type, AccountStatus.ACTIVE, user.id, balance)
        self._accounts[account.id] = account
        self._account_ids_by_user.setdefault(user.id, []).append(account.id)
        if account_type.has_cards:
            for card_type in (CardType.VIRTUAL, CardType.PHYSICAL):
                self._add_card(user, account, card_type, CardPaymentSystem.MASTERCARD)
        return account

    def get_accounts(self, user_id: str) -> list[AccountRow]:
        """The user's accounts in opening order; an unknown user simply has none."""
        ids = _by_id(self._account_ids_by_user, "user_id", user_id) or []
        return [self._accounts[i] for i in ids]

    def get_account(self, account_id: str) -> AccountRow:
        account = _by_id(self._accounts, "account_id", account_id)
        if account is None:
            raise NotFoundError("Account", account_id)
        return account

    # cards
    def issue_card(self, user_id: str, account_id: str, card_type: CardType) -> CardRow:
        """A new ACTIVE card on a card account of that user.

        Issued cards are VISA or MASTERCARD, picked by the seeded generator.
        """
        user = self.get_user(user_id)
        account = self.get_account(account_id)
        if account.user_id != user.id:  # the stand's choice: another user's account is not "found"
            raise NotFoundError("Account", account_id)
        if not account.type.has_cards:
            raise CardsNotAllowedError(f"Cards cannot be issued for a {account.type.value} account")
        payment_system = self._rng.choice((CardPaymentSystem.MASTERCARD, CardPaymentSystem.VISA))
        return self._add_card(user, account, card_type, payment_system)

    def _add_card(
        self, user: UserRow, account: AccountRow, card_type: CardType, payment_system: CardPaymentSystem
    ) -> CardRow:
        rng = self._rng
        prefix = _CARD_PREFIX[payment_system]
        if payment_system is CardPaymentSystem.MASTERCARD:
            prefix += str(rng.randint(1, 5))
        body = prefix + _random_digits(rng, _CARD_NUMBER_LENGTH - 1 - len(prefix))
        card = CardRow(
            id=new_id(),
            pin=f"{rng.randrange(10_000):04d}",
            cvv=f"{rng.randrange(1000):03d}",
            type=card_type,
            status=CardStatus.ACTIVE,
            account_id=account.id,
            card_number=_luhn_complete(body),
            card_holder=f"{user.first_name} {user.last_name}",
            expiry_date=_years_later(datetime.now(UTC).date(), CARD_VALIDITY_YEARS),
            payment_system=payment_system,
        )
        self._cards[card.id] = card
        account.cards.append(card)
        return card

    # operations
    def make_operation(
        self,
        operation_type: OperationType,
        *,
        status: OperationStatus,
        amount: float,
        card_id: str,
        account_id: str,
        category: str = "",
        finite_only: bool = False,
    ) -> OperationRow:
        """Record an operation; COMPLETED / IN_PROGRESS ones also move the balance.

        The server sets the sign from the type and the category for every type but PURCHASE.
        ``finite_only`` is the real gateway's HTTP path: a non-finite amount, or one that would
        overflow a finite balance, fails (``NonFiniteAmountError``) and stores nothing; its gRPC
        path stores both as sent (NaN, ±inf balances).
        """
        account = self.get_account(account_id)
        card = _by_id(self._cards, "card_id", card_id)
        if card is None or card.account_id != account.id:  # the stand's choice: cards belong to one account
            raise NotFoundError("Card", card_id)
        signed = abs(amount) if operation_type.is_income else -abs(amount)
        if finite_only and _breaks_finiteness(signed, account.balance if status in _BOOKED else None):
            raise NonFiniteAmountError(amount)
        if operation_type is not OperationType.PURCHASE:
            category = _FIXED_CATEGORIES[operation_type]
        operation = OperationRow(
            id=new_id(),
            type=operation_type,
            status=status,
            amount=signed,
            card_id=card.id,
            category=category,
            created_at=datetime.now(UTC).replace(tzinfo=None),
            account_id=account.id,
        )
        self._operations[operation.id] = operation
        self._operation_ids_by_account.setdefault(account.id, []).append(operation.id)
        if operation.booked:
            account.balance += signed  # no await since get_account: no update can be lost
        return operation

    def get_operation(self, operation_id: str) -> OperationRow:
        operation = _by_id(self._operations, "operation_id", operation_id)
        if operation is None:
            raise NotFoundError("Operation", operation_id)
        return operation

    def get_operations(self, account_id: str) -> list[OperationRow]:
        """The account's operations in the order they were made; none for an unknown account."""
        ids = _by_id(self._operation_ids_by_account, "account_id", account_id) or []
        return [self._operations[i] for i in ids]

    def get_operations_summary(self, account_id: str) -> SummaryRow:
        """Sums per direction over every stored operation of the account; zeros if unknown."""
        spent = received = cashback = 0.0
        for operation in self.get_operations(account_id):
            if operation.type is OperationType.TOP_UP:
                received += operation.amount
            elif operation.type is OperationType.CASHBACK:
                cashback += operation.amount
            else:
                spent += operation.amount
        return SummaryRow(spent, received, cashback)

    # documents
    def get_receipt(self, operation_id: str) -> DocumentRow:
        """The receipt of a COMPLETED / IN_PROGRESS operation; ``ReceiptMissingError`` otherwise."""
        operation = self.get_operation(operation_id)
        if not operation.booked:
            raise ReceiptMissingError(f"Receipt for operation {operation.id} not found")
        text = (
            f"Receipt for operation {operation.id}\n"
            f"type: {operation.type.value}\namount: {operation.amount:.2f}\n"
            f"category: {operation.category}\ndate: {operation.created_at.isoformat()}\n"
        )
        return DocumentRow(f"{DOCUMENTS_BASE_URL}/receipt_{operation.id}.pdf", text.encode())

    async def wait_for_receipt(self, operation_id: str) -> DocumentRow:
        """``get_receipt``, but a missing receipt fails only after ``missing_receipt_delay_s``.

        The real gateway retries storage before giving up; the wait is after the lookup, so it
        never splits a state change.
        """
        try:
            return self.get_receipt(operation_id)
        except ReceiptMissingError:
            if self.missing_receipt_delay_s > 0:
                await asyncio.sleep(self.missing_receipt_delay_s)
            raise

    def get_document(self, kind: DocumentKind, account_id: str) -> DocumentRow:
        """The tariff or contract of an account."""
        account = self.get_account(account_id)
        text = f"{kind.value.capitalize()} for {account.type.value} account {account.id}\n"
        return DocumentRow(f"{DOCUMENTS_BASE_URL}/{kind.value}_{account.id}.pdf", text.encode())
