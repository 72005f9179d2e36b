"""The stand's gRPC side: the contract's five gateway services on a ``grpc.aio`` server.

Methods come from the endpoint table (``seeding.contract``), one handler per kind of
call bound to each type, and are checked against the contract's service descriptors (``seeding.contract``) so a method
the contract has cannot be missing here. Enums go through the contract's enum mapping; dates are the gRPC
side's ``DD-MM-YYYY`` and ``DD-MM-YYYY HH:MM:SS``. Status codes follow the contract's error table.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from enum import StrEnum
from itertools import groupby
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from seeding.contract import (
    ENDPOINTS,
    GRPC_DATE,
    GRPC_DATETIME,
    PROTO_PACKAGE,
    AccountType,
    CardType,
    Endpoint,
    OperationStatus,
    OperationType,
    from_proto,
    message_class,
    proto_service,
    to_proto,
)

from .._exceptions import PUSHBACK_TRAILER
from ._bank import AccountRow, Bank, CardRow, DocumentKind, DocumentRow, OperationRow, SummaryRow, UserRow
from ._dispatch import MAX_REQUEST_BYTES, handlers_by_rpc
from ._errors import (
    InvalidInputError,
    PushbackError,
    StandError,
    StandStartError,
    answer_for,
)
from ._faults import Faults
from ._listening import STOP_GRACE_S, hostport, probe_port
from ._shapes import Converter, Shape

__all__ = ["SERVER_OPTIONS", "GrpcServer", "build_server"]

log = logging.getLogger(__name__)

Fields = dict[str, Any]  # keyword arguments of the RPC's response message
Handler = Callable[[Any], Awaitable[Fields]]

SERVER_OPTIONS: Sequence[tuple[str, Any]] = (
    # grpc sets SO_REUSEPORT by default: a second stand on the same port would bind silently and
    # share the traffic. Without it a port in use is an error, as for the HTTP side.
    ("grpc.so_reuseport", 0),
    ("grpc.max_concurrent_streams", 4096),
    ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
)

# Details travel in a trailer that clients cap at 8-16 KiB: an error that echoes a long input must
# not turn into RESOURCE_EXHAUSTED on the client. Percent-encoded, 1 KiB of UTF-8 stays under 3 KiB.
_MAX_DETAILS_BYTES = 1024


def _message_class(name: str) -> type[Message]:
    return message_class(f"{PROTO_PACKAGE}.{name}")


# ---------------------------------------------------------------- message shapes

_STATUSES: dict[int, OperationStatus] = {
    number: from_proto(OperationStatus, number) for number in map(to_proto, OperationStatus)
}


@functools.lru_cache(maxsize=16)  # a card's expiry date: the same for every card issued that day
def _grpc_date(day: date) -> str:
    return day.strftime(GRPC_DATE)


def _grpc_datetime(moment: datetime) -> str:
    return moment.strftime(GRPC_DATETIME)


def _converter(hint: Any) -> Converter | None:
    """What turns a row's value of type ``hint`` into its message field's value (None: as it is)."""
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        # One table per enum: members of two enums with the same spelling ("ACTIVE") are equal keys.
        return {member: to_proto(member) for member in hint}.__getitem__
    if hint is datetime:  # before date: a datetime is a date
        return _grpc_datetime
    if hint is date:
        return _grpc_date
    return None


def _shape(row_type: type, message: str) -> Shape[Message]:
    """``row_type`` as protobuf message ``message``: the same field names, values in the gRPC side's formats."""
    message_type = _message_class(message)
    return Shape(
        row_type,
        key=lambda name, _: name,
        converter=_converter,
        build=lambda fields: message_type(**fields),
        nested=_SHAPES,
    )


_SHAPES: dict[type, Shape[Message]] = {}  # nested rows first: their shape is in here when the outer one asks
for _row, _name in (
    (UserRow, "users.User"),
    (CardRow, "cards.Card"),
    (AccountRow, "gateway.accounts.AccountView"),
    (OperationRow, "operations.Operation"),
    (SummaryRow, "operations.OperationsSummary"),
    (DocumentRow, "documents.receipts.Receipt"),
):
    _SHAPES[_row] = _shape(_row, _name)
