"""Every interface method written once, as one call of the contract; the transports only send calls.

A method names its RPC and its request fields exactly as the contract's proto does
(``GetUser {id}``, ``MakePurchaseOperation {status, amount, card_id, category, account_id}``); the
endpoint table says which response field holds the answer (``user``, ``accounts``, ...; the JSON
keys are the same words). Each transport implements ``_call`` (put the fields on the wire, raise the
classified ``GatewayError``) and ``_decode`` (take that response field out as plain data);
validation into our models and the rules shared by both transports (which operations carry a
category) live here, once.

The builder reads two fields of an answer, so it takes the lean path, ``LeanCalls``: the same
requests (built by the same functions), answered with ``Ref`` / ``AccountRef``, which each transport
reads straight off its response (``_read_id``, ``_read_account``: protobuf attributes, JSON keys)
without building and validating models. The models stay for the public API and ``verify``.
"""

from __future__ import annotations

import abc
import math
import time
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from .. import contract
from .._exceptions import GatewayError, PermanentGatewayError, TransientGatewayError
from ..contract import (
    ENDPOINTS,
    AccountType,
    CardType,
    Endpoint,
    OperationStatus,
    OperationType,
    card_rpc,
    open_account_rpc,
    operation_rpc,
)
from ._client import GatewayClient

if TYPE_CHECKING:  # the response models load with the first call that returns one: the builder's never do
    from ..contract import Account, Card, Document, Operation, OperationsSummary, User

