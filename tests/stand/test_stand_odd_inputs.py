"""Odd input, both transports, over real sockets: what the contract's "Odd inputs" paragraph measured.

HTTP refuses non-finite amounts and overflowing balances with the gateway's plain-text 500 and
stores nothing; gRPC stores them as sent, and our own clients read them back without crashing.
Large bodies are 413 / 422, never a 500 or a traceback; gRPC details never echo a long input.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import grpc
import orjson
import pytest

from contracts.services.gateway.operations import (
    operations_gateway_service_pb2_grpc,
    rpc_make_purchase_operation_pb2,
    rpc_make_top_up_operation_pb2,
)
from contracts.services.gateway.users import rpc_create_user_pb2, rpc_get_user_pb2, users_gateway_service_pb2_grpc
from contracts.services.operations import operation_pb2
from seeding import GatewayError, TransientGatewayError
from seeding.gateway import OperationType, connect
from seeding.stand import Stand

API = "/api/v1"
MIB = 1 << 20
COMPLETED = operation_pb2.OPERATION_STATUS_COMPLETED


@pytest.fixture(autouse=True)
def no_traceback(caplog: pytest.LogCaptureFixture) -> Any:
    """Whatever the input, the stand logs no error and no traceback (aiohttp's own loggers included)."""
    caplog.set_level(logging.WARNING)
    yield
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]


@pytest.fixture
async def users_stub(channel: grpc.aio.Channel) -> users_gateway_service_pb2_grpc.UsersGatewayServiceStub:
    return users_gateway_service_pb2_grpc.UsersGatewayServiceStub(channel)


@pytest.fixture
async def operations_stub(
    channel: grpc.aio.Channel,
) -> operations_gateway_service_pb2_grpc.OperationsGatewayServiceStub:
    return operations_gateway_service_pb2_grpc.OperationsGatewayServiceStub(channel)


@pytest.fixture
async def account(stand: Stand, new_email: Callable[[], str]) -> AsyncIterator[dict[str, str]]:
    """A fresh debit-card account (made through our own client): its id, a card id, the user id."""
    async with connect("http", stand.http_url, timeout=5.0) as client:
        user = await client.create_user(
            email=new_email(), last_name="L", first_name="F", middle_name="M", phone_number="+1"
        )
        opened = await client.open_debit_card_account(user.id)
    yield {"account_id": opened.id, "card_id": opened.cards[0].id, "user_id": user.id}


async def post(http: aiohttp.ClientSession, path: str, body: bytes | str, **headers: str) -> tuple[int, str, str]:
    """Status, content type and text of a POST with a raw JSON body."""
    async with http.post(API + path, data=body, headers={"Content-Type": "application/json", **headers}) as response:
        return response.status, response.content_type, await response.text()


def operation_body(account: dict[str, str], amount: str, *, category: str | None = None) -> str:
    """A JSON body with ``amount`` written verbatim (a JSON string, a bare token, a number)."""
    extra = f', "category": "{category}"' if category else ""
    return (
        f'{{"status": "COMPLETED", "amount": {amount}, "cardId": "{account["card_id"]}", '
        f'"accountId": "{account["account_id"]}"{extra}}}'
    )


# --------------------------------------------------------------------------- HTTP: amounts

NON_FINITE_HTTP_AMOUNTS = [
    '"nan"',
    '"NaN"',
    '"inf"',
    '"-inf"',
    '"+inf"',
    '"Infinity"',
    '"-Infinity"',
    '"1e999"',
    '"-1e999"',
    '" nan "',
    # bare tokens and out-of-range numbers: not JSON to orjson, but FastAPI's json module takes them
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1E400",
]


@pytest.mark.parametrize("amount", NON_FINITE_HTTP_AMOUNTS)
@pytest.mark.parametrize("route", ["make-top-up-operation", "make-purchase-operation", "make-fee-operation"])
async def test_http_non_finite_amount_is_a_plain_500_and_nothing_is_stored(
    stand: Stand, http: aiohttp.ClientSession, account: dict[str, str], route: str, amount: str
) -> None:
    category = "food" if route == "make-purchase-operation" else None
    status, content_type, text = await post(
        http, f"/operations/{route}", operation_body(account, amount, category=category)
    )
    assert (status, content_type, text) == (500, "text/plain", "Internal Server Error")
    assert stand.bank.get_operations(account["account_id"]) == []
    assert stand.bank.get_account(account["account_id"]).balance == 0.0