_DOCUMENT_SHAPES: dict[DocumentKind, Shape[Message]] = {
    DocumentKind.TARIFF: _shape(DocumentRow, "documents.tariffs.Tariff"),
    DocumentKind.CONTRACT: _shape(DocumentRow, "documents.contracts.Contract"),
}


def _message(row: Any) -> Message:
    """A bank row as its contract message, in the gRPC side's formats."""
    return _SHAPES[type(row)](row)


def _status(number: int) -> OperationStatus:
    """A request's status: UNSPECIFIED (0) is stored as sent, unknown numbers are refused."""
    try:
        return _STATUSES[number]
    except KeyError:
        raise InvalidInputError(f"status: unknown OperationStatus {number}") from None


# ---------------------------------------------------------------- handlers, one per kind of call


class _Handlers:
    """Each method reads one kind of request, asks the bank, and gives the response's fields."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank

    async def get_user(self, request: Any) -> Fields:
        return {"user": _message(self.bank.get_user(request.id))}

    async def create_user(self, request: Any) -> Fields:
        user = self.bank.create_user(
            email=request.email,
            last_name=request.last_name,
            first_name=request.first_name,
            middle_name=request.middle_name,
            phone_number=request.phone_number,
        )
        return {"user": _message(user)}

    async def get_accounts(self, request: Any) -> Fields:
        return {"accounts": [_message(a) for a in self.bank.get_accounts(request.user_id)]}

    async def open_account(self, account_type: AccountType, request: Any) -> Fields:
        return {"account": _message(self.bank.open_account(request.user_id, account_type))}

    async def issue_card(self, card_type: CardType, request: Any) -> Fields:
        return {"card": _message(self.bank.issue_card(request.user_id, request.account_id, card_type))}

    async def make_operation(self, operation_type: OperationType, request: Any) -> Fields:
        operation = self.bank.make_operation(
            operation_type,
            status=_status(request.status),
            amount=float(request.amount),  # a proto float (float32), stored as received
            card_id=request.card_id,
            account_id=request.account_id,
            category=request.category if operation_type is OperationType.PURCHASE else "",
        )
        return {"operation": _message(operation)}

    async def get_operation(self, request: Any) -> Fields:
        return {"operation": _message(self.bank.get_operation(request.id))}

    async def get_operations(self, request: Any) -> Fields:
        return {"operations": [_message(o) for o in self.bank.get_operations(request.account_id)]}

    async def get_operations_summary(self, request: Any) -> Fields:
        summary = self.bank.get_operations_summary(request.account_id)
        return {"summary": _message(summary)}

    async def get_receipt(self, request: Any) -> Fields:
        receipt = await self.bank.wait_for_receipt(request.operation_id)
        return {"receipt": _message(receipt)}

    async def get_document(self, kind: DocumentKind, request: Any) -> Fields:
        document = self.bank.get_document(kind, request.account_id)
        return {kind.value: _DOCUMENT_SHAPES[kind](document)}


# ---------------------------------------------------------------- servicers and the server


def _code(exc: StandError) -> grpc.StatusCode:
    return grpc.StatusCode[answer_for(exc).grpc_code]


class _Undecodable:
    """A request whose bytes are not its message: answered as grpcio would, without its traceback."""

    def __init__(self, exc: DecodeError) -> None:
        self.details = f"Unexpected {DecodeError!r}: {exc}"


def _lenient(request: type[Message]) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        try:
            return request.FromString(data)
        except DecodeError as exc:
            return _Undecodable(exc)

    return deserialize


def _serve(
    rpc: str, handler: Handler, response: type[Message], faults: Faults
) -> Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Message]]:
    """``handler`` behind the fault injector, with the stand's errors turned into status codes."""

    async def serve(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        if isinstance(request, _Undecodable):  # refused before any handler, as by grpcio itself
            log.warning("stand: %s: %s", rpc, request.details)
            await context.abort(grpc.StatusCode.UNKNOWN, _bounded(request.details))
        trailers: tuple[tuple[str, str], ...] = ()
        try:
            return response(**await faults.run(rpc, handler, request))
        except PushbackError as exc:
            code, details = _code(exc), str(exc)
            trailers = ((PUSHBACK_TRAILER, f"{exc.pushback_ms:.0f}"),)
        except StandError as exc:
            code, details = _code(exc), str(exc)
        except Exception as exc:  # never a crash: answer as an unhandled servicer error would
            log.exception("stand: %s failed", rpc)
            code, details = grpc.StatusCode.UNKNOWN, f"Unexpected {type(exc).__name__}: {exc}"
        await context.abort(code, _bounded(details), trailing_metadata=trailers)
        raise AssertionError("unreachable: context.abort raises")

    return serve


def _bounded(details: str) -> str:
    """``details`` cut to ``_MAX_DETAILS_BYTES`` of UTF-8, marked with "…" where cut."""
    encoded = details.encode("utf-8", errors="replace")
    if len(encoded) <= _MAX_DETAILS_BYTES:
        return details
    return encoded[: _MAX_DETAILS_BYTES - 3].decode("utf-8", errors="ignore") + "…"


def _message_classes(endpoint: Endpoint) -> tuple[type[Message], type[Message]]:
    """The request and response classes of ``endpoint``'s RPC."""
    method = proto_service(endpoint.grpc_service).methods_by_name[endpoint.rpc]
    return message_class(method.input_type.full_name), message_class(method.output_type.full_name)


def _method_handler(endpoint: Endpoint, handler: Handler, faults: Faults) -> grpc.RpcMethodHandler[Any, Any]:
    request, response = _message_classes(endpoint)
    return grpc.unary_unary_rpc_method_handler(
        _serve(endpoint.rpc, handler, response, faults),
        request_deserializer=_lenient(request),
        response_serializer=response.SerializeToString,
    )


def build_server(bank: Bank, faults: Faults) -> grpc.aio.Server:
    """A ``grpc.aio`` server (not yet bound nor started) with every gateway service on ``bank``."""
    handlers = handlers_by_rpc(_Handlers(bank))
    server = grpc.aio.server(options=SERVER_OPTIONS)
    by_service = groupby(sorted(ENDPOINTS.values(), key=lambda e: e.service), key=lambda e: e.service)
    for _, group in by_service:
        endpoints = list(group)
        declared = proto_service(endpoints[0].grpc_service)
        if set(declared.methods_by_name) != {e.rpc for e in endpoints}:
            raise RuntimeError(f"{declared.name}: the contract's methods differ from ENDPOINTS")
        # Registered as the generated add_*_to_server would, but with a deserializer that turns
        # garbage bytes into an answer instead of a logged traceback.
        methods = {e.rpc: _method_handler(e, handlers[e.rpc], faults) for e in endpoints}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(declared.full_name, methods),))
        server.add_registered_method_handlers(declared.full_name, methods)
    return server


class GrpcServer:
    """The stand's gRPC side on one port: ``start`` binds and serves, ``stop`` lets calls finish."""

    def __init__(self, bank: Bank, faults: Faults) -> None:
        self._server = build_server(bank, faults)

    async def start(self, host: str, port: int) -> int:
        """Serve on ``host:port`` (0: a free one); the port bound, or ``StandStartError``."""
        if port:
            probe_port("gRPC", host, port)
        try:
            bound = self._server.add_insecure_port(hostport(host, port))
        except RuntimeError:  # grpc says only "Failed to add port"; the probe above says why, mostly
            raise StandStartError(
                f"cannot listen for gRPC on {hostport(host, port)}: address in use or unavailable"
            ) from None
        await self._server.start()
        return bound

    async def stop(self) -> None:
        await self._server.stop(STOP_GRACE_S)
