"""The builder's lean path (``client.lean``): the same calls as the models' path, answered with ids.

Against the stand over real sockets, both transports: what the lean path returns is what the
validated models read back. Against servers of our own that answer malformed bodies: the lean path
fails as the models' path does, a permanent "malformed response" naming the call, never a crash.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import orjson
import pytest
from aiohttp import web

from seeding._exceptions import PermanentGatewayError
from seeding.contract import ENDPOINTS, message_class, proto_service, to_proto
from seeding.gateway import (
    AccountRef,
    AccountType,
    CallLog,
    CardRef,
    CardType,
    GatewayClient,
    LeanCalls,
    OperationStatus,
    OperationType,
    Ref,
    Transport,
    connect,
    lean_calls,
)

ZERO = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("endpoint", list(ENDPOINTS.values()), ids=list(ENDPOINTS))
def test_the_tables_response_field_is_the_protos(endpoint: Any) -> None:
    """``Endpoint.response`` names the one field of the RPC's response message (the JSON key is the same)."""
    output = proto_service(endpoint.grpc_service).methods_by_name[endpoint.rpc].output_type
    assert [field.name for field in output.fields] == [endpoint.response]


def test_lean_calls_is_the_lean_path_of_ours_and_the_client_itself_otherwise() -> None:
    ours = connect("http", "http://127.0.0.1:1")
    assert isinstance(lean_calls(ours), LeanCalls) and lean_calls(ours) is ours.lean

    class Wrapper:  # a user's own client, or a wrapper around ours: its public methods are what it means
        def __getattr__(self, name: str) -> Any:
            return getattr(ours, name)

    wrapper = Wrapper()
    assert lean_calls(wrapper) is wrapper  # type: ignore[arg-type]


async def test_lean_answers_are_what_the_models_read_back(client: GatewayClient) -> None:
    lean = lean_calls(client)
    assert isinstance(lean, LeanCalls)
    user = await lean.create_user(email="lean@example.com", last_name="Иванов", first_name="Иван")
    assert type(user) is Ref
    assert (await client.get_user(user.id)).email == "lean@example.com"
    opened = {kind: await lean.open_account(user.id, kind) for kind in AccountType}
    issued = await lean.issue_card(user.id, opened[AccountType.DEBIT_CARD].id, CardType.PHYSICAL)
    operation = await lean.make_operation(
        OperationType.PURCHASE,
        account_id=opened[AccountType.DEBIT_CARD].id,
        card_id=issued.id,
        amount=12.5,
        status=OperationStatus.COMPLETED,
        category="books",
    )
    accounts = {account.id: account for account in await client.get_accounts(user.id)}
    assert set(accounts) == {ref.id for ref in opened.values()}
    for kind, ref in opened.items():
        assert type(ref) is AccountRef
        model = accounts[ref.id]
        assert ref.type is model.type is kind
        opened_with = tuple(CardRef(card.id, card.type) for card in model.cards if card.id != issued.id)
        assert ref.cards == opened_with
        assert all(type(card.type) is CardType for card in ref.cards)
    assert len(opened[AccountType.DEBIT_CARD].cards) == 2 and opened[AccountType.DEPOSIT].cards == ()
    assert issued.id in {card.id for card in accounts[opened[AccountType.DEBIT_CARD].id].cards}
    made = await client.get_operation(operation.id)
    assert (made.card_id, made.type, made.category) == (issued.id, OperationType.PURCHASE, "books")


async def test_lean_calls_are_logged_and_fail_like_the_models(client: GatewayClient) -> None:
    from seeding.gateway import CallLog

    client.call_log = log = CallLog()
    with pytest.raises(PermanentGatewayError) as lean_error:
        await client.lean.issue_card(ZERO, ZERO, CardType.VIRTUAL)  # type: ignore[attr-defined]
    with pytest.raises(PermanentGatewayError) as model_error:
        await client.issue_card(ZERO, ZERO, CardType.VIRTUAL)
    assert type(lean_error.value) is type(model_error.value)
    assert str(lean_error.value) == str(model_error.value)
    assert log.rpcs["IssueVirtualCard"].calls == 2
    with pytest.raises(ValueError, match="needs a category"):  # the same request rules, before anything is sent
        await client.lean.make_operation(  # type: ignore[attr-defined]
            OperationType.PURCHASE, account_id=ZERO, card_id=ZERO, amount=1.0
        )


# --- malformed answers ------------------------------------------------------------------------------

CREATE = ENDPOINTS["CreateUser"]
OPEN = ENDPOINTS["OpenDebitCardAccount"]
GOOD_CARD = {"id": "c1", "type": "VIRTUAL"}

