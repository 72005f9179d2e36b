"""The gateway's operations, named once: each RPC with its service, its HTTP route and its answer's field.

Both clients and the embedded stand read this table, so an RPC name or a route is spelled in one
place. Paths carry ``{name}`` placeholders for path parameters, as FastAPI writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._enums import AccountType, CardType, OperationType

__all__ = ["ENDPOINTS", "HTTP_PREFIX", "PROTO_PACKAGE", "Endpoint", "card_rpc", "open_account_rpc", "operation_rpc"]

HTTP_PREFIX = "/api/v1"
PROTO_PACKAGE = "contracts.services"  # every message, enum and service of the contract is under it


@dataclass(frozen=True)
class Endpoint:
    rpc: str  # "OpenDebitCardAccount"
    service: str  # "accounts": proto package <PROTO_PACKAGE>.gateway.<service>
    http_method: str  # "POST"
    http_path: str  # "/api/v1/accounts/open-debit-card-account"
    response: str  # the response's one field, the same word in JSON: "account" ({"account": {...}})

    @property
    def grpc_service(self) -> str:
        """Full service name, e.g. ``contracts.services.gateway.accounts.AccountsGatewayService``."""
        return f"{PROTO_PACKAGE}.gateway.{self.service}.{self.service.capitalize()}GatewayService"

    @property
    def grpc_method(self) -> str:
        """Full method path as it goes on the wire: ``/<package>.<Service>/<Rpc>``."""
        return f"/{self.grpc_service}/{self.rpc}"

    @property
    def http_route(self) -> str:
        """``"POST /api/v1/..."``: how errors and logs name an HTTP call."""
        return f"{self.http_method} {self.http_path}"


def _kebab(name: str) -> str:
    return name.lower().replace("_", "-")


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def open_account_rpc(account_type: AccountType) -> str:
    """``AccountType.DEBIT_CARD`` → ``"OpenDebitCardAccount"``."""
    return f"Open{_camel(account_type.value)}Account"


def card_rpc(card_type: CardType) -> str:
    """``CardType.VIRTUAL`` → ``"IssueVirtualCard"``."""
    return f"Issue{_camel(card_type.value)}Card"


def operation_rpc(operation_type: OperationType) -> str:
    """``OperationType.TOP_UP`` → ``"MakeTopUpOperation"``."""
    return f"Make{_camel(operation_type.value)}Operation"


def _endpoints() -> dict[str, Endpoint]:
    p = HTTP_PREFIX
    items = [
        Endpoint("GetUser", "users", "GET", f"{p}/users/{{user_id}}", "user"),
        Endpoint("CreateUser", "users", "POST", f"{p}/users", "user"),
        Endpoint("GetAccounts", "accounts", "GET", f"{p}/accounts", "accounts"),
        *(
            Endpoint(open_account_rpc(t), "accounts", "POST", f"{p}/accounts/open-{_kebab(t.value)}-account", "account")
            for t in AccountType
        ),
        *(Endpoint(card_rpc(t), "cards", "POST", f"{p}/cards/issue-{_kebab(t.value)}-card", "card") for t in CardType),
        Endpoint("GetOperation", "operations", "GET", f"{p}/operations/{{operation_id}}", "operation"),
        Endpoint("GetOperations", "operations", "GET", f"{p}/operations", "operations"),
        Endpoint(
            "GetOperationReceipt",
            "operations",
            "GET",
            f"{p}/operations/operation-receipt/{{operation_id}}",
            "receipt",
        ),
        Endpoint("GetOperationsSummary", "operations", "GET", f"{p}/operations/operations-summary", "summary"),
        *(
            Endpoint(
                operation_rpc(t), "operations", "POST", f"{p}/operations/make-{_kebab(t.value)}-operation", "operation"
            )
            for t in OperationType
        ),
        Endpoint("GetTariffDocument", "documents", "GET", f"{p}/documents/tariff-document/{{account_id}}", "tariff"),
        Endpoint(
            "GetContractDocument", "documents", "GET", f"{p}/documents/contract-document/{{account_id}}", "contract"
        ),
    ]
    return {e.rpc: e for e in items}


ENDPOINTS: dict[str, Endpoint] = _endpoints()