async def test_http_sum_that_overflows_first_200_then_500_and_the_second_is_not_stored(
    stand: Stand, http: aiohttp.ClientSession, account: dict[str, str]
) -> None:
    first = await post(http, "/operations/make-top-up-operation", operation_body(account, "1e308"))
    second = await post(http, "/operations/make-top-up-operation", operation_body(account, "1e308"))
    assert first[0] == 200 and orjson.loads(first[2])["operation"]["amount"] == 1e308  # orjson may write 1e+308
    assert second == (500, "text/plain", "Internal Server Error")
    assert len(stand.bank.get_operations(account["account_id"])) == 1
    assert stand.bank.get_account(account["account_id"]).balance == 1e308
    # a finite move back is fine, as is a FAILED one that never touches the balance
    back = await post(http, "/operations/make-purchase-operation", operation_body(account, "1e308", category="x"))
    failed = operation_body(account, "1e308").replace("COMPLETED", "FAILED")
    assert back[0] == 200 and (await post(http, "/operations/make-top-up-operation", failed))[0] == 200
    assert stand.bank.get_account(account["account_id"]).balance == 0.0


# --------------------------------------------------------------------------- gRPC: amounts


@pytest.mark.parametrize("amount", [math.nan, math.inf, -math.inf, 1e308])
async def test_grpc_non_finite_amount_is_stored_as_sent_and_our_clients_read_it_back(
    stand: Stand,
    operations_stub: operations_gateway_service_pb2_grpc.OperationsGatewayServiceStub,
    account: dict[str, str],
    amount: float,
) -> None:
    request = rpc_make_top_up_operation_pb2.MakeTopUpOperationRequest(status=COMPLETED, amount=amount, **_ids(account))
    answer = await operations_stub.MakeTopUpOperation(request, timeout=5)
    expected = math.inf if amount == 1e308 else abs(amount)  # a proto float: 1e308 is inf on the wire
    assert _same(answer.operation.amount, expected)
    assert _same(stand.bank.get_account(account["account_id"]).balance, expected)

    async with connect("grpc", stand.grpc_target, timeout=5.0) as client:  # the seeder's client copes
        operation = await client.get_operation(answer.operation.id)
        (listed,) = await client.get_operations(account["account_id"])
        (opened,) = await client.get_accounts(account["user_id"])
        summary = await client.get_operations_summary(account["account_id"])
    assert _same(operation.amount, expected) and _same(listed.amount, expected) and listed.id == operation.id
    assert _same(opened.balance, expected) and _same(summary.received_amount, expected)

    # Over HTTP the same account cannot be written as JSON: the gateway's 500, a clean error for us.
    async with connect("http", stand.http_url, timeout=5.0) as client:
        for read in (client.get_operation(answer.operation.id), client.get_accounts(account["user_id"])):
            with pytest.raises(TransientGatewayError, match="500"):
                await read


async def test_grpc_sum_that_overflows_is_stored_as_inf(
    stand: Stand,
    operations_stub: operations_gateway_service_pb2_grpc.OperationsGatewayServiceStub,
    account: dict[str, str],
) -> None:
    top_up = rpc_make_top_up_operation_pb2.MakeTopUpOperationRequest(status=COMPLETED, amount=1e308, **_ids(account))
    for _ in range(2):  # the contract's case: two top-ups of 1e308, both OK
        await operations_stub.MakeTopUpOperation(top_up, timeout=5)
    assert stand.bank.get_account(account["account_id"]).balance == math.inf
    purchase = rpc_make_purchase_operation_pb2.MakePurchaseOperationRequest(
        status=COMPLETED, amount=1e30, category="x", **_ids(account)
    )
    await operations_stub.MakePurchaseOperation(purchase, timeout=5)  # inf stays inf, as in the database
    assert stand.bank.get_account(account["account_id"]).balance == math.inf
    assert len(stand.bank.get_operations(account["account_id"])) == 3


@pytest.mark.parametrize("transport", ["grpc", "http"])
@pytest.mark.parametrize("amount", [math.nan, math.inf, -math.inf, 1e39, -3.5e38])
async def test_our_client_never_sends_an_amount_the_wire_cannot_carry(
    stand: Stand, account: dict[str, str], transport: str, amount: float
) -> None:
    async with connect(transport, stand.target(transport), timeout=5.0) as client:  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="amount must be a finite number"):
            await client.make_operation(OperationType.TOP_UP, amount=amount, **_ids(account))
        largest = await client.make_operation(OperationType.TOP_UP, amount=3.4e38, **_ids(account))
    assert stand.faults.calls["MakeTopUpOperation"] == 1  # the refused ones never left
    assert math.isfinite(largest.amount)


# --------------------------------------------------------------------------- HTTP: sizes and encodings


def _user_json(email: str, **overrides: str) -> str:
    fields = {"email": email, "lastName": "L", "firstName": "F", "middleName": "M", "phoneNumber": "+1", **overrides}
    return "{" + ", ".join(f'"{k}": "{v}"' for k, v in fields.items()) + "}"


