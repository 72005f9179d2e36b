"""How the gateway writes dates on the gRPC side: as text, not ``google.protobuf.Timestamp``.

The contract's "Behaviour" section: ``Card.expiry_date`` is ``DD-MM-YYYY`` and
``Operation.created_at`` is ``DD-MM-YYYY HH:MM:SS``. The client parses them, the stand writes them.
"""

from __future__ import annotations

__all__ = ["GRPC_DATE", "GRPC_DATETIME"]

GRPC_DATE = "%d-%m-%Y"  # Card.expiry_date
GRPC_DATETIME = "%d-%m-%Y %H:%M:%S"  # Operation.created_at
