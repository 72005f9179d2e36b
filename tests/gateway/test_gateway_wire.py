"""Our clients' bytes on the wire, checked against the contract text rather than against the stand.

The stand and the clients share the endpoint table, the enum mapping and the models, so a mistake
in those would pass the contract suite on both sides. Here each client talks to a recording peer
whose expectations are written by hand from GATEWAY-CONTRACT.md: JSON keys and routes for HTTP,
protobuf bytes encoded by hand (field numbers, wire types) for gRPC.
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Any

import grpc
import pytest
from aiohttp import web

from seeding._exceptions import InvalidRequestError, TransientGatewayError
from seeding.gateway import (
    AccountType,
    CardPaymentSystem,
    CardType,
    GatewayClient,
    OperationStatus,
    OperationType,
    connect,
)

USER = "11111111-1111-1111-1111-111111111111"
ACCOUNT = "22222222-2222-2222-2222-222222222222"
CARD = "33333333-3333-3333-3333-333333333333"
OPERATION = "44444444-4444-4444-4444-444444444444"

# --- HTTP -----------------------------------------------------------------------------------------

USER_JSON = {
    "id": USER,
    "email": "a@example.com",
    "lastName": "Petrov",
    "firstName": "Petr",
    "middleName": "P",
    "phoneNumber": "+7",
}
CARD_JSON = {
    "id": CARD,
    "pin": "1234",
    "cvv": "567",
    "type": "PHYSICAL",
    "status": "ACTIVE",
    "accountId": ACCOUNT,
    "cardNumber": "5100000000000008",
    "cardHolder": "Petr Petrov",
    "expiryDate": "2032-11-21",
    "paymentSystem": "VISA",
}
OPERATION_JSON = {
    "id": OPERATION,
    "type": "PURCHASE",
    "status": "COMPLETED",
    "amount": -12.5,
    "cardId": CARD,
    "category": "books",
    "createdAt": "2025-11-21T08:30:05.123456",
    "accountId": ACCOUNT,
}
HTTP_ANSWERS: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/users"): {"user": USER_JSON},
    ("GET", f"/api/v1/users/{USER}"): {"user": USER_JSON},
    ("GET", "/api/v1/accounts"): {
        "accounts": [
            {"id": ACCOUNT, "type": "CREDIT_CARD", "cards": [CARD_JSON], "status": "ACTIVE", "balance": 25000.0}
        ]
    },
    ("POST", "/api/v1/accounts/open-savings-account"): {
        "account": {"id": ACCOUNT, "type": "SAVINGS", "cards": [], "status": "ACTIVE", "balance": 0.0}
    },
    ("POST", "/api/v1/cards/issue-physical-card"): {"card": CARD_JSON},
    ("POST", "/api/v1/operations/make-purchase-operation"): {"operation": OPERATION_JSON},
    ("POST", "/api/v1/operations/make-cash-withdrawal-operation"): {"operation": OPERATION_JSON},
    ("GET", f"/api/v1/operations/{OPERATION}"): {"operation": OPERATION_JSON},
    ("GET", "/api/v1/operations"): {"operations": [OPERATION_JSON]},
    ("GET", "/api/v1/operations/operations-summary"): {
        "summary": {"spentAmount": -12.5, "receivedAmount": 100.0, "cashbackAmount": 1.5}
    },
    ("GET", f"/api/v1/operations/operation-receipt/{OPERATION}"): {
        "receipt": {"url": f"http://s3/documents/receipt_{OPERATION}.pdf", "document": "receipt text"}
    },
    ("GET", f"/api/v1/documents/tariff-document/{ACCOUNT}"): {"tariff": {"url": "u", "document": "t"}},
    ("GET", f"/api/v1/documents/contract-document/{ACCOUNT}"): {"contract": {"url": "u", "document": "c"}},
}


class RecordingHttpPeer:
    """Answers the canned bodies above and records (method, path, query, JSON body) of each request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.requests.append((request.method, request.path, dict(request.query), json.loads(raw) if raw else None))
        if request.path == "/api/v1/users/bad":
            detail = [{"type": "uuid_parsing", "loc": ["path", "user_id"], "msg": "Input should be a valid UUID"}]
            return web.json_response({"detail": detail}, status=422)
        if request.path == f"/api/v1/users/{ACCOUNT}":
            return web.Response(status=500, text="Internal Server Error")
        return web.json_response(HTTP_ANSWERS[(request.method, request.path)])


