"""Gateway clients: one async interface, one implementation per transport.

    GatewayClient (``_client``)      the interface: every RPC / route of the contract
    └── ContractClient (``_contract_client``)  each method as one named RPC, written once
        ├── GrpcGatewayClient (``_grpc_client``)   grpc.aio, one channel reused
        └── HttpGatewayClient (``_http_client``)   httpx API on the aiohttp transport

``connect(transport, target)`` picks one from the table of transports (``_transports``), which
also says each one's default address, command-line flag, settings and stand side. The clients are
imported lazily so reading a dump never pays for grpc or aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..contract import (
    ENDPOINTS,
    Account,
    AccountStatus,
    AccountType,
    Card,
    CardPaymentSystem,
    CardStatus,
    CardType,
    Document,
    Endpoint,
    Operation,
    OperationsSummary,
    OperationStatus,
    OperationType,
    User,
)
from ._address import grpc_target, http_url
from ._client import DEFAULT_TIMEOUT, MAX_TIMEOUT, PREFLIGHT_TIMEOUT, GatewayClient
from ._transports import TRANSPORTS, Transport, TransportSpec, transport_spec

if TYPE_CHECKING:
    from ._grpc_client import GrpcGatewayClient
    from ._http_client import HttpGatewayClient

__all__ = [
    "DEFAULT_TIMEOUT",
    "ENDPOINTS",
    "MAX_TIMEOUT",
    "PREFLIGHT_TIMEOUT",
    "TRANSPORTS",
    "Account",
    "AccountStatus",
    "AccountType",
    "Card",
    "CardPaymentSystem",
    "CardStatus",
    "CardType",
    "Document",
    "Endpoint",
    "GatewayClient",
    "GrpcGatewayClient",
    "HttpGatewayClient",
    "Operation",
    "OperationStatus",
    "OperationType",
    "OperationsSummary",
    "Transport",
    "TransportSpec",
    "User",
    "connect",
    "grpc_target",
    "http_url",
    "transport_spec",
]


def connect(transport: Transport, target: str, *, timeout: float = DEFAULT_TIMEOUT) -> GatewayClient:
    """A client for ``target``: ``"host:port"`` for gRPC, ``"http://host:port"`` for HTTP.

    Raises ``ValueError`` for an unknown transport or a target it cannot use (``""``, ``dns:///``,
    a URL without scheme).
    """
    spec = transport_spec(transport)
    return spec.client_class()(spec.check(target), timeout=timeout)


_CLIENTS = {spec.client.rpartition(":")[2]: spec for spec in TRANSPORTS.values()}


def __getattr__(name: str) -> Any:
    """The transports' client classes, imported on first use (grpc and aiohttp are heavy)."""
    if name in _CLIENTS:
        return _CLIENTS[name].client_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
