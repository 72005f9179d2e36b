"""Which handler serves which RPC: the one table both of the stand's servers share.

Each server has one handler method per *kind* of call (open an account, issue a card, make an
operation, get a document, ...); here every RPC name of the endpoint table is bound to its method,
with the account / card / operation type or document kind it stands for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from seeding.contract import ENDPOINTS, AccountType, CardType, OperationType, card_rpc, open_account_rpc, operation_rpc

from ._bank import DocumentKind

__all__ = ["MAX_REQUEST_BYTES", "handlers_by_rpc"]

# The largest request either server reads: grpcio's default receive limit, which the real gateway
# keeps; the HTTP side takes the same, so a 2 MB email gets its 422 rather than a size error.
# Larger: HTTP 413, gRPC RESOURCE_EXHAUSTED, both before any handler runs.
MAX_REQUEST_BYTES = 4 << 20


def handlers_by_rpc(handlers: Any) -> dict[str, Callable[..., Any]]:
    """Every RPC of ``ENDPOINTS`` → the method of ``handlers`` that serves it, types bound.

    ``handlers`` has ``get_user``, ``create_user``, ``get_accounts``, ``open_account(type, req)``,
    ``issue_card(type, req)``, ``make_operation(type, req)``, ``get_operation``, ``get_operations``,
    ``get_operations_summary``, ``get_receipt`` and ``get_document(kind, req)``.
    """
    bind = functools.partial
    table: dict[str, Callable[..., Any]] = {
        "GetUser": handlers.get_user,
        "CreateUser": handlers.create_user,
        "GetAccounts": handlers.get_accounts,
        "GetOperation": handlers.get_operation,
        "GetOperations": handlers.get_operations,
        "GetOperationsSummary": handlers.get_operations_summary,
        "GetOperationReceipt": handlers.get_receipt,
        "GetTariffDocument": bind(handlers.get_document, DocumentKind.TARIFF),
        "GetContractDocument": bind(handlers.get_document, DocumentKind.CONTRACT),
    }
    table.update({open_account_rpc(t): bind(handlers.open_account, t) for t in AccountType})
    table.update({card_rpc(t): bind(handlers.issue_card, t) for t in CardType})
    table.update({operation_rpc(t): bind(handlers.make_operation, t) for t in OperationType})
    if table.keys() != ENDPOINTS.keys():  # a new RPC in the table must get a handler here
        raise RuntimeError(f"stand handlers out of step with ENDPOINTS: {sorted(table.keys() ^ ENDPOINTS.keys())}")
    return table