@pytest.fixture
async def http_peer() -> AsyncIterator[tuple[RecordingHttpPeer, str]]:
    peer = RecordingHttpPeer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", peer.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield peer, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_http_requests_are_the_contracts(http_peer: tuple[RecordingHttpPeer, str]) -> None:
    peer, url = http_peer
    async with connect("http", url) as gateway:
        user = await gateway.create_user(
            email="a@example.com", last_name="Petrov", first_name="Petr", middle_name="P", phone_number="+7"
        )
        await gateway.get_user(USER)
        await gateway.get_accounts(USER)
        await gateway.open_account(USER, AccountType.SAVINGS)
        await gateway.issue_card(USER, ACCOUNT, CardType.PHYSICAL)
        await gateway.make_purchase_operation(
            account_id=ACCOUNT, card_id=CARD, amount=12.5, status=OperationStatus.IN_PROGRESS, category="books"
        )
        await gateway.make_operation(
            OperationType.CASH_WITHDRAWAL, account_id=ACCOUNT, card_id=CARD, amount=3.0, category="ignored"
        )
        await gateway.get_operation(OPERATION)
        await gateway.get_operations(ACCOUNT)
        await gateway.get_operations_summary(ACCOUNT)
        await gateway.get_operation_receipt(OPERATION)
        await gateway.get_tariff_document(ACCOUNT)
        await gateway.get_contract_document(ACCOUNT)
    assert user.last_name == "Petrov" and user.phone_number == "+7"
    assert peer.requests == [
        (
            "POST",
            "/api/v1/users",
            {},
            {
                "email": "a@example.com",
                "lastName": "Petrov",
                "firstName": "Petr",
                "middleName": "P",
                "phoneNumber": "+7",
            },
        ),
        ("GET", f"/api/v1/users/{USER}", {}, None),
        ("GET", "/api/v1/accounts", {"userId": USER}, None),
        ("POST", "/api/v1/accounts/open-savings-account", {}, {"userId": USER}),
        ("POST", "/api/v1/cards/issue-physical-card", {}, {"userId": USER, "accountId": ACCOUNT}),
        (
            "POST",
            "/api/v1/operations/make-purchase-operation",
            {},
            {"status": "IN_PROGRESS", "amount": 12.5, "cardId": CARD, "accountId": ACCOUNT, "category": "books"},
        ),
        (  # no category: only the purchase request has one
            "POST",
            "/api/v1/operations/make-cash-withdrawal-operation",
            {},
            {"status": "COMPLETED", "amount": 3.0, "cardId": CARD, "accountId": ACCOUNT},
        ),
        ("GET", f"/api/v1/operations/{OPERATION}", {}, None),
        ("GET", "/api/v1/operations", {"accountId": ACCOUNT}, None),
        ("GET", "/api/v1/operations/operations-summary", {"accountId": ACCOUNT}, None),
        ("GET", f"/api/v1/operations/operation-receipt/{OPERATION}", {}, None),
        ("GET", f"/api/v1/documents/tariff-document/{ACCOUNT}", {}, None),
        ("GET", f"/api/v1/documents/contract-document/{ACCOUNT}", {}, None),
    ]


async def test_http_responses_become_our_models(http_peer: tuple[RecordingHttpPeer, str]) -> None:
    _, url = http_peer
    async with connect("http", url) as gateway:
        (account,) = await gateway.get_accounts(USER)
        operation = await gateway.get_operation(OPERATION)
        summary = await gateway.get_operations_summary(ACCOUNT)
        receipt = await gateway.get_operation_receipt(OPERATION)
    assert account.type is AccountType.CREDIT_CARD and account.balance == 25000.0
    (card,) = account.cards
    assert card.expiry_date == date(2032, 11, 21)
    assert card.payment_system is CardPaymentSystem.VISA and card.card_number == "5100000000000008"
    assert operation.created_at == datetime(2025, 11, 21, 8, 30, 5, 123456)
    assert operation.type is OperationType.PURCHASE and operation.amount == -12.5
    assert (summary.spent_amount, summary.received_amount, summary.cashback_amount) == (-12.5, 100.0, 1.5)
    assert receipt.document == b"receipt text"


