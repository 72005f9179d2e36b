"""The gateway over gRPC: ``grpc.aio``, one plaintext channel reused by every call.

Nothing here is written per RPC: the endpoint table names the RPC and its service, the service's
descriptor (``seeding.contract``) provides the request and response classes, and the channel
makes the call on the method's full name, as a generated stub would, without importing one.
Responses are read field by field as our models declare them, so enum numbers go through
the contract's enum mapping and its gRPC date formats (``seeding.contract``); the builder's lean
path reads the ids (and an account's type and cards) straight off the protobuf message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, get_args, get_origin

import grpc
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from pydantic import BaseModel

from .._exceptions import (
    PUSHBACK_TRAILER,
    GatewayError,
    GatewayUnreachableError,
    error_for_grpc_status,
    pushback_seconds,
)
from ..contract import (
    ENDPOINTS,
    GRPC_DATE,
    GRPC_DATETIME,
    AccountType,
    CardType,
    Endpoint,
    from_proto,
    proto_service,
    to_proto,
)
from ._address import Transport
from ._contract_client import AccountRef, CardRef, ContractClient
from ._timeouts import DEFAULT_TIMEOUT

__all__ = ["GrpcGatewayClient"]

# GetAccounts of an unknown user answers OK with no accounts and touches nothing: a cheap "are you there?".
_PROBE = ENDPOINTS["GetAccounts"]
_PROBE_FIELDS = {"user_id": "00000000-0000-4000-8000-000000000000"}  # version 4 (the nil UUID: 500), never issued

# What grpc-core says in UNAVAILABLE details when no connection could be made at all.
_CONNECT_FAILURES = ("failed to connect", "connection refused", "errors resolving", "dns resolution failed")


class GrpcGatewayClient(ContractClient):
    """The gateway at ``target`` (``"host:port"``) over gRPC; every call has a ``timeout`` deadline."""

    transport: Transport = "grpc"

    def __init__(self, target: str = "localhost:9003", *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.target = target
        self.timeout = timeout
        self._channel: grpc.aio.Channel | None = None
        self._calls: dict[str, tuple[grpc.aio.UnaryUnaryMultiCallable[Message, Message], type[Message]]] = {}

    def _open_channel(self) -> grpc.aio.Channel:
        # Opened on first use, not in __init__: a grpc.aio channel belongs to the running event loop.
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.target)
        return self._channel

    async def aclose(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            self._calls.clear()
            await channel.close()

    async def check_reachable(self, timeout: float = 3.0, *, answer_within: float | None = None) -> None:
        # The probe goes out at once and grpc-core sends it the moment the channel connects: its round
        # trip runs on grpc-core's threads, so a caller that blocks the loop meanwhile (start-up's
        # imports) does not add it to its own time. Whether the connection came is told apart first.
        channel = self._open_channel()
        probe = None if answer_within is None else asyncio.ensure_future(self._no_answer(answer_within, timeout))
        try:
            try:
                async with asyncio.timeout(timeout):
                    connected = await _connected(channel)
                why = "" if connected else "the connection failed"
            except TimeoutError:
                why = f"no connection within {timeout:g} s"
            if not why and probe is not None:
                why = await probe
        finally:
            if probe is not None and not probe.done():
                probe.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await probe
        if why:
            raise GatewayUnreachableError(
                method="connect", target=self.target, status="UNAVAILABLE", detail=f"cannot connect: {why}"
            )

    async def _no_answer(self, within: float, connect_within: float = 0.0) -> str:
        """Why a real call got no answer in ``within`` seconds once connected, or "" when one came (any status).

        The call waits for the connection (``connect_within`` s more at most): whether that came is
        ``_connected``'s to say.
        """
        call, request_class = self._rpc(_PROBE)
        try:
            await call(request_class(**_PROBE_FIELDS), timeout=within + connect_within, wait_for_ready=True)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
                return f"connected, but no answer within {within:g} s"
            detail = exc.details() or ""
            if exc.code() is grpc.StatusCode.UNAVAILABLE and any(f in detail.lower() for f in _CONNECT_FAILURES):
                return f"the connection failed: {detail}"
        return ""

    def _method_name(self, endpoint: Endpoint) -> str:
        return endpoint.rpc

    def _rpc(self, endpoint: Endpoint) -> tuple[grpc.aio.UnaryUnaryMultiCallable[Message, Message], type[Message]]:
        """The call of ``endpoint`` on our channel, and its request class."""
        found = self._calls.get(endpoint.rpc)
        if found is None:
            method = proto_service(endpoint.grpc_service).methods_by_name[endpoint.rpc]
            request, response = GetMessageClass(method.input_type), GetMessageClass(method.output_type)
            call = self._open_channel().unary_unary(
                endpoint.grpc_method,
                request_serializer=request.SerializeToString,
                response_deserializer=response.FromString,
            )
            found = self._calls[endpoint.rpc] = (call, request)
        return found

    async def _call(self, endpoint: Endpoint, fields: Mapping[str, Any]) -> Message:
        call, request_class = self._rpc(endpoint)
        request = request_class(**{k: to_proto(v) if isinstance(v, StrEnum) else v for k, v in fields.items()})
        try:
            response: Message = await call(request, timeout=self.timeout)
            return response
        except grpc.aio.AioRpcError as exc:
            raise self._error(endpoint, exc) from exc

    def _error(self, endpoint: Endpoint, exc: grpc.aio.AioRpcError) -> GatewayError:
        status = exc.code().name
        detail = exc.details() or ""
        if status == "UNAVAILABLE" and any(f in detail.lower() for f in _CONNECT_FAILURES):
            return GatewayUnreachableError(method=endpoint.rpc, target=self.target, status=status, detail=detail)
        pushback = None
        if status in ("RESOURCE_EXHAUSTED", "UNAVAILABLE"):
            trailers = dict(iter(exc.trailing_metadata() or ()))  # pairs: grpcio 1.76's Metadata keys() breaks dict()
            pushback = pushback_seconds(trailers.get(PUSHBACK_TRAILER), unit=0.001)
        return error_for_grpc_status(status, method=endpoint.rpc, target=self.target, detail=detail, pushback=pushback)

    def _decode(self, response: Any, key: str, model: type[BaseModel]) -> Any:
        value = getattr(response, key)
        if isinstance(value, Message):
            return _message_data(value, model)
        return [_message_data(item, model) for item in value]

    def _read_id(self, response: Any, key: str) -> str:
        identifier: str = getattr(response, key).id
        return identifier

    def _read_account(self, response: Any, key: str) -> AccountRef:
        account = getattr(response, key)
        cards = tuple(CardRef(card.id, from_proto(CardType, card.type)) for card in account.cards)
        return AccountRef(account.id, from_proto(AccountType, account.type), cards)


async def _connected(channel: grpc.aio.Channel) -> bool:
    """Wait until ``channel`` connects (True) or a connection attempt made meanwhile fails (False).

    Like ``channel_ready()``, but a refused connection answers at once, as it does over HTTP,
    instead of the channel retrying with back-off until the caller's timeout. A failure the channel
    was already in when we started is stale (it may be minutes old): that one we wait out.
    """
    state = channel.get_state(try_to_connect=True)
    stale = state is grpc.ChannelConnectivity.TRANSIENT_FAILURE
    while state is not grpc.ChannelConnectivity.READY:
        if state is grpc.ChannelConnectivity.SHUTDOWN:
            return False
        if state is grpc.ChannelConnectivity.TRANSIENT_FAILURE and not stale:
            return False
        await channel.wait_for_state_change(state)
        state, stale = channel.get_state(try_to_connect=True), False
    return True


def _message_data(message: Message, model: type[BaseModel]) -> dict[str, Any]:
    """The fields ``model`` declares, read from ``message`` and converted to what ``model`` takes."""
    return {name: _value(getattr(message, name), field.annotation) for name, field in model.model_fields.items()}


def _value(value: Any, annotation: Any) -> Any:
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return [_value(v, item) for v in value]
    if isinstance(annotation, type):
        if issubclass(annotation, StrEnum):
            return from_proto(annotation, value)
        if issubclass(annotation, datetime):  # before date: datetime is a date
            return datetime.strptime(value, GRPC_DATETIME)
        if issubclass(annotation, date):
            return datetime.strptime(value, GRPC_DATE).date()
        if issubclass(annotation, BaseModel):
            return _message_data(value, annotation)
    return value
