"""The stand's gRPC side on the wire, without our client: calls by full method name and through the
generated stubs; status codes, date formats, signs, categories and balances, cross-transport state."""

from __future__ import annotations

import re
import struct
import sys
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
import grpc
import pytest
from google.protobuf.message import Message

from contracts.services.accounts import account_pb2
from contracts.services.cards import card_pb2
from contracts.services.gateway.accounts import (
    accounts_gateway_service_pb2_grpc,
    rpc_get_accounts_pb2,
    rpc_open_debit_card_account_pb2,
    rpc_open_deposit_account_pb2,
)
from contracts.services.gateway.cards import rpc_issue_physical_card_pb2
from contracts.services.gateway.documents import rpc_get_contract_document_pb2, rpc_get_tariff_document_pb2
from contracts.services.gateway.operations import (
    rpc_get_operation_pb2,
    rpc_get_operation_receipt_pb2,
    rpc_get_operations_pb2,
    rpc_get_operations_summary_pb2,
    rpc_make_cashback_operation_pb2,
    rpc_make_fee_operation_pb2,
    rpc_make_purchase_operation_pb2,
    rpc_make_top_up_operation_pb2,
    rpc_make_transfer_operation_pb2,
)
from contracts.services.gateway.users import rpc_create_user_pb2, rpc_get_user_pb2, users_gateway_service_pb2_grpc
from contracts.services.operations import operation_pb2

PKG = "contracts.services.gateway"
USERS = f"/{PKG}.users.UsersGatewayService"
ACCOUNTS = f"/{PKG}.accounts.AccountsGatewayService"
CARDS = f"/{PKG}.cards.CardsGatewayService"
OPERATIONS = f"/{PKG}.operations.OperationsGatewayService"
DOCUMENTS = f"/{PKG}.documents.DocumentsGatewayService"

COMPLETED = operation_pb2.OPERATION_STATUS_COMPLETED
FAILED = operation_pb2.OPERATION_STATUS_FAILED


async def rpc(channel: grpc.aio.Channel, method: str, request: Message) -> Any:
    """Call ``method`` (``/package.Service/Rpc``) by name; the response class sits next to the request's."""
    name = type(request).__name__.removesuffix("Request")
    response_class = getattr(sys.modules[type(request).__module__], f"{name}Response")
    call = channel.unary_unary(
        method, request_serializer=type(request).SerializeToString, response_deserializer=response_class.FromString
    )
    return await call(request, timeout=5)


async def code_of(channel: grpc.aio.Channel, method: str, request: Message) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await rpc(channel, method, request)
    return info.value.code(), info.value.details() or ""


def float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


async def make_user(channel: grpc.aio.Channel, email: str, **names: str) -> Any:
    request = rpc_create_user_pb2.CreateUserRequest(email=email, **names)
    return (await rpc(channel, f"{USERS}/CreateUser", request)).user


async def open_debit(channel: grpc.aio.Channel, user_id: str) -> Any:
    request = rpc_open_debit_card_account_pb2.OpenDebitCardAccountRequest(user_id=user_id)
    return (await rpc(channel, f"{ACCOUNTS}/OpenDebitCardAccount", request)).account


async def test_user_with_only_an_email(channel: grpc.aio.Channel, new_email: Callable[[], str]) -> None:
    email = new_email()
    user = await make_user(channel, email)
    assert user.email == email and user.first_name == "" and uuid.UUID(user.id)
    stub = users_gateway_service_pb2_grpc.UsersGatewayServiceStub(channel)
    got = await stub.GetUser(rpc_get_user_pb2.GetUserRequest(id=user.id))
    assert got.user == user