async def test_http_error_bodies_become_the_detail(http_peer: tuple[RecordingHttpPeer, str]) -> None:
    _, url = http_peer
    async with connect("http", url) as gateway:
        with pytest.raises(InvalidRequestError) as invalid:
            await gateway.get_user("bad")
        with pytest.raises(TransientGatewayError) as server_error:
            await gateway.get_user(ACCOUNT)
    assert json.loads(invalid.value.detail)[0]["loc"] == ["path", "user_id"]
    assert server_error.value.detail == "Internal Server Error"
    assert server_error.value.method == "GET /api/v1/users/{user_id}"


# --- gRPC: protobuf encoded by hand ----------------------------------------------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def text(field: int, value: str | bytes) -> bytes:  # wire type 2: length-delimited
    data = value.encode() if isinstance(value, str) else value
    return varint(field << 3 | 2) + varint(len(data)) + data


def number(field: int, value: int) -> bytes:  # wire type 0: varint (enums)
    return varint(field << 3) + varint(value)


def f32(field: int, value: float) -> bytes:  # wire type 5
    return varint(field << 3 | 5) + struct.pack("<f", value)


def f64(field: int, value: float) -> bytes:  # wire type 1
    return varint(field << 3 | 1) + struct.pack("<d", value)


CARD_PB = b"".join(  # Card, field by field from the contract; VIRTUAL=1 ACTIVE=1 MASTERCARD=1
    [
        text(1, CARD),
        text(2, "1234"),
        text(3, "567"),
        number(4, 1),
        number(5, 1),
        text(6, ACCOUNT),
        text(7, "5100000000000008"),
        text(8, "Petr Petrov"),
        text(9, "21-11-2032"),  # DD-MM-YYYY over gRPC
        number(10, 1),
    ]
)
OPERATION_PB = b"".join(  # Operation: TOP_UP=3, IN_PROGRESS=1
    [
        text(1, OPERATION),
        number(2, 3),
        number(3, 1),
        f64(4, 99.75),
        text(5, CARD),
        text(6, "money_in"),
        text(7, "21-11-2025 08:30:05"),  # DD-MM-YYYY HH:MM:SS over gRPC
        text(8, ACCOUNT),
    ]
)
USER_PB = b"".join([text(1, USER), text(2, "a@example.com"), text(3, "Petrov"), text(4, "Petr")])
ACCOUNT_VIEW_PB = text(1, ACCOUNT) + number(2, 1) + text(3, CARD_PB) + number(4, 1) + f64(5, 10.5)

GW = "/contracts.services.gateway"
GRPC_ANSWERS: dict[str, bytes] = {
    f"{GW}.users.UsersGatewayService/CreateUser": text(1, USER_PB),
    f"{GW}.users.UsersGatewayService/GetUser": text(1, USER_PB),
    f"{GW}.accounts.AccountsGatewayService/OpenDebitCardAccount": text(1, ACCOUNT_VIEW_PB),
    f"{GW}.accounts.AccountsGatewayService/GetAccounts": text(1, ACCOUNT_VIEW_PB) + text(1, ACCOUNT_VIEW_PB),
    f"{GW}.cards.CardsGatewayService/IssueVirtualCard": text(1, CARD_PB),
    f"{GW}.operations.OperationsGatewayService/MakePurchaseOperation": text(1, OPERATION_PB),
    f"{GW}.operations.OperationsGatewayService/MakeTopUpOperation": text(1, OPERATION_PB),
    f"{GW}.operations.OperationsGatewayService/GetOperations": text(1, OPERATION_PB),
    f"{GW}.operations.OperationsGatewayService/GetOperationsSummary": text(
        1, f32(1, -12.5) + f32(2, 100.0) + f32(3, 1.5)
    ),
    f"{GW}.operations.OperationsGatewayService/GetOperationReceipt": text(1, text(1, "u") + text(2, b"\x00pdf")),
    f"{GW}.documents.DocumentsGatewayService/GetTariffDocument": text(1, text(1, "t") + text(2, b"tariff")),
    f"{GW}.documents.DocumentsGatewayService/GetContractDocument": text(1, text(1, "c") + text(2, b"contract")),
}


