"""The gateway's contract, owned by neither side: the gateway clients and the embedded stand import it.

    _enums         the enums, in their HTTP spellings (``DEBIT_CARD``)
    _models        what the gateway returns, as typed (pydantic) models
    _endpoints     each RPC with its service and HTTP route, named once (``ENDPOINTS``)
    _wire          the gRPC side's date formats
    _protos        message classes, enums and services of the .proto files, from ``gateway.binpb``
    _enum_mapping  our enums ↔ protobuf enum numbers

``gateway.binpb`` is generated with the .proto files by ``python -m contracts.generate``; never
edit it by hand. The models and the protobuf side are imported on first use, so plans, dumps and
``--help`` never pay for pydantic models or protobuf.
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
from ._enums import (
    AccountStatus,
    AccountType,
    CardPaymentSystem,
    CardStatus,
    CardType,
    OperationStatus,
    OperationType,
)
from ._wire import GRPC_DATE, GRPC_DATETIME

if TYPE_CHECKING:
    from ._enum_mapping import from_proto, to_proto
    from ._models import Account, Card, Document, Operation, OperationsSummary, User
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

_LAZY = {
    **dict.fromkeys(("Account", "Card", "Document", "Operation", "OperationsSummary", "User"), "._models"),
    "from_proto": "._enum_mapping",
    "to_proto": "._enum_mapping",
    "message_class": "._protos",
    "proto_enum": "._protos",
    "proto_service": "._protos",
}


def __getattr__(name: str) -> Any:
    """Import the models and protobuf with the first thing that needs them."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
