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

from typing import TYPE_CHECKING

from .._lazy import LazyNames
from ._client import GatewayClient as GatewayClient
from ._timeouts import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from ._transports import Transport as Transport, transport_spec as transport_spec

if TYPE_CHECKING:  # the same names for type checkers and editors (tests/test_lazy_names.py: as the table)
    from ..contract import (
        ENDPOINTS as ENDPOINTS,
        Account as Account,
        AccountStatus as AccountStatus,
        AccountType as AccountType,
        Card as Card,
        CardPaymentSystem as CardPaymentSystem,
        CardStatus as CardStatus,
        CardType as CardType,
        Document as Document,
        Endpoint as Endpoint,
        Operation as Operation,
        OperationsSummary as OperationsSummary,
        OperationStatus as OperationStatus,
        OperationType as OperationType,
        User as User,
    )
    from ._address import grpc_target as grpc_target, http_url as http_url
    from ._call_log import CallLog as CallLog, RpcStats as RpcStats
    from ._contract_client import AccountRef as AccountRef, CardRef as CardRef, LeanCalls as LeanCalls, Ref as Ref
    from ._grpc_client import GrpcGatewayClient as GrpcGatewayClient
    from ._http_client import HttpGatewayClient as HttpGatewayClient
    from ._timeouts import MAX_TIMEOUT as MAX_TIMEOUT, PREFLIGHT_TIMEOUT as PREFLIGHT_TIMEOUT
    from ._transports import (
        DEFAULT_TRANSPORT as DEFAULT_TRANSPORT,
        TRANSPORTS as TRANSPORTS,
        TransportSpec as TransportSpec,
    )


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


# One table of the public names; the clients (grpc, aiohttp), their lean path and the response
# models (pydantic) are imported on first use, so reading a dump pays for none of them.
_PUBLIC = LazyNames(
    __name__,
    {
        ".": ("connect", "lean_calls"),
        "..contract": (
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
            "Operation",
            "OperationStatus",
            "OperationType",
            "OperationsSummary",
            "User",
        ),
        "._address": ("grpc_target", "http_url"),
        "._call_log": ("CallLog", "RpcStats"),
        "._client": ("GatewayClient",),
        "._contract_client": ("AccountRef", "CardRef", "LeanCalls", "Ref"),
        "._grpc_client": ("GrpcGatewayClient",),
        "._http_client": ("HttpGatewayClient",),
        "._timeouts": ("DEFAULT_TIMEOUT", "MAX_TIMEOUT", "PREFLIGHT_TIMEOUT"),
        "._transports": ("DEFAULT_TRANSPORT", "TRANSPORTS", "Transport", "TransportSpec", "transport_spec"),
    },
)
__all__ = _PUBLIC.names
__getattr__ = _PUBLIC.attribute
__dir__ = _PUBLIC.dir
