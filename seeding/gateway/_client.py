"""The transport-neutral gateway client: every RPC / route of the contract as one async method.

``GrpcGatewayClient`` and ``HttpGatewayClient`` implement the abstract methods; the named
convenience methods (``open_debit_card_account``, ``make_top_up_operation``, ...) are defined here
once, on top of the data-driven ``open_account`` / ``issue_card`` / ``make_operation``. Failures are
raised as the ``GatewayError`` tree of ``seeding._exceptions``, already classified.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import TYPE_CHECKING, NotRequired, Self, TypedDict, Unpack

from ..contract import AccountType, CardType, OperationStatus, OperationType
from ._timeouts import DEFAULT_TIMEOUT, MAX_TIMEOUT, PREFLIGHT_TIMEOUT

if TYPE_CHECKING:
    from ..contract import Account, Card, Document, Operation, OperationsSummary, User
    from ._address import Transport
    from ._call_log import CallLog

__all__ = ["DEFAULT_TIMEOUT", "MAX_TIMEOUT", "PREFLIGHT_TIMEOUT", "GatewayClient"]


class _PurchaseArgs(TypedDict):
    """``make_operation``'s keywords besides the type (and the category a purchase names itself)."""

    account_id: str
    card_id: str
    amount: float
    status: NotRequired[OperationStatus]


class _OperationArgs(_PurchaseArgs):
    category: NotRequired[str | None]


class GatewayClient(abc.ABC):
    """An async client of the bank gateway; use it as ``async with`` or call ``aclose()``."""

    transport: Transport  # each class's own, or a wrapper's client's
    target: str  # "localhost:9003" or "http://localhost:8003": where errors say the call went
    # Records every attempt (RPC, status, latency) when set: ``--report`` and the run summary read it.
    call_log: CallLog | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close the channel / connection pool."""

    @abc.abstractmethod
    async def check_reachable(self, timeout: float = 3.0, *, answer_within: float | None = None) -> None:
        """Raise ``GatewayUnreachableError`` unless a connection is made within ``timeout`` seconds.

        With ``answer_within``, also make one real call (GetAccounts of an unknown user, which
        creates nothing) and require an answer, any answer, in that many seconds: a gateway that
        accepts connections and never answers then fails here in seconds, not after every retry.
        """

    async def preflight(self, timeout: float) -> None:
        """The check every command makes before its first call: connected within
        ``min(PREFLIGHT_TIMEOUT, timeout)``, and a real call answered within ``PREFLIGHT_TIMEOUT``."""
        await self.check_reachable(timeout=min(PREFLIGHT_TIMEOUT, timeout), answer_within=PREFLIGHT_TIMEOUT)

    # users
    @abc.abstractmethod
    async def get_user(self, user_id: str) -> User: ...

    @abc.abstractmethod
    async def create_user(
        self,
        *,
        email: str,
        last_name: str = "",
        first_name: str = "",
        middle_name: str = "",
        phone_number: str = "",
    ) -> User: ...

    # accounts
    @abc.abstractmethod
    async def get_accounts(self, user_id: str) -> list[Account]: ...

    @abc.abstractmethod
    async def open_account(self, user_id: str, account_type: AccountType) -> Account:
        """Open an account of ``account_type``; card accounts come back with their two cards."""

    async def open_deposit_account(self, user_id: str) -> Account:
        return await self.open_account(user_id, AccountType.DEPOSIT)

    async def open_savings_account(self, user_id: str) -> Account:
        return await self.open_account(user_id, AccountType.SAVINGS)

    async def open_debit_card_account(self, user_id: str) -> Account:
        return await self.open_account(user_id, AccountType.DEBIT_CARD)

    async def open_credit_card_account(self, user_id: str) -> Account:
        return await self.open_account(user_id, AccountType.CREDIT_CARD)

    # cards
    @abc.abstractmethod
    async def issue_card(self, user_id: str, account_id: str, card_type: CardType) -> Card: ...

    async def issue_virtual_card(self, user_id: str, account_id: str) -> Card:
        return await self.issue_card(user_id, account_id, CardType.VIRTUAL)

    async def issue_physical_card(self, user_id: str, account_id: str) -> Card:
        return await self.issue_card(user_id, account_id, CardType.PHYSICAL)

    # operations
    @abc.abstractmethod
    async def get_operation(self, operation_id: str) -> Operation: ...

    @abc.abstractmethod
    async def get_operations(self, account_id: str) -> list[Operation]: ...

    @abc.abstractmethod
    async def get_operation_receipt(self, operation_id: str) -> Document: ...

    @abc.abstractmethod
    async def get_operations_summary(self, account_id: str) -> OperationsSummary: ...

    @abc.abstractmethod
    async def make_operation(
        self,
        operation_type: OperationType,
        *,
        account_id: str,
        card_id: str,
        amount: float,
        status: OperationStatus = OperationStatus.COMPLETED,
        category: str | None = None,
    ) -> Operation:
        """Make an operation; ``category`` is sent for PURCHASE only (where it is required)."""

    async def make_fee_operation(self, **kwargs: Unpack[_OperationArgs]) -> Operation:
        return await self.make_operation(OperationType.FEE, **kwargs)

    async def make_top_up_operation(self, **kwargs: Unpack[_OperationArgs]) -> Operation:
        return await self.make_operation(OperationType.TOP_UP, **kwargs)

    async def make_cashback_operation(self, **kwargs: Unpack[_OperationArgs]) -> Operation:
        return await self.make_operation(OperationType.CASHBACK, **kwargs)

    async def make_transfer_operation(self, **kwargs: Unpack[_OperationArgs]) -> Operation:
        return await self.make_operation(OperationType.TRANSFER, **kwargs)

    async def make_bill_payment_operation(self, **kwargs: Unpack[_OperationArgs]) -> Operation:
        return await self.make_operation(OperationType.BILL_PAYMENT, **kwargs)

    async def make_cash_withdrawal_operation(self, **kwargs: Unpack[_OperationArgs]) -> Operation:
        return await self.make_operation(OperationType.CASH_WITHDRAWAL, **kwargs)

    async def make_purchase_operation(self, *, category: str, **kwargs: Unpack[_PurchaseArgs]) -> Operation:
        return await self.make_operation(OperationType.PURCHASE, category=category, **kwargs)

    # documents
    @abc.abstractmethod
    async def get_tariff_document(self, account_id: str) -> Document: ...

    @abc.abstractmethod
    async def get_contract_document(self, account_id: str) -> Document: ...