HTTP_ODD_BODIES: list[tuple[str, Callable[[], bytes], int, str]] = [
    # (what, body, status, a piece of the detail)
    ("2 MB email", lambda: _user_json("a" * 2_000_000 + "@b.cd").encode(), 422, "Length must not exceed 2048"),
    ("2049-character email", lambda: _user_json("a" * 2044 + "@b.cd").encode(), 422, "Length must not exceed 2048"),
    ("email without @", lambda: _user_json("plain").encode(), 422, "must have an @-sign"),
    ("3 MB of garbage", lambda: b"x" * (3 * MIB), 422, "JSON decode error"),
    ("3 MB string, not an object", lambda: b'"' + b"a" * (3 * MIB) + b'"', 422, "valid dictionary"),
    ("4 MiB + 1 body", lambda: b" " * (4 * MIB + 1), 413, "Maximum request body size"),
    ("6 MB valid user", lambda: _user_json("a@b.cd", lastName="L" * 6_000_000).encode(), 413, "Maximum request body"),
    ("100,000 nested lists", lambda: b"[" * 100_000, 422, "JSON decode error"),
    ("lone surrogate", lambda: _user_json("\\ud800@b.cd").encode(), 422, "JSON decode error"),
    ("not UTF-8", lambda: b'{"email": "\xff@b.cd"}', 422, "JSON decode error"),
]


@pytest.mark.parametrize(("what", "body", "status", "detail"), HTTP_ODD_BODIES, ids=[r[0] for r in HTTP_ODD_BODIES])
async def test_http_odd_bodies_are_413_or_422_never_500(
    stand: Stand, http: aiohttp.ClientSession, what: str, body: Callable[[], bytes], status: int, detail: str
) -> None:
    got, content_type, text = await post(http, "/users", body())
    assert (got, content_type) == (status, "application/json"), text[:300]
    assert text.startswith('{"detail":') and detail in text[:2000]
    assert stand.bank.users == {}
    ok = await post(http, "/users", _user_json("after@b.cd"))  # and the stand carries on
    assert ok[0] == 200