async def test_debit_card_account_and_card_formats(channel: grpc.aio.Channel, new_email: Callable[[], str]) -> None:
    user = await make_user(channel, new_email(), first_name="Anna", last_name="Petrova")
    account = await open_debit(channel, user.id)
    assert account.type == account_pb2.ACCOUNT_TYPE_DEBIT_CARD
    assert account.status == account_pb2.ACCOUNT_STATUS_ACTIVE
    assert account.balance == 0.0
    assert [c.type for c in account.cards] == [card_pb2.CARD_TYPE_VIRTUAL, card_pb2.CARD_TYPE_PHYSICAL]
    for card in account.cards:
        assert card.status == card_pb2.CARD_STATUS_ACTIVE
        assert card.payment_system == card_pb2.CARD_PAYMENT_SYSTEM_MASTERCARD
        assert card.card_holder == "Anna Petrova" and card.account_id == account.id
        assert re.fullmatch(r"\d{2}-\d{2}-\d{4}", card.expiry_date)
        expiry = datetime.strptime(card.expiry_date, "%d-%m-%Y").date()
        assert timedelta(days=6 * 365) < expiry - date.today() < timedelta(days=8 * 365)

    stub = accounts_gateway_service_pb2_grpc.AccountsGatewayServiceStub(channel)
    listed = await stub.GetAccounts(rpc_get_accounts_pb2.GetAccountsRequest(user_id=user.id))
    assert list(listed.accounts) == [account]
    empty = await stub.GetAccounts(rpc_get_accounts_pb2.GetAccountsRequest(user_id=str(uuid.uuid4())))
    assert list(empty.accounts) == []


async def test_operations_amounts_categories_summary(channel: grpc.aio.Channel, new_email: Callable[[], str]) -> None:
    user = await make_user(channel, new_email())
    account = await open_debit(channel, user.id)
    card_id = account.cards[0].id
    common = {"status": COMPLETED, "card_id": card_id, "account_id": account.id}
    top_up = await rpc(
        channel,
        f"{OPERATIONS}/MakeTopUpOperation",
        rpc_make_top_up_operation_pb2.MakeTopUpOperationRequest(amount=-0.1, **common),
    )
    purchase = await rpc(
        channel,
        f"{OPERATIONS}/MakePurchaseOperation",
        rpc_make_purchase_operation_pb2.MakePurchaseOperationRequest(amount=30.5, category="taxi", **common),
    )
    fee = await rpc(
        channel,
        f"{OPERATIONS}/MakeFeeOperation",
        rpc_make_fee_operation_pb2.MakeFeeOperationRequest(amount=2, **common),
    )
    cashback = await rpc(
        channel,
        f"{OPERATIONS}/MakeCashbackOperation",
        rpc_make_cashback_operation_pb2.MakeCashbackOperationRequest(amount=1.25, **common),
    )
    ops = [top_up.operation, purchase.operation, fee.operation, cashback.operation]
    # float32 on the way in, stored as received, signed by type
    assert [o.amount for o in ops] == [float32(0.1), -30.5, -2.0, 1.25]
    assert [o.category for o in ops] == ["money_in", "taxi", "fee", "cashback_rewards"]
    assert [o.type for o in ops] == [
        operation_pb2.OPERATION_TYPE_TOP_UP,
        operation_pb2.OPERATION_TYPE_PURCHASE,
        operation_pb2.OPERATION_TYPE_FEE,
        operation_pb2.OPERATION_TYPE_CASHBACK,
    ]
    for op in ops:
        assert re.fullmatch(r"\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2}", op.created_at)
        assert op.status == COMPLETED and op.card_id == card_id and op.account_id == account.id

    got = await rpc(
        channel, f"{OPERATIONS}/GetOperation", rpc_get_operation_pb2.GetOperationRequest(id=fee.operation.id)
    )
    assert got.operation == fee.operation
    listed = await rpc(
        channel, f"{OPERATIONS}/GetOperations", rpc_get_operations_pb2.GetOperationsRequest(account_id=account.id)
    )
    assert list(listed.operations) == ops
    summary = (
        await rpc(
            channel,
            f"{OPERATIONS}/GetOperationsSummary",
            rpc_get_operations_summary_pb2.GetOperationsSummaryRequest(account_id=account.id),
        )
    ).summary
    assert (summary.spent_amount, summary.received_amount, summary.cashback_amount) == (
        -32.5,
        float32(0.1),
        1.25,
    )
    accounts = await rpc(channel, f"{ACCOUNTS}/GetAccounts", rpc_get_accounts_pb2.GetAccountsRequest(user_id=user.id))
    assert accounts.accounts[0].balance == pytest.approx(float32(0.1) - 30.5 - 2.0 + 1.25, abs=1e-12)

    receipt = (
        await rpc(
            channel,
            f"{OPERATIONS}/GetOperationReceipt",
            rpc_get_operation_receipt_pb2.GetOperationReceiptRequest(operation_id=fee.operation.id),
        )
    ).receipt
    assert receipt.url == f"http://localhost:9000/documents/receipt_{fee.operation.id}.pdf"
    assert receipt.document