__all__ = ["AccountRef", "CardRef", "ContractClient", "LeanCalls", "Ref"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

# The request's amount is a proto ``float``: beyond this a gRPC request carries inf. The gateway
# stores NaN and inf as sent over gRPC and fails over HTTP, so no client of ours sends them.
_MAX_AMOUNT = 3.4028234663852886e38


class Ref(NamedTuple):
    """What the builder keeps of a created user, card or operation: its id."""

    id: str


class CardRef(NamedTuple):
    id: str
    type: CardType


class AccountRef(NamedTuple):
    """What the builder keeps of an opened account: its id, its type and the cards it came with."""

    id: str
    type: AccountType
    cards: tuple[CardRef, ...]


class ContractClient(GatewayClient):
    """The interface implemented on top of ``_call`` / ``_decode``; subclass once per transport."""

    @abc.abstractmethod
    async def _call(self, endpoint: Endpoint, fields: Mapping[str, Any]) -> Any:
        """Send one call with the contract's request ``fields``; return the transport's response.

        Raises the ``GatewayError`` that ``seeding._exceptions`` classifies for the failure.
        """

    @abc.abstractmethod
    def _decode(self, response: Any, key: str, model: type[BaseModel]) -> Any:
        """The response field ``key`` as plain data (dicts, lists, scalars) ``model`` validates."""

    @abc.abstractmethod
    def _read_id(self, response: Any, key: str) -> str:
        """The ``id`` of the response field ``key``, read off the transport's response as it is."""

    @abc.abstractmethod
    def _read_account(self, response: Any, key: str) -> AccountRef:
        """The account in the response field ``key``: its id, type and cards' ids and types."""

    @abc.abstractmethod
    def _method_name(self, endpoint: Endpoint) -> str:
        """How errors name the call on this transport: ``"GetUser"`` or ``"GET /api/v1/users/{user_id}"``."""

    @cached_property
    def lean(self) -> LeanCalls:
        """The builder's calls on this client's connection, answered with ids (and an account's cards)."""
        return LeanCalls(self)

    async def _one(self, rpc: str, fields: Mapping[str, Any], model: type[M]) -> M:
        one: M = await self._invoke(rpc, fields, model, model)
        return one

    async def _many(self, rpc: str, fields: Mapping[str, Any], model: type[M]) -> list[M]:
        many: list[M] = await self._invoke(rpc, fields, model, list[model])  # type: ignore[valid-type]  # a runtime type: list[M] of this call's M
        return many

    async def _invoke(self, rpc: str, fields: Mapping[str, Any], model: type[BaseModel], shape: Any) -> Any:
        """The answer of ``rpc``: the response field ``model`` validates, validated as ``shape``."""
        endpoint = ENDPOINTS[rpc]

        def read(response: Any) -> Any:
            try:
                data = self._decode(response, endpoint.response, model)
            except (KeyError, TypeError, ValueError) as exc:
                raise self._bad_response(rpc, exc) from exc
            return self._validate(rpc, shape, data)

        return await self._send(endpoint, fields, read)

    async def _ref(self, rpc: str, fields: Mapping[str, Any]) -> Ref:
        """The lean answer of ``rpc``: the created entity's id."""
        return Ref(await self._lean(rpc, fields, self._read_id))

    async def _account_ref(self, rpc: str, fields: Mapping[str, Any]) -> AccountRef:
        return await self._lean(rpc, fields, self._read_account)

    async def _lean(self, rpc: str, fields: Mapping[str, Any], read_field: Callable[[Any, str], T]) -> T:
        """``read_field(response, key)`` of the answer of ``rpc``, read off the transport's response as it is."""
        endpoint = ENDPOINTS[rpc]

        def read(response: Any) -> T:
            try:
                return read_field(response, endpoint.response)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise self._bad_response(rpc, exc) from exc

        return await self._send(endpoint, fields, read)

    async def _send(self, endpoint: Endpoint, fields: Mapping[str, Any], read: Callable[[Any], T]) -> T:
        """``_call``, its response read by ``read``; recorded in ``call_log`` when there is one.

        The attempt's latency is the call's; its status is the call's error, else ``read``'s (an
        answer that does not fit the contract is a "malformed response", not OK), else OK.
        """
        log = self.call_log
        if log is None:
            return read(await self._call(endpoint, fields))
        started = time.perf_counter()
        try:
            response = await self._call(endpoint, fields)
        except GatewayError as exc:
            transient = isinstance(exc, TransientGatewayError)
            log.record(endpoint.rpc, exc.status, time.perf_counter() - started, transient=transient)
            raise
        seconds = time.perf_counter() - started
        try:
            answer = read(response)
        except GatewayError as exc:
            log.record(endpoint.rpc, exc.status, seconds)
            raise
        log.record(endpoint.rpc, "OK", seconds)
        return answer

    def _validate(self, rpc: str, shape: Any, data: Any) -> Any:
        try:
            return _adapter(shape).validate_python(data)
        except ValidationError as exc:
            raise self._bad_response(rpc, exc) from exc

    def _bad_response(self, rpc: str, exc: Exception) -> PermanentGatewayError:
        """A 2xx / OK answer that does not fit the contract: the same call will not fit it later."""
        return PermanentGatewayError(
            method=self._method_name(ENDPOINTS[rpc]),
            target=self.target,
            status="malformed response",
            detail=f"{type(exc).__name__}: {exc}",
        )

    # users
    async def get_user(self, user_id: str) -> User:
        return await self._one("GetUser", {"id": user_id}, contract.User)

    async def create_user(
        self,
        *,
        email: str,
        last_name: str = "",
        first_name: str = "",
        middle_name: str = "",
        phone_number: str = "",
    ) -> User:
        fields = _user_fields(email, last_name, first_name, middle_name, phone_number)
        return await self._one("CreateUser", fields, contract.User)

    # accounts
    async def get_accounts(self, user_id: str) -> list[Account]:
        return await self._many("GetAccounts", {"user_id": user_id}, contract.Account)

    async def open_account(self, user_id: str, account_type: AccountType) -> Account:
        return await self._one(open_account_rpc(account_type), {"user_id": user_id}, contract.Account)

    # cards
    async def issue_card(self, user_id: str, account_id: str, card_type: CardType) -> Card:
        return await self._one(card_rpc(card_type), {"user_id": user_id, "account_id": account_id}, contract.Card)

    # operations
    async def get_operation(self, operation_id: str) -> Operation:
        return await self._one("GetOperation", {"id": operation_id}, contract.Operation)

    async def get_operations(self, account_id: str) -> list[Operation]:
        return await self._many("GetOperations", {"account_id": account_id}, contract.Operation)

    async def get_operation_receipt(self, operation_id: str) -> Document:
        return await self._one("GetOperationReceipt", {"operation_id": operation_id}, contract.Document)

    async def get_operations_summary(self, account_id: str) -> OperationsSummary:
        return await self._one("GetOperationsSummary", {"account_id": account_id}, contract.OperationsSummary)

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
        rpc, fields = _operation_request(operation_type, account_id, card_id, amount, status, category)
        return await self._one(rpc, fields, contract.Operation)

    # documents
    async def get_tariff_document(self, account_id: str) -> Document:
        return await self._one("GetTariffDocument", {"account_id": account_id}, contract.Document)

    async def get_contract_document(self, account_id: str) -> Document:
        return await self._one("GetContractDocument", {"account_id": account_id}, contract.Document)


class LeanCalls:
    """The four calls a builder makes, on ``client``'s connection, answered with refs instead of models.

    The same requests as the client's own methods (the same functions build them), the same call
    log and errors; only the answer is read differently: the fields the builder keeps, taken off
    the transport's response as they are.
    """

    def __init__(self, client: ContractClient) -> None:
        self._client = client
        self.target = client.target

    async def create_user(
        self,
        *,
        email: str,
        last_name: str = "",
        first_name: str = "",
        middle_name: str = "",
        phone_number: str = "",
    ) -> Ref:
        fields = _user_fields(email, last_name, first_name, middle_name, phone_number)
        return await self._client._ref("CreateUser", fields)

    async def open_account(self, user_id: str, account_type: AccountType) -> AccountRef:
        return await self._client._account_ref(open_account_rpc(account_type), {"user_id": user_id})

    async def issue_card(self, user_id: str, account_id: str, card_type: CardType) -> Ref:
        return await self._client._ref(card_rpc(card_type), {"user_id": user_id, "account_id": account_id})

    async def make_operation(
        self,
        operation_type: OperationType,
        *,
        account_id: str,
        card_id: str,
        amount: float,
        status: OperationStatus = OperationStatus.COMPLETED,
        category: str | None = None,
    ) -> Ref:
        rpc, fields = _operation_request(operation_type, account_id, card_id, amount, status, category)
        return await self._client._ref(rpc, fields)


def _user_fields(email: str, last_name: str, first_name: str, middle_name: str, phone_number: str) -> dict[str, str]:
    return {
        "email": email,
        "last_name": last_name,
        "first_name": first_name,
        "middle_name": middle_name,
        "phone_number": phone_number,
    }


def _operation_request(
    operation_type: OperationType,
    account_id: str,
    card_id: str,
    amount: float,
    status: OperationStatus,
    category: str | None,
) -> tuple[str, dict[str, Any]]:
    """The RPC and request fields of an operation: checked amount, a category for PURCHASE only."""
    operation_type = OperationType(operation_type)
    if not (math.isfinite(amount) and abs(amount) <= _MAX_AMOUNT):
        raise ValueError(f"amount must be a finite number of at most {_MAX_AMOUNT:.4g} in size, not {amount!r}")
    fields: dict[str, Any] = {
        "status": OperationStatus(status),
        "amount": amount,
        "card_id": card_id,
        "account_id": account_id,
    }
    # Only MakePurchaseOperation has a category field (5); the server names the others itself.
    if operation_type is OperationType.PURCHASE:
        if category is None:
            raise ValueError("a PURCHASE operation needs a category")
        fields["category"] = category
    return operation_rpc(operation_type), fields


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(shape: Any) -> TypeAdapter[Any]:
    """One cached ``TypeAdapter`` per response shape: building one per call costs more than the call."""
    adapter = _ADAPTERS.get(shape)
    if adapter is None:
        adapter = _ADAPTERS[shape] = TypeAdapter(shape)
    return adapter