async def test_http_chunked_body_over_the_limit_is_413(stand: Stand, http: aiohttp.ClientSession) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b" " * MIB

    async with http.post(API + "/users", data=chunks(), headers={"Content-Type": "application/json"}) as response:
        assert response.status == 413
        assert "Maximum request body size" in (await response.json())["detail"]


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/users/" + "1" * 100_000, {}, 400),  # a request line over aiohttp's 8 KiB
        ("/accounts?userId=" + "x" * 9000, {}, 400),
        ("/users/1", {"X-Big": "y" * 100_000}, 400),  # a header over 8 KiB
        ("/users/" + "1" * 5000, {}, 422),  # long, but a line aiohttp reads: FastAPI's 422
    ],
    ids=["100 kB path", "9 kB query", "100 kB header", "5 kB id"],
)
async def test_http_overlong_request_lines_are_refused_in_one_log_line(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, path: str, headers: dict[str, str], status: int
) -> None:
    async with http.get(API + path, headers=headers) as response:
        assert response.status == status
    assert len(caplog.records) == (status == 400)
    assert all(len(r.getMessage()) < 500 and "\n" not in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- gRPC: sizes


async def test_grpc_100_kb_bad_email_gets_the_gateways_short_message(
    users_stub: users_gateway_service_pb2_grpc.UsersGatewayServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await users_stub.CreateUser(rpc_create_user_pb2.CreateUserRequest(email="x" * 100_000), timeout=5)
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "Create user: An email address must have an @-sign."


GRPC_LONG_ECHOES: list[tuple[str, Callable[[], Any], grpc.StatusCode]] = [
    ("100 kB malformed id", lambda: rpc_get_user_pb2.GetUserRequest(id="1" * 100_000), grpc.StatusCode.UNKNOWN),
    ("100 kB non-ASCII id", lambda: rpc_get_user_pb2.GetUserRequest(id="я" * 50_000), grpc.StatusCode.UNKNOWN),
    ("bad email with @", lambda: rpc_create_user_pb2.CreateUserRequest(email="@" * 100_000), None),
]


@pytest.mark.parametrize(("what", "request_", "code"), GRPC_LONG_ECHOES, ids=[r[0] for r in GRPC_LONG_ECHOES])
async def test_grpc_details_stay_short_whatever_the_input(
    users_stub: users_gateway_service_pb2_grpc.UsersGatewayServiceStub,
    what: str,
    request_: Callable[[], Any],
    code: grpc.StatusCode | None,
) -> None:
    request = request_()
    method = users_stub.GetUser if isinstance(request, rpc_get_user_pb2.GetUserRequest) else users_stub.CreateUser
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await method(request, timeout=5)
    assert info.value.code() is (code or grpc.StatusCode.INVALID_ARGUMENT)
    assert len((info.value.details() or "").encode()) <= 1024


async def test_grpc_duplicate_of_a_long_email_is_invalid_argument_with_short_details(
    users_stub: users_gateway_service_pb2_grpc.UsersGatewayServiceStub,
) -> None:
    request = rpc_create_user_pb2.CreateUserRequest(email="a" * 100_000 + "@b.cd")
    await users_stub.CreateUser(request, timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await users_stub.CreateUser(request, timeout=5)
    details = info.value.details() or ""
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("User with email aaa") and details.endswith("…") and len(details.encode()) <= 1024


async def test_grpc_request_over_4_mib_is_refused_by_grpc_and_the_stand_carries_on(
    stand: Stand, users_stub: users_gateway_service_pb2_grpc.UsersGatewayServiceStub
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await users_stub.CreateUser(rpc_create_user_pb2.CreateUserRequest(email="x" * (4 * MIB + 1)), timeout=5)
    assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in (info.value.details() or "")
    assert stand.faults.calls["CreateUser"] == 0  # refused before any handler
    created = await users_stub.CreateUser(rpc_create_user_pb2.CreateUserRequest(email="ok@b.cd"), timeout=5)
    assert created.user.email == "ok@b.cd"


@pytest.mark.parametrize(
    ("what", "raw", "problem"),
    [
        ("bad UTF-8 in a string", b"\x0a\x03\xff\xfe\xfd", "String field had bad UTF-8"),
        ("not protobuf", b"\xff\xff\xff", "Wire format was corrupt"),
        ("truncated", b"\x0a\x05ab", "Wire format was corrupt"),
    ],
)
async def test_grpc_garbage_bytes_are_unknown_as_grpcio_answers_with_one_log_line(
    stand: Stand, channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture, what: str, raw: bytes, problem: str
) -> None:
    call = channel.unary_unary(
        "/contracts.services.gateway.users.UsersGatewayService/CreateUser",
        request_serializer=lambda data: data,
        response_deserializer=lambda data: data,
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(raw, timeout=5)
    assert info.value.code() is grpc.StatusCode.UNKNOWN
    assert (info.value.details() or "").startswith("Unexpected <class 'google.protobuf.message.DecodeError'>: ")
    # protobuf 7 names the problem; protobuf 6 (the lowest we support) only the message type
    assert problem in (info.value.details() or "") or "Error parsing message with type" in (info.value.details() or "")
    assert [r.levelname for r in caplog.records] == ["WARNING"] and stand.faults.calls["CreateUser"] == 0


async def test_our_clients_report_the_short_email_error_as_invalid_not_transient(stand: Stand) -> None:
    for transport in ("grpc", "http"):
        async with connect(transport, stand.target(transport), timeout=5.0) as client:  # type: ignore[arg-type]
            with pytest.raises(GatewayError) as info:
                await client.create_user(
                    email="x" * 100_000, last_name="L", first_name="F", middle_name="M", phone_number="+1"
                )
        assert not isinstance(info.value, TransientGatewayError), info.value
        assert len(str(info.value)) < 2000


def _ids(account: dict[str, str]) -> dict[str, str]:
    return {"card_id": account["card_id"], "account_id": account["account_id"]}


def _same(got: float, expected: float) -> bool:
    return (math.isnan(got) and math.isnan(expected)) or got == expected


NIL = "00000000-0000-0000-0000-000000000000"
V1 = "11111111-1111-1111-1111-111111111111"
V4_NONE = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("path", "value", "status"),
    [
        ("/accounts?userId=", NIL, 500),
        ("/accounts?userId=", V1, 500),
        ("/accounts?userId=", V4_NONE, 200),
        ("/operations?accountId=", NIL, 500),
        ("/operations?accountId=", V1, 500),
        ("/operations?accountId=", V4_NONE, 200),
        ("/operations/operations-summary?accountId=", NIL, 500),
        ("/operations/operations-summary?accountId=", V1, 500),
    ],
)
async def test_http_query_uuids_must_be_version_4_as_the_services_behind_the_gateway_check(
    stand: Stand, http: aiohttp.ClientSession, path: str, value: str, status: int
) -> None:
    async with http.get(f"/api/v1{path}{value}") as answer:
        text = await answer.text()
        assert answer.status == status, text
        if status == 500:
            assert (answer.content_type, text) == ("text/plain", "Internal Server Error")


def test_our_reachability_probes_ask_for_a_version_4_uuid_no_user_has() -> None:
    """The real gateway answers the nil UUID with a 500 and a logged traceback on every run and verify."""
    import uuid

    from seeding.gateway._grpc_client import _PROBE_FIELDS
    from seeding.gateway._http_client import _PROBE_PARAMS

    for value in (_PROBE_PARAMS["userId"], _PROBE_FIELDS["user_id"]):
        assert uuid.UUID(value).version == 4 and value == V4_NONE
