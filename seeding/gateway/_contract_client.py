"""Every interface method written once, as one call of the contract; the transports only send calls.

A method names its RPC and its request fields exactly as the contract's proto does
(``GetUser {id}``, ``MakePurchaseOperation {status, amount, card_id, category, account_id}``), and
the response field it wants (``user``, ``accounts``, ...; the JSON keys are the same words). Each
transport implements ``_call`` (put the fields on the wire, raise the classified ``GatewayError``)
and ``_decode`` (take that response field out as plain data); validation into our models and the
rules shared by both transports (which operations carry a category) live here, once.
"""

from __future__ import annotations

import abc
import math
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from .._exceptions import GatewayError, PermanentGatewayError, TransientGatewayError
from ..contract import (
    ENDPOINTS,
    Account,
    AccountType,
    Card,
    CardType,
    Document,
    Endpoint,
    Operation,
    OperationsSummary,
    OperationStatus,
    OperationType,
    User,
    card_rpc,
    open_account_rpc,
    operation_rpc,
)
from ._client import GatewayClient

__all__ = ["ContractClient"]

M = TypeVar("M", bound=BaseModel)

# The request's amount is a proto ``float``: beyond this a gRPC request carries inf. The gateway
# stores NaN and inf as sent over gRPC and fails over HTTP, so no client of ours sends them.
_MAX_AMOUNT = 3.4028234663852886e38


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
    def _method_name(self, endpoint: Endpoint) -> str:
        """How errors name the call on this transport: ``"GetUser"`` or ``"GET /api/v1/users/{user_id}"``."""

    async def _one(self, rpc: str, fields: Mapping[str, Any], key: str, model: type[M]) -> M:
        data = await self._invoke(rpc, fields, key, model)
        return self._validate(rpc, model, data)

    async def _many(self, rpc: str, fields: Mapping[str, Any], key: str, model: type[M]) -> list[M]:
        data = await self._invoke(rpc, fields, key, model)
        return self._validate(rpc, list[model], data)  # type: ignore[valid-type]

    async def _invoke(self, rpc: str, fields: Mapping[str, Any], key: str, model: type[BaseModel]) -> Any:
        endpoint = ENDPOINTS[rpc]
        log = self.call_log
        if log is None:
            response = await self._call(endpoint, fields)
        else:
            started = time.perf_counter()
            try:
                response = await self._call(endpoint, fields)
            except GatewayError as exc:
                transient = isinstance(exc, TransientGatewayError)
                log.record(rpc, exc.status, time.perf_counter() - started, transient=transient)
                raise
            log.record(rpc, "OK", time.perf_counter() - started)
        try:
            return self._decode(response, key, model)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._bad_response(rpc, exc) from exc

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
        return await self._one("GetUser", {"id": user_id}, "user", User)

    async def create_user(
        self,
        *,
        email: str,
        last_name: str = "",
        first_name: str = "",
        middle_name: str = "",
        phone_number: str = "",
    ) -> User:
        fields = {
            "email": email,
            "last_name": last_name,
            "first_name": first_name,
            "middle_name": middle_name,
            "phone_number": phone_number,
        }
        return await self._one("CreateUser", fields, "user", User)

    # accounts
    async def get_accounts(self, user_id: str) -> list[Account]:
        return await self._many("GetAccounts", {"user_id": user_id}, "accounts", Account)

    async def open_account(self, user_id: str, account_type: AccountType) -> Account:
        return await self._one(open_account_rpc(account_type), {"user_id": user_id}, "account", Account)

    # cards
    async def issue_card(self, user_id: str, account_id: str, card_type: CardType) -> Card:
        fields = {"user_id": user_id, "account_id": account_id}
        return await self._one(card_rpc(card_type), fields, "card", Card)

    # operations
    async def get_operation(self, operation_id: str) -> Operation:
        return await self._one("GetOperation", {"id": operation_id}, "operation", Operation)

    async def get_operations(self, account_id: str) -> list[Operation]:
        return await self._many("GetOperations", {"account_id": account_id}, "operations", Operation)

    async def get_operation_receipt(self, operation_id: str) -> Document:
        return await self._one("GetOperationReceipt", {"operation_id": operation_id}, "receipt", Document)

    async def get_operations_summary(self, account_id: str) -> OperationsSummary:
        fields = {"account_id": account_id}
        return await self._one("GetOperationsSummary", fields, "summary", OperationsSummary)

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
        return await self._one(operation_rpc(operation_type), fields, "operation", Operation)

    # documents
    async def get_tariff_document(self, account_id: str) -> Document:
        return await self._one("GetTariffDocument", {"account_id": account_id}, "tariff", Document)

    async def get_contract_document(self, account_id: str) -> Document:
        return await self._one("GetContractDocument", {"account_id": account_id}, "contract", Document)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(shape: Any) -> TypeAdapter[Any]:
    """One cached ``TypeAdapter`` per response shape: building one per call costs more than the call."""
    adapter = _ADAPTERS.get(shape)
    if adapter is None:
        adapter = _ADAPTERS[shape] = TypeAdapter(shape)
    return adapter
