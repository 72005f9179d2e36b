"""Gateway clients: one async interface, one implementation per transport.

    GatewayClient (``_client``)      the interface: every RPC / route of the contract
    └── ContractClient (``_contract_client``)  each method as one named RPC, written once
        ├── GrpcGatewayClient (``_grpc_client``)   grpc.aio, one channel reused
        └── HttpGatewayClient (``_http_client``)   httpx API on the aiohttp transport
    LeanCalls (``_contract_client``)  the builder's four calls on one of ours, answered with ids
    CallLog (``_call_log``)           every attempt a client sent: status and latency, by RPC

``connect(transport, target)`` picks one from the table of transports (``_transports``), which
also says each one's default address, command-line flag, settings and stand side. The clients are
imported lazily so reading a dump never pays for grpc or aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..contract import (
    ENDPOINTS,
    AccountStatus,
    AccountType,
    CardPaymentSystem,
    CardStatus,
    CardType,
    Endpoint,
    OperationStatus,
    OperationType,
)
from ._address import grpc_target, http_url
from ._call_log import CallLog, RpcStats
from ._client import GatewayClient
from ._timeouts import DEFAULT_TIMEOUT, MAX_TIMEOUT, PREFLIGHT_TIMEOUT
from ._transports import DEFAULT_TRANSPORT, TRANSPORTS, Transport, TransportSpec, transport_spec

if TYPE_CHECKING:
    from ..contract import Account, Card, Document, Operation, OperationsSummary, User
    from ._contract_client import AccountRef, CardRef, LeanCalls, Ref
    from ._grpc_client import GrpcGatewayClient
    from ._http_client import HttpGatewayClient

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_TRANSPORT",
    "ENDPOINTS",
    "MAX_TIMEOUT",
    "PREFLIGHT_TIMEOUT",
    "TRANSPORTS",
    "Account",
    "AccountRef",
    "AccountStatus",
    "AccountType",
    "CallLog",
    "Card",
    "CardPaymentSystem",
    "CardRef",
    "CardStatus",
    "CardType",
    "Document",
    "Endpoint",
    "GatewayClient",
    "GrpcGatewayClient",
    "HttpGatewayClient",
    "LeanCalls",
    "Operation",
    "OperationStatus",
    "OperationType",
    "OperationsSummary",
    "Ref",
    "RpcStats",
    "Transport",
    "TransportSpec",
    "User",
    "connect",
    "grpc_target",
    "http_url",
    "lean_calls",
    "transport_spec",
]


def connect(transport: Transport, target: str, *, timeout: float = DEFAULT_TIMEOUT) -> GatewayClient:
    """A client for ``target``: ``"host:port"`` for gRPC, ``"http://host:port"`` for HTTP.

    Raises ``ValueError`` for an unknown transport or a target it cannot use (``""``, ``dns:///``,
    a URL without scheme).
    """
    spec = transport_spec(transport)
    return spec.client_class()(spec.check(target), timeout=timeout)


def lean_calls(client: GatewayClient) -> GatewayClient | LeanCalls:
    """What a builder calls to create data: one of our clients' lean path, or any other client as it is.

    Our clients' lean path answers with ``Ref`` / ``AccountRef`` (the ids, an account's type and
    cards), not validated models; a client of another class (a user's own, a wrapper around ours)
    is called through its public methods, whose models have the same attributes.
    """
    from ._contract_client import ContractClient

    return client.lean if isinstance(client, ContractClient) else client


_CLIENTS = {spec.client.rpartition(":")[2]: spec for spec in TRANSPORTS.values()}


_LEAN = ("AccountRef", "CardRef", "LeanCalls", "Ref")
_MODELS = ("Account", "Card", "Document", "Operation", "OperationsSummary", "User")  # pydantic: on first use


def __getattr__(name: str) -> Any:
    """The transports' client classes, imported on first use (grpc and aiohttp are heavy)."""
    if name in _CLIENTS:
        return _CLIENTS[name].client_class()
    if name in _LEAN:
        from . import _contract_client

        return getattr(_contract_client, name)
    if name in _MODELS:
        from .. import contract

        return getattr(contract, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
