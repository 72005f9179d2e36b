"""Gateway clients: one async interface, one implementation per transport.

    GatewayClient (``_client``)      the interface: every RPC / route of the contract
    └── ContractClient (``_contract_client``)  each method as one named RPC, written once
        ├── GrpcGatewayClient (``_grpc_client``)   grpc.aio, one channel reused
        └── HttpGatewayClient (``_http_client``)   httpx API on the aiohttp transport

``connect(transport, target)`` picks one. The transports are imported lazily so reading a dump
never pays for grpc or aiohttp.
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
from ._client import DEFAULT_TIMEOUT, GatewayClient, Transport

if TYPE_CHECKING:
    from ._grpc_client import GrpcGatewayClient
    from ._http_client import HttpGatewayClient

__all__ = [
    "DEFAULT_TIMEOUT",
    "ENDPOINTS",
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
    "User",
    "connect",
]


def connect(transport: Transport, target: str, *, timeout: float = DEFAULT_TIMEOUT) -> GatewayClient:
    """A client for ``target``: ``"host:port"`` for gRPC, ``"http://host:port"`` for HTTP.

    Raises ``ValueError`` for a target the transport cannot use (``""``, ``dns:///``, a URL without scheme).
    """
    from ._address import check_address

    target = check_address(transport, target)
    if transport == "grpc":
        from ._grpc_client import GrpcGatewayClient

        return GrpcGatewayClient(target, timeout=timeout)
    if transport == "http":
        from ._http_client import HttpGatewayClient

        return HttpGatewayClient(target, timeout=timeout)
    raise ValueError(f"unknown transport {transport!r}: expected 'grpc' or 'http'")


def __getattr__(name: str) -> Any:
    if name == "GrpcGatewayClient":
        from ._grpc_client import GrpcGatewayClient

        return GrpcGatewayClient
    if name == "HttpGatewayClient":
        from ._http_client import HttpGatewayClient

        return HttpGatewayClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
