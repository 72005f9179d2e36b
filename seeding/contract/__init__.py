"""The gateway's contract, owned by neither side: the gateway clients and the embedded stand import it.

    _models        what the gateway returns, as typed models (HTTP spellings for enums)
    _endpoints     each RPC with its service and HTTP route, named once (``ENDPOINTS``)
    _wire          the gRPC side's date formats
    _protos        message classes, enums and services of the .proto files, from ``gateway.binpb``
    _enum_mapping  our enums ↔ protobuf enum numbers

``gateway.binpb`` is generated with the .proto files by ``python -m contracts.generate``; never
edit it by hand. The protobuf side is imported on first use, so plans and dumps never pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._endpoints import (
    ENDPOINTS,
    HTTP_PREFIX,
    PROTO_PACKAGE,
    Endpoint,
    card_rpc,
    open_account_rpc,
    operation_rpc,
)
from ._models import (
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
from ._wire import GRPC_DATE, GRPC_DATETIME

if TYPE_CHECKING:
    from ._enum_mapping import from_proto, to_proto
    from ._protos import message_class, proto_enum, proto_service

__all__ = [
    "ENDPOINTS",
    "GRPC_DATE",
    "GRPC_DATETIME",
    "HTTP_PREFIX",
    "PROTO_PACKAGE",
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
    "card_rpc",
    "from_proto",
    "message_class",
    "open_account_rpc",
    "operation_rpc",
    "proto_enum",
    "proto_service",
    "to_proto",
]

_PROTOBUF = {
    "from_proto": "._enum_mapping",
    "to_proto": "._enum_mapping",
    "message_class": "._protos",
    "proto_enum": "._protos",
    "proto_service": "._protos",
}


def __getattr__(name: str) -> Any:
    """Import protobuf with the first thing that needs it."""
    if name in _PROTOBUF:
        import importlib

        return getattr(importlib.import_module(_PROTOBUF[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