class _RawHandler(grpc.GenericRpcHandler):
    """Serves every method as raw bytes in and out: no generated code on the peer's side."""

    def __init__(self, record: Callable[[str, bytes], bytes]) -> None:
        self._record = record

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = details.method

        async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            return self._record(method, request)

        return grpc.unary_unary_rpc_method_handler(unary)


@pytest.fixture
async def grpc_peer() -> AsyncIterator[tuple[list[tuple[str, bytes]], str]]:
    requests: list[tuple[str, bytes]] = []

    def record(method: str, request: bytes) -> bytes:
        requests.append((method, request))
        return GRPC_ANSWERS[method]

    server = grpc.aio.server()
    server.add_generic_rpc_handlers([_RawHandler(record)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield requests, f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


async def test_grpc_requests_are_the_contracts(grpc_peer: tuple[list[tuple[str, bytes]], str]) -> None:
    requests, target = grpc_peer
    gateway: GatewayClient
    async with connect("grpc", target) as gateway:
        await gateway.create_user(email="a@example.com", last_name="Petrov", first_name="Petr")
        await gateway.get_user(USER)
        await gateway.open_debit_card_account(USER)
        await gateway.issue_virtual_card(USER, ACCOUNT)
        await gateway.make_purchase_operation(account_id=ACCOUNT, card_id=CARD, amount=12.5, category="books")
        await gateway.make_top_up_operation(
            account_id=ACCOUNT, card_id=CARD, amount=99.75, status=OperationStatus.FAILED
        )
        await gateway.get_operations_summary(ACCOUNT)
    assert requests == [
        (f"{GW}.users.UsersGatewayService/CreateUser", text(1, "a@example.com") + text(2, "Petrov") + text(3, "Petr")),
        (f"{GW}.users.UsersGatewayService/GetUser", text(1, USER)),
        (f"{GW}.accounts.AccountsGatewayService/OpenDebitCardAccount", text(1, USER)),
        (f"{GW}.cards.CardsGatewayService/IssueVirtualCard", text(1, USER) + text(2, ACCOUNT)),
        (  # status=2 (COMPLETED), amount=3 float, card_id=4, category=5, account_id=7
            f"{GW}.operations.OperationsGatewayService/MakePurchaseOperation",
            number(2, 2) + f32(3, 12.5) + text(4, CARD) + text(5, "books") + text(7, ACCOUNT),
        ),
        (  # FAILED=3
            f"{GW}.operations.OperationsGatewayService/MakeTopUpOperation",
            number(2, 3) + f32(3, 99.75) + text(4, CARD) + text(7, ACCOUNT),
        ),
        (f"{GW}.operations.OperationsGatewayService/GetOperationsSummary", text(1, ACCOUNT)),
    ]


async def test_grpc_responses_become_our_models(grpc_peer: tuple[list[tuple[str, bytes]], str]) -> None:
    _, target = grpc_peer
    async with connect("grpc", target) as gateway:
        user = await gateway.get_user(USER)
        accounts = await gateway.get_accounts(USER)
        (operation,) = await gateway.get_operations(ACCOUNT)
        summary = await gateway.get_operations_summary(ACCOUNT)
        receipt = await gateway.get_operation_receipt(OPERATION)
        tariff = await gateway.get_tariff_document(ACCOUNT)
        contract = await gateway.get_contract_document(ACCOUNT)
    assert (user.id, user.email, user.middle_name, user.phone_number) == (USER, "a@example.com", "", "")
    assert len(accounts) == 2
    account = accounts[0]
    assert (account.id, account.type, account.balance) == (ACCOUNT, AccountType.DEBIT_CARD, 10.5)
    (card,) = account.cards
    assert (card.type, card.payment_system, card.pin, card.cvv) == (
        CardType.VIRTUAL,
        CardPaymentSystem.MASTERCARD,
        "1234",
        "567",
    )
    assert card.expiry_date == date(2032, 11, 21)
    assert (operation.type, operation.status, operation.amount) == (
        OperationType.TOP_UP,
        OperationStatus.IN_PROGRESS,
        99.75,
    )
    assert operation.created_at == datetime(2025, 11, 21, 8, 30, 5)
    assert (summary.spent_amount, summary.received_amount, summary.cashback_amount) == (-12.5, 100.0, 1.5)
    assert (receipt.url, receipt.document) == ("u", b"\x00pdf")
    assert (tariff.document, contract.document) == (b"tariff", b"contract")