# (name, RPC, the JSON body the HTTP server answers with)
HTTP_BAD = [
    ("not-an-object", CREATE, []),
    ("null", CREATE, None),
    ("no-user", CREATE, {"users": {"id": "u1"}}),
    ("user-null", CREATE, {"user": None}),
    ("no-id", CREATE, {"user": {"email": "x@example.com"}}),
    ("id-a-number", CREATE, {"user": {"id": 7}}),
    ("id-null", CREATE, {"user": {"id": None}}),
    ("account-unknown-type", OPEN, {"account": {"id": "a1", "type": "GOLD", "cards": []}}),
    ("account-no-cards", OPEN, {"account": {"id": "a1", "type": "DEBIT_CARD"}}),
    ("account-cards-not-a-list", OPEN, {"account": {"id": "a1", "type": "DEBIT_CARD", "cards": 2}}),
    ("card-unknown-type", OPEN, {"account": {"id": "a1", "type": "DEBIT_CARD", "cards": [{"id": "c", "type": "X"}]}}),
    (
        "card-id-a-number",
        OPEN,
        {"account": {"id": "a1", "type": "DEBIT_CARD", "cards": [{"id": 1, "type": "VIRTUAL"}]}},
    ),
    ("account-id-missing", OPEN, {"account": {"type": "DEBIT_CARD", "cards": [GOOD_CARD]}}),
]


@contextlib.asynccontextmanager
async def http_answering(body: Any) -> AsyncIterator[str]:
    """An HTTP server on a free loopback port answering every request 200 with ``body`` as JSON."""

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def call_lean(client: GatewayClient, rpc: str) -> Any:
    lean = lean_calls(client)
    if rpc == "CreateUser":
        return await lean.create_user(email="x@example.com")
    return await lean.open_account(ZERO, AccountType.DEBIT_CARD)


async def call_model(client: GatewayClient, rpc: str) -> Any:
    if rpc == "CreateUser":
        return await client.create_user(email="x@example.com")
    return await client.open_account(ZERO, AccountType.DEBIT_CARD)


@pytest.mark.parametrize(("endpoint", "body"), [row[1:] for row in HTTP_BAD], ids=[row[0] for row in HTTP_BAD])
async def test_a_malformed_http_answer_fails_the_lean_path_as_the_models(endpoint: Any, body: Any) -> None:
    async with http_answering(body) as url, connect("http", url, timeout=5) as client:
        client.call_log = log = CallLog()
        with pytest.raises(PermanentGatewayError) as lean_error:
            await call_lean(client, endpoint.rpc)
        with pytest.raises(PermanentGatewayError):
            await call_model(client, endpoint.rpc)
    assert lean_error.value.status == "malformed response"
    assert lean_error.value.method == endpoint.http_route
    assert log.rpcs[endpoint.rpc].statuses == {"malformed response": 2}  # the report says so too, not OK


def _account(account_type: int, card_types: list[int]) -> bytes:
    response = message_class(proto_service(OPEN.grpc_service).methods_by_name[OPEN.rpc].output_type.full_name)()
    response.account.id = "a1"
    response.account.type = account_type
    for number, card_type in enumerate(card_types):
        card = response.account.cards.add()
        card.id, card.type = f"c{number}", card_type
    return response.SerializeToString()


DEBIT = to_proto(AccountType.DEBIT_CARD)
VIRTUAL = to_proto(CardType.VIRTUAL)
# (name, the serialized OpenDebitCardAccountResponse the gRPC server answers with)
GRPC_BAD = [
    ("account-type-unspecified", _account(0, [VIRTUAL])),
    ("account-type-unknown", _account(99, [VIRTUAL])),
    ("card-type-unspecified", _account(DEBIT, [VIRTUAL, 0])),
    ("card-type-unknown", _account(DEBIT, [77])),
]


@contextlib.asynccontextmanager
async def grpc_answering(endpoint: Any, answer: bytes) -> AsyncIterator[str]:
    """A gRPC server on a free loopback port whose ``endpoint`` answers ``answer`` as it is."""

    async def serve(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return answer

    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(serve)  # no (de)serializers: bytes in, bytes out
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(endpoint.grpc_service, {endpoint.rpc: handler})]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


@pytest.mark.parametrize("answer", [row[1] for row in GRPC_BAD], ids=[row[0] for row in GRPC_BAD])
async def test_a_malformed_grpc_answer_fails_the_lean_path_as_the_models(answer: bytes) -> None:
    async with grpc_answering(OPEN, answer) as target, connect("grpc", target, timeout=5) as client:
        client.call_log = log = CallLog()
        with pytest.raises(PermanentGatewayError) as lean_error:
            await call_lean(client, OPEN.rpc)
        with pytest.raises(PermanentGatewayError):
            await call_model(client, OPEN.rpc)
    assert lean_error.value.status == "malformed response"
    assert lean_error.value.method == OPEN.rpc
    assert log.rpcs[OPEN.rpc].statuses == {"malformed response": 2}  # the report says so too, not OK


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_a_well_formed_answer_from_our_servers_reads_the_same_both_ways(transport: Transport) -> None:
    """The control of the tables above: the same servers, a good answer, the lean and model paths agree."""
    good_json = {
        "account": {"id": "a1", "type": "DEBIT_CARD", "cards": [GOOD_CARD], "status": "ACTIVE", "balance": 0.0}
    }
    server = http_answering(good_json) if transport == "http" else grpc_answering(OPEN, _account(DEBIT, [VIRTUAL]))
    async with server as target, connect(transport, target, timeout=5) as client:
        lean = await call_lean(client, OPEN.rpc)
    assert lean.id == "a1" and lean.type is AccountType.DEBIT_CARD
    assert [(card.id, card.type) for card in lean.cards] == [("c1" if transport == "http" else "c0", CardType.VIRTUAL)]
