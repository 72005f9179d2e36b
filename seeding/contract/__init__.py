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

from typing import TYPE_CHECKING

from .._lazy import LazyNames
from ._endpoints import (
    ENDPOINTS as ENDPOINTS,
    HTTP_PREFIX as HTTP_PREFIX,
    PROTO_PACKAGE as PROTO_PACKAGE,
    Endpoint as Endpoint,
    card_rpc as card_rpc,
    open_account_rpc as open_account_rpc,
    operation_rpc as operation_rpc,
)
from ._enums import (
    AccountStatus as AccountStatus,
    AccountType as AccountType,
    CardPaymentSystem as CardPaymentSystem,
    CardStatus as CardStatus,
    CardType as CardType,
    OperationStatus as OperationStatus,
    OperationType as OperationType,
)
from ._wire import GRPC_DATE as GRPC_DATE, GRPC_DATETIME as GRPC_DATETIME

if TYPE_CHECKING:  # the same names for type checkers and editors (tests/test_lazy_names.py: as the table)
    from ._enum_mapping import from_proto as from_proto, to_proto as to_proto
    from ._models import (
        Account as Account,
        Card as Card,
        Document as Document,
        Operation as Operation,
        OperationsSummary as OperationsSummary,
        User as User,
    )
    from ._protos import message_class as message_class, proto_enum as proto_enum, proto_service as proto_service

# One table of the public names; the models (pydantic) and the protobuf side are imported with the
# first thing that needs them.
_PUBLIC = LazyNames(
    __name__,
    {
        "._endpoints": (
            "ENDPOINTS",
            "HTTP_PREFIX",
            "PROTO_PACKAGE",
            "Endpoint",
            "card_rpc",
            "open_account_rpc",
            "operation_rpc",
        ),
        "._enums": (
            "AccountStatus",
            "AccountType",
            "CardPaymentSystem",
            "CardStatus",
            "CardType",
            "OperationStatus",
            "OperationType",
        ),
        "._wire": ("GRPC_DATE", "GRPC_DATETIME"),
        "._models": ("Account", "Card", "Document", "Operation", "OperationsSummary", "User"),
        "._enum_mapping": ("from_proto", "to_proto"),
        "._protos": ("message_class", "proto_enum", "proto_service"),
    },
)
__all__ = _PUBLIC.names
__getattr__ = _PUBLIC.attribute
__dir__ = _PUBLIC.dir
