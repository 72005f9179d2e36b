"""The gateway's wire contract, shared by the gateway clients and the embedded stand.

    protos      message classes, enums and services of the .proto files (``message_class``,
                ``proto_enum``, ``proto_service``), read from ``gateway.binpb``

``gateway.binpb`` is generated with the .proto files by ``python -m contracts.generate``; never
edit it by hand.
"""

from __future__ import annotations

from ._protos import PROTO_PACKAGE, message_class, proto_enum, proto_service

__all__ = ["PROTO_PACKAGE", "message_class", "proto_enum", "proto_service"]
