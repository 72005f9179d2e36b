"""The committed contracts: generated code is fresh, and the protos say what the contract says.

The expected tables below are copied by hand from ../shared/GATEWAY-CONTRACT.md, not computed
from the protos, so a drifted proto (a renumbered field, a renamed service) fails here.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from contracts.generate import DESCRIPTOR_SET, PROJECT_ROOT, TOOLS_VERSION, proto_files
from seeding.contract._protos import _pool
from seeding.gateway import ENDPOINTS

GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def _generated_files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in (root / "contracts").rglob("*") if p.name.endswith(GENERATED_SUFFIXES)}


def _module(proto: Path) -> ModuleType:
    return importlib.import_module(str(proto.with_suffix("")).replace("/", ".") + "_pb2")


def _tools_version() -> str | None:
    try:
        return version("grpcio-tools")
    except PackageNotFoundError:
        return None


@pytest.mark.skipif(
    _tools_version() != TOOLS_VERSION,
    reason=f"needs grpcio-tools=={TOOLS_VERSION} (the lowest-versions CI step installs it)",
)
def test_committed_generated_code_is_what_the_generate_command_writes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "contracts.generate", "--out", str(tmp_path)], cwd=PROJECT_ROOT, check=True)
    assert (tmp_path / DESCRIPTOR_SET).read_bytes() == (PROJECT_ROOT / DESCRIPTOR_SET).read_bytes(), (
        "regenerate with `python -m contracts.generate`"
    )
    fresh, committed = _generated_files(tmp_path), _generated_files(PROJECT_ROOT)
    assert len(fresh) == 3 * len(proto_files())
    assert sorted(map(str, committed - fresh)) == [], "committed generated files no .proto produces"
    assert sorted(map(str, fresh - committed)) == [], "generated files missing from the repository"
    stale = [str(p) for p in sorted(fresh) if (tmp_path / p).read_bytes() != (PROJECT_ROOT / p).read_bytes()]
    assert stale == [], "regenerate with `python -m contracts.generate`"


# --- the contract, by hand ------------------------------------------------------------------------

PACKAGES = {
    "contracts/services/users/user.proto": "contracts.services.users",
    "contracts/services/accounts/account.proto": "contracts.services.accounts",
    "contracts/services/cards/card.proto": "contracts.services.cards",
    "contracts/services/operations/operation.proto": "contracts.services.operations",
    "contracts/services/operations/operations_summary.proto": "contracts.services.operations",
    "contracts/services/documents/receipts/receipt.proto": "contracts.services.documents.receipts",
    "contracts/services/documents/tariffs/tariff.proto": "contracts.services.documents.tariffs",
    "contracts/services/documents/contracts/contract.proto": "contracts.services.documents.contracts",
    "contracts/services/gateway/accounts/account.proto": "contracts.services.gateway.accounts",
}

FULL_METHOD_NAMES = [
    "/contracts.services.gateway.users.UsersGatewayService/GetUser",
    "/contracts.services.gateway.users.UsersGatewayService/CreateUser",
    "/contracts.services.gateway.accounts.AccountsGatewayService/GetAccounts",
    "/contracts.services.gateway.accounts.AccountsGatewayService/OpenDepositAccount",
    "/contracts.services.gateway.accounts.AccountsGatewayService/OpenSavingsAccount",
    "/contracts.services.gateway.accounts.AccountsGatewayService/OpenDebitCardAccount",
    "/contracts.services.gateway.accounts.AccountsGatewayService/OpenCreditCardAccount",
    "/contracts.services.gateway.cards.CardsGatewayService/IssueVirtualCard",
    "/contracts.services.gateway.cards.CardsGatewayService/IssuePhysicalCard",
    "/contracts.services.gateway.operations.OperationsGatewayService/GetOperation",
    "/contracts.services.gateway.operations.OperationsGatewayService/GetOperations",
    "/contracts.services.gateway.operations.OperationsGatewayService/GetOperationReceipt",
    "/contracts.services.gateway.operations.OperationsGatewayService/GetOperationsSummary",
    "/contracts.services.gateway.operations.OperationsGatewayService/MakeFeeOperation",
    "/contracts.services.gateway.operations.OperationsGatewayService/MakeTopUpOperation",
    "/contracts.services.gateway.operations.OperationsGatewayService/MakeCashbackOperation",
    "/contracts.services.gateway.operations.OperationsGatewayService/MakeTransferOperation",
    "/contracts.services.gateway.operations.OperationsGatewayService/MakeBillPaymentOperation",
    "/contracts.services.gateway.operations.OperationsGatewayService/MakeCashWithdrawalOperation",
    "/contracts.services.gateway.operations.OperationsGatewayService/MakePurchaseOperation",
    "/contracts.services.gateway.documents.DocumentsGatewayService/GetTariffDocument",
    "/contracts.services.gateway.documents.DocumentsGatewayService/GetContractDocument",
]

ENUMS = {
    "contracts.services.accounts.AccountType": {
        "ACCOUNT_TYPE_UNSPECIFIED": 0,
        "ACCOUNT_TYPE_DEBIT_CARD": 1,
        "ACCOUNT_TYPE_CREDIT_CARD": 2,
        "ACCOUNT_TYPE_DEPOSIT": 3,
        "ACCOUNT_TYPE_SAVINGS": 4,
    },
    "contracts.services.accounts.AccountStatus": {
        "ACCOUNT_STATUS_UNSPECIFIED": 0,
        "ACCOUNT_STATUS_ACTIVE": 1,
        "ACCOUNT_STATUS_PENDING_CLOSURE": 2,
        "ACCOUNT_STATUS_CLOSED": 3,
    },
    "contracts.services.cards.CardType": {
        "CARD_TYPE_UNSPECIFIED": 0,
        "CARD_TYPE_VIRTUAL": 1,
        "CARD_TYPE_PHYSICAL": 2,
    },
    "contracts.services.cards.CardStatus": {
        "CARD_STATUS_UNSPECIFIED": 0,
        "CARD_STATUS_ACTIVE": 1,
        "CARD_STATUS_FROZEN": 2,
        "CARD_STATUS_CLOSED": 3,
        "CARD_STATUS_BLOCKED": 4,
    },
    "contracts.services.cards.CardPaymentSystem": {
        "CARD_PAYMENT_SYSTEM_UNSPECIFIED": 0,
        "CARD_PAYMENT_SYSTEM_MASTERCARD": 1,
        "CARD_PAYMENT_SYSTEM_VISA": 2,
    },
    "contracts.services.operations.OperationType": {  # there is no 2
        "OPERATION_TYPE_UNSPECIFIED": 0,
        "OPERATION_TYPE_FEE": 1,
        "OPERATION_TYPE_TOP_UP": 3,
        "OPERATION_TYPE_PURCHASE": 4,
        "OPERATION_TYPE_CASHBACK": 5,
        "OPERATION_TYPE_TRANSFER": 6,
        "OPERATION_TYPE_BILL_PAYMENT": 7,
        "OPERATION_TYPE_CASH_WITHDRAWAL": 8,
    },
    "contracts.services.operations.OperationStatus": {
        "OPERATION_STATUS_UNSPECIFIED": 0,
        "OPERATION_STATUS_IN_PROGRESS": 1,
        "OPERATION_STATUS_COMPLETED": 2,
        "OPERATION_STATUS_FAILED": 3,
    },
}

# Field types: scalar name, or the full name of the enum / message; "repeated X" for lists.
_ACC, _CARDS, _OPS, _DOCS = (
    "contracts.services.accounts",
    "contracts.services.cards",
    "contracts.services.operations",
    "contracts.services.documents",
)
_DOCUMENT = {"url": (1, "string"), "document": (2, "bytes")}
_OPERATION_REQUEST = {
    "status": (2, f"{_OPS}.OperationStatus"),
    "amount": (3, "float"),
    "card_id": (4, "string"),
    "account_id": (7, "string"),
}
_OPERATION_RESPONSE = {"operation": (1, f"{_OPS}.Operation")}

MESSAGES: dict[str, dict[str, tuple[int, str]]] = {
    "contracts.services.users.User": {
        "id": (1, "string"),
        "email": (2, "string"),
        "last_name": (3, "string"),
        "first_name": (4, "string"),
        "middle_name": (5, "string"),
        "phone_number": (6, "string"),
    },
    f"{_ACC}.Account": {
        "id": (1, "string"),
        "type": (2, f"{_ACC}.AccountType"),
        "status": (3, f"{_ACC}.AccountStatus"),
        "user_id": (4, "string"),
        "balance": (5, "double"),
    },
    f"{_CARDS}.Card": {
        "id": (1, "string"),
        "pin": (2, "string"),
        "cvv": (3, "string"),
        "type": (4, f"{_CARDS}.CardType"),
        "status": (5, f"{_CARDS}.CardStatus"),
        "account_id": (6, "string"),
        "card_number": (7, "string"),
        "card_holder": (8, "string"),
        "expiry_date": (9, "string"),
        "payment_system": (10, f"{_CARDS}.CardPaymentSystem"),
    },
    f"{_OPS}.Operation": {
        "id": (1, "string"),
        "type": (2, f"{_OPS}.OperationType"),
        "status": (3, f"{_OPS}.OperationStatus"),
        "amount": (4, "double"),
        "card_id": (5, "string"),
        "category": (6, "string"),
        "created_at": (7, "string"),
        "account_id": (8, "string"),
    },
    f"{_OPS}.OperationsSummary": {
        "spent_amount": (1, "float"),
        "received_amount": (2, "float"),
        "cashback_amount": (3, "float"),
    },
    f"{_DOCS}.receipts.Receipt": _DOCUMENT,
    f"{_DOCS}.tariffs.Tariff": _DOCUMENT,
    f"{_DOCS}.contracts.Contract": _DOCUMENT,
    # users
    "contracts.services.gateway.users.GetUserRequest": {"id": (1, "string")},
    "contracts.services.gateway.users.GetUserResponse": {"user": (1, "contracts.services.users.User")},
    "contracts.services.gateway.users.CreateUserRequest": {
        "email": (1, "string"),
        "last_name": (2, "string"),
        "first_name": (3, "string"),
        "middle_name": (4, "string"),
        "phone_number": (5, "string"),
    },
    "contracts.services.gateway.users.CreateUserResponse": {"user": (1, "contracts.services.users.User")},
    # accounts
    "contracts.services.gateway.accounts.AccountView": {
        "id": (1, "string"),
        "type": (2, f"{_ACC}.AccountType"),
        "cards": (3, f"repeated {_CARDS}.Card"),
        "status": (4, f"{_ACC}.AccountStatus"),
        "balance": (5, "double"),
    },
    "contracts.services.gateway.accounts.GetAccountsRequest": {"user_id": (1, "string")},
    "contracts.services.gateway.accounts.GetAccountsResponse": {
        "accounts": (1, "repeated contracts.services.gateway.accounts.AccountView")
    },
    **{
        f"contracts.services.gateway.accounts.Open{kind}Account{suffix}": fields
        for kind in ("Deposit", "Savings", "DebitCard", "CreditCard")
        for suffix, fields in (
            ("Request", {"user_id": (1, "string")}),
            ("Response", {"account": (1, "contracts.services.gateway.accounts.AccountView")}),
        )
    },
    # cards
    **{
        f"contracts.services.gateway.cards.Issue{kind}Card{suffix}": fields
        for kind in ("Virtual", "Physical")
        for suffix, fields in (
            ("Request", {"user_id": (1, "string"), "account_id": (2, "string")}),
            ("Response", {"card": (1, f"{_CARDS}.Card")}),
        )
    },
    # operations
    "contracts.services.gateway.operations.GetOperationRequest": {"id": (1, "string")},
    "contracts.services.gateway.operations.GetOperationResponse": _OPERATION_RESPONSE,
    "contracts.services.gateway.operations.GetOperationsRequest": {"account_id": (1, "string")},
    "contracts.services.gateway.operations.GetOperationsResponse": {"operations": (1, f"repeated {_OPS}.Operation")},
    "contracts.services.gateway.operations.GetOperationReceiptRequest": {"operation_id": (1, "string")},
    "contracts.services.gateway.operations.GetOperationReceiptResponse": {"receipt": (1, f"{_DOCS}.receipts.Receipt")},
    "contracts.services.gateway.operations.GetOperationsSummaryRequest": {"account_id": (1, "string")},
    "contracts.services.gateway.operations.GetOperationsSummaryResponse": {"summary": (1, f"{_OPS}.OperationsSummary")},
    **{
        f"contracts.services.gateway.operations.Make{kind}Operation{suffix}": fields
        for kind in ("Fee", "TopUp", "Cashback", "Transfer", "BillPayment", "CashWithdrawal")
        for suffix, fields in (("Request", _OPERATION_REQUEST), ("Response", _OPERATION_RESPONSE))
    },
    "contracts.services.gateway.operations.MakePurchaseOperationRequest": {
        **_OPERATION_REQUEST,
        "category": (5, "string"),
    },
    "contracts.services.gateway.operations.MakePurchaseOperationResponse": _OPERATION_RESPONSE,
    # documents
    "contracts.services.gateway.documents.GetTariffDocumentRequest": {"account_id": (1, "string")},
    "contracts.services.gateway.documents.GetTariffDocumentResponse": {"tariff": (1, f"{_DOCS}.tariffs.Tariff")},
    "contracts.services.gateway.documents.GetContractDocumentRequest": {"account_id": (1, "string")},
    "contracts.services.gateway.documents.GetContractDocumentResponse": {
        "contract": (1, f"{_DOCS}.contracts.Contract")
    },
}

# --- what the generated code says ---------------------------------------------------------------

_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_DOUBLE: "double",
    FieldDescriptor.TYPE_FLOAT: "float",
}


def _field_type(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        name = field.message_type.full_name
    elif field.enum_type is not None:
        name = field.enum_type.full_name
    else:
        name = _SCALARS.get(field.type, f"type#{field.type}")
    return f"repeated {name}" if field.is_repeated else name


def _all_files() -> list[Any]:
    """The files as the package reads them at run time (``seeding.contract``'s private pool)."""
    return [_pool().FindFileByName(str(p)) for p in proto_files()]


def _as_proto(file: Any) -> descriptor_pb2.FileDescriptorProto:
    """``file`` as a message, without ``json_name`` (the descriptor set has it, ``_pb2`` drops it)."""
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    for message in proto.message_type:
        for field in message.field:
            field.ClearField("json_name")
    return proto


def test_the_runtime_descriptors_are_the_generated_modules() -> None:
    """``gateway.binpb`` and the ``_pb2`` modules come from one protoc run: the same descriptors."""
    for proto in proto_files():
        assert _as_proto(_pool().FindFileByName(str(proto))) == _as_proto(_module(proto).DESCRIPTOR), proto


def _generated_messages() -> dict[str, Descriptor]:
    return {m.full_name: m for f in _all_files() for m in f.message_types_by_name.values()}


def _generated_enums() -> dict[str, EnumDescriptor]:
    return {e.full_name: e for f in _all_files() for e in f.enum_types_by_name.values()}


def _generated_services() -> list[Any]:
    return [s for f in _all_files() for s in f.services_by_name.values()]


def test_every_proto_file_has_its_package() -> None:
    for proto in proto_files():
        path = str(proto)
        if path.startswith("contracts/services/gateway/"):
            service = path.split("/")[3]
            expected = f"contracts.services.gateway.{service}"
        else:
            expected = PACKAGES[path]
        assert _pool().FindFileByName(path).package == expected, path
        assert 'syntax = "proto3";' in (PROJECT_ROOT / proto).read_text(), path


def test_full_method_names_are_the_contracts() -> None:
    generated = [f"/{s.full_name}/{m.name}" for s in _generated_services() for m in s.methods]
    assert sorted(generated) == sorted(FULL_METHOD_NAMES)
    # and our endpoint table dials the same names
    assert sorted(e.grpc_method for e in ENDPOINTS.values()) == sorted(FULL_METHOD_NAMES)


def test_each_rpc_takes_its_request_and_returns_its_response() -> None:
    for service in _generated_services():
        for method in service.methods:
            package = service.file.package
            assert method.input_type.full_name == f"{package}.{method.name}Request"
            assert method.output_type.full_name == f"{package}.{method.name}Response"
            assert not method.client_streaming and not method.server_streaming


class _RecordingChannel:
    """Stands in for a grpc.Channel to see which paths the generated stubs dial."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def unary_unary(self, path: str, **kwargs: Any) -> None:
        self.paths.append(path)


def test_generated_stubs_dial_the_full_method_names() -> None:
    channel = _RecordingChannel()
    for service in _generated_services():
        module = importlib.import_module(service.file.name.removesuffix(".proto").replace("/", ".") + "_pb2_grpc")
        getattr(module, f"{service.name}Stub")(channel)
    assert sorted(channel.paths) == sorted(FULL_METHOD_NAMES)


def test_messages_have_the_contracts_fields() -> None:
    generated = _generated_messages()
    assert sorted(generated) == sorted(MESSAGES)
    for name, expected in MESSAGES.items():
        actual = {f.name: (f.number, _field_type(f)) for f in generated[name].fields}
        assert actual == expected, name


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_enums_have_the_contracts_numbers(name: str) -> None:
    enums = _generated_enums()
    assert sorted(enums) == sorted(ENUMS)
    assert {v.name: v.number for v in enums[name].values} == ENUMS[name]


def test_operation_request_keeps_the_gaps() -> None:
    """Field numbers 1 and 6 are unused in every Make*OperationRequest; 5 only in purchase."""
    for name, descriptor in _generated_messages().items():
        if name.rsplit(".", 1)[1].startswith("Make") and name.endswith("Request"):
            numbers = sorted(f.number for f in descriptor.fields)
            assert numbers == ([2, 3, 4, 5, 7] if "Purchase" in name else [2, 3, 4, 7]), name