async def test_failed_and_unspecified_operations(channel: grpc.aio.Channel, new_email: Callable[[], str]) -> None:
    user = await make_user(channel, new_email())
    account = await open_debit(channel, user.id)
    for status in (FAILED, operation_pb2.OPERATION_STATUS_UNSPECIFIED):
        request = rpc_make_transfer_operation_pb2.MakeTransferOperationRequest(
            status=status, amount=50, card_id=account.cards[1].id, account_id=account.id
        )
        operation = (await rpc(channel, f"{OPERATIONS}/MakeTransferOperation", request)).operation
        assert (operation.status, operation.amount, operation.category) == (status, -50.0, "transfer")
        receipt_request = rpc_get_operation_receipt_pb2.GetOperationReceiptRequest(operation_id=operation.id)
        code, _ = await code_of(channel, f"{OPERATIONS}/GetOperationReceipt", receipt_request)
        assert code == grpc.StatusCode.INTERNAL
    accounts = await rpc(channel, f"{ACCOUNTS}/GetAccounts", rpc_get_accounts_pb2.GetAccountsRequest(user_id=user.id))
    assert accounts.accounts[0].balance == 0.0


async def test_error_codes(channel: grpc.aio.Channel, new_email: Callable[[], str]) -> None:
    email = new_email()
    user = await make_user(channel, email)
    deposit = (
        await rpc(
            channel,
            f"{ACCOUNTS}/OpenDepositAccount",
            rpc_open_deposit_account_pb2.OpenDepositAccountRequest(user_id=user.id),
        )
    ).account
    assert list(deposit.cards) == [] and deposit.type == account_pb2.ACCOUNT_TYPE_DEPOSIT
    missing = str(uuid.uuid4())
    Code = grpc.StatusCode
    cases: list[tuple[str, Message, grpc.StatusCode]] = [
        (f"{USERS}/GetUser", rpc_get_user_pb2.GetUserRequest(id=missing), Code.NOT_FOUND),
        (f"{USERS}/GetUser", rpc_get_user_pb2.GetUserRequest(id="not-a-uuid"), Code.UNKNOWN),
        (f"{USERS}/CreateUser", rpc_create_user_pb2.CreateUserRequest(email="nope"), Code.INVALID_ARGUMENT),
        (f"{USERS}/CreateUser", rpc_create_user_pb2.CreateUserRequest(email=email), Code.INVALID_ARGUMENT),
        (
            f"{ACCOUNTS}/OpenDebitCardAccount",
            rpc_open_debit_card_account_pb2.OpenDebitCardAccountRequest(user_id=missing),
            Code.NOT_FOUND,
        ),
        (
            f"{CARDS}/IssuePhysicalCard",
            rpc_issue_physical_card_pb2.IssuePhysicalCardRequest(user_id=user.id, account_id=deposit.id),
            Code.FAILED_PRECONDITION,
        ),
        (
            f"{CARDS}/IssuePhysicalCard",
            rpc_issue_physical_card_pb2.IssuePhysicalCardRequest(user_id=user.id, account_id=missing),
            Code.NOT_FOUND,
        ),
        (f"{OPERATIONS}/GetOperation", rpc_get_operation_pb2.GetOperationRequest(id=missing), Code.NOT_FOUND),
        (
            f"{OPERATIONS}/MakeFeeOperation",
            rpc_make_fee_operation_pb2.MakeFeeOperationRequest(
                status=COMPLETED, amount=1, card_id=missing, account_id=deposit.id
            ),
            Code.NOT_FOUND,
        ),
        (
            f"{OPERATIONS}/MakeFeeOperation",
            rpc_make_fee_operation_pb2.MakeFeeOperationRequest(
                status=COMPLETED, amount=1, card_id="x", account_id=deposit.id
            ),
            Code.UNKNOWN,
        ),
        (
            f"{DOCUMENTS}/GetTariffDocument",
            rpc_get_tariff_document_pb2.GetTariffDocumentRequest(account_id=missing),
            Code.NOT_FOUND,
        ),
        (
            f"{DOCUMENTS}/GetContractDocument",
            rpc_get_contract_document_pb2.GetContractDocumentRequest(account_id=missing),
            Code.NOT_FOUND,
        ),
    ]
    for method, request, expected in cases:
        code, details = await code_of(channel, method, request)
        assert code == expected, (method, request, details)
    _, details = await code_of(channel, f"{USERS}/CreateUser", rpc_create_user_pb2.CreateUserRequest(email=email))
    assert details == f"User with email {email} already exists"


async def test_documents(channel: grpc.aio.Channel, new_email: Callable[[], str]) -> None:
    user = await make_user(channel, new_email())
    account = await open_debit(channel, user.id)
    tariff = (
        await rpc(
            channel,
            f"{DOCUMENTS}/GetTariffDocument",
            rpc_get_tariff_document_pb2.GetTariffDocumentRequest(account_id=account.id),
        )
    ).tariff
    contract = (
        await rpc(
            channel,
            f"{DOCUMENTS}/GetContractDocument",
            rpc_get_contract_document_pb2.GetContractDocumentRequest(account_id=account.id),
        )
    ).contract
    assert tariff.url == f"http://localhost:9000/documents/tariff_{account.id}.pdf"
    assert contract.url == f"http://localhost:9000/documents/contract_{account.id}.pdf"
    assert tariff.document and contract.document


async def test_one_state_for_both_transports(
    channel: grpc.aio.Channel, http: aiohttp.ClientSession, new_email: Callable[[], str]
) -> None:
    # created over HTTP, read over gRPC
    body = {"email": new_email(), "lastName": "L", "firstName": "F", "middleName": "M", "phoneNumber": "1"}
    async with http.post("/api/v1/users", json=body) as response:
        http_user = (await response.json())["user"]
    got = await rpc(channel, f"{USERS}/GetUser", rpc_get_user_pb2.GetUserRequest(id=http_user["id"]))
    assert (got.user.email, got.user.last_name, got.user.phone_number) == (body["email"], "L", "1")

    # created over gRPC, read over HTTP, operated on over both
    grpc_user = await make_user(channel, new_email(), first_name="G")
    account = await open_debit(channel, grpc_user.id)
    async with http.get(f"/api/v1/users/{grpc_user.id}") as response:
        assert (await response.json())["user"]["firstName"] == "G"
    op_body = {"status": "COMPLETED", "amount": 7.0, "cardId": account.cards[0].id, "accountId": account.id}
    async with http.post("/api/v1/operations/make-top-up-operation", json=op_body) as response:
        operation_id = (await response.json())["operation"]["id"]
    got_op = await rpc(
        channel, f"{OPERATIONS}/GetOperation", rpc_get_operation_pb2.GetOperationRequest(id=operation_id)
    )
    assert got_op.operation.amount == 7.0
    async with http.get("/api/v1/accounts", params={"userId": grpc_user.id}) as response:
        assert (await response.json())["accounts"][0]["balance"] == 7.0
