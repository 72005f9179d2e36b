"""The stand's HTTP side on the wire, with raw aiohttp: routes, camelCase keys, enum spellings,
date formats and the real gateway's error codes and bodies (FastAPI shapes, 500 quirks)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from seeding.stand import Stand

API = "/api/v1"
USER_KEYS = {"id", "email", "lastName", "firstName", "middleName", "phoneNumber"}
ACCOUNT_KEYS = {"id", "type", "cards", "status", "balance"}
CARD_KEYS = {
    "id",
    "pin",
    "cvv",
    "type",
    "status",
    "accountId",
    "cardNumber",
    "cardHolder",
    "expiryDate",
    "paymentSystem",
}
OPERATION_KEYS = {"id", "type", "status", "amount", "cardId", "category", "createdAt", "accountId"}
OPERATION_ROUTES = {
    "FEE": ("fee", "fee", -1),
    "TOP_UP": ("top-up", "money_in", 1),
    "PURCHASE": ("purchase", "groceries", -1),
    "CASHBACK": ("cashback", "cashback_rewards", 1),
    "TRANSFER": ("transfer", "transfer", -1),
    "BILL_PAYMENT": ("bill-payment", "bill_payment", -1),
    "CASH_WITHDRAWAL": ("cash-withdrawal", "cash_withdrawal", -1),
}

JsonCall = Callable[..., Any]


async def call(http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """Status and JSON body (or text if the body is not JSON)."""
    async with http.request(method, API + path, **kwargs) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


def user_body(email: str) -> dict[str, str]:
    return {"email": email, "lastName": "Ivanov", "firstName": "Ivan", "middleName": "I", "phoneNumber": "+7999"}


async def create_user(http: aiohttp.ClientSession, email: str) -> dict[str, Any]:
    status, body = await call(http, "POST", "/users", json=user_body(email))
    assert status == 200, body
    return body["user"]


async def open_account(http: aiohttp.ClientSession, user_id: str, kind: str) -> dict[str, Any]:
    status, body = await call(http, "POST", f"/accounts/open-{kind}-account", json={"userId": user_id})
    assert status == 200, body
    return body["account"]


async def test_user_round_trip_with_camel_case_keys(http: aiohttp.ClientSession, new_email: Any) -> None:
    email = new_email()
    user = await create_user(http, email)
    assert set(user) == USER_KEYS
    assert uuid.UUID(user["id"]).version == 4
    assert (user["email"], user["lastName"], user["firstName"]) == (email, "Ivanov", "Ivan")
    status, body = await call(http, "GET", f"/users/{user['id']}")
    assert (status, body) == (200, {"user": user})


async def test_debit_card_account_comes_with_two_cards(http: aiohttp.ClientSession, new_email: Any) -> None:
    user = await create_user(http, new_email())
    account = await open_account(http, user["id"], "debit-card")
    assert set(account) == ACCOUNT_KEYS
    assert (account["type"], account["status"], account["balance"]) == ("DEBIT_CARD", "ACTIVE", 0.0)
    assert [c["type"] for c in account["cards"]] == ["VIRTUAL", "PHYSICAL"]
    for card in account["cards"]:
        assert set(card) == CARD_KEYS
        assert (card["status"], card["paymentSystem"]) == ("ACTIVE", "MASTERCARD")
        assert card["accountId"] == account["id"]
        assert card["cardHolder"] == "Ivan Ivanov"
        assert re.fullmatch(r"\d{3,4}", card["cvv"]) and re.fullmatch(r"\d{4}", card["pin"])
        assert re.fullmatch(r"\d{12,19}", card["cardNumber"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", card["expiryDate"])
        expiry = date.fromisoformat(card["expiryDate"])
        assert timedelta(days=6 * 365) < expiry - date.today() < timedelta(days=8 * 365)


async def test_account_kinds_balances_and_listing(http: aiohttp.ClientSession, new_email: Any) -> None:
    user = await create_user(http, new_email())
    kinds = ["debit-card", "credit-card", "deposit", "savings"]
    opened = [await open_account(http, user["id"], kind) for kind in kinds]
    assert [a["type"] for a in opened] == ["DEBIT_CARD", "CREDIT_CARD", "DEPOSIT", "SAVINGS"]
    assert [a["balance"] for a in opened] == [0.0, 25000.0, 0.0, 0.0]
    assert [len(a["cards"]) for a in opened] == [2, 2, 0, 0]
    status, body = await call(http, "GET", "/accounts", params={"userId": user["id"]})
    assert status == 200
    assert body == {"accounts": opened}
    status, body = await call(http, "GET", "/accounts", params={"userId": str(uuid.uuid4())})
    assert (status, body) == (200, {"accounts": []})


async def test_issue_cards(http: aiohttp.ClientSession, new_email: Any) -> None:
    user = await create_user(http, new_email())
    debit = await open_account(http, user["id"], "debit-card")
    for kind, spelled in (("virtual", "VIRTUAL"), ("physical", "PHYSICAL")):
        body_in = {"userId": user["id"], "accountId": debit["id"]}
        status, body = await call(http, "POST", f"/cards/issue-{kind}-card", json=body_in)
        assert status == 200, body
        assert set(body["card"]) == CARD_KEYS
        assert body["card"]["type"] == spelled
        assert body["card"]["paymentSystem"] in {"VISA", "MASTERCARD"}
    _, listed = await call(http, "GET", "/accounts", params={"userId": user["id"]})
    assert len(listed["accounts"][0]["cards"]) == 4

    deposit = await open_account(http, user["id"], "deposit")
    body_in = {"userId": user["id"], "accountId": deposit["id"]}
    status, body = await call(http, "POST", "/cards/issue-virtual-card", json=body_in)
    assert status == 400 and isinstance(body["detail"], str)


async def test_operations_sign_category_balance_summary(http: aiohttp.ClientSession, new_email: Any) -> None:
    user = await create_user(http, new_email())
    account = await open_account(http, user["id"], "credit-card")
    card_id = account["cards"][0]["id"]
    made = {}
    for op_type, (slug, category, sign) in OPERATION_ROUTES.items():
        body_in = {"status": "COMPLETED", "amount": 100.0, "cardId": card_id, "accountId": account["id"]}
        if op_type == "PURCHASE":
            body_in["category"] = "groceries"
        status, body = await call(http, "POST", f"/operations/make-{slug}-operation", json=body_in)
        assert status == 200, body
        operation = body["operation"]
        assert set(operation) == OPERATION_KEYS
        assert (operation["type"], operation["status"]) == (op_type, "COMPLETED")
        assert (operation["amount"], operation["category"]) == (sign * 100.0, category)
        assert (operation["cardId"], operation["accountId"]) == (card_id, account["id"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}", operation["createdAt"])
        datetime.fromisoformat(operation["createdAt"])
        made[operation["id"]] = operation

    # a negative amount sent for an income type still comes back positive
    body_in = {"status": "COMPLETED", "amount": -5.0, "cardId": card_id, "accountId": account["id"]}
    status, body = await call(http, "POST", "/operations/make-top-up-operation", json=body_in)
    assert (status, body["operation"]["amount"]) == (200, 5.0)

    status, body = await call(http, "GET", "/operations", params={"accountId": account["id"]})
    assert status == 200
    assert [o["id"] for o in body["operations"]][:7] == list(made)
    some_id = next(iter(made))
    assert await call(http, "GET", f"/operations/{some_id}") == (200, {"operation": made[some_id]})

    status, body = await call(http, "GET", "/operations/operations-summary", params={"accountId": account["id"]})
    assert status == 200
    assert body == {"summary": {"spentAmount": -500.0, "receivedAmount": 105.0, "cashbackAmount": 100.0}}
    _, listed = await call(http, "GET", "/accounts", params={"userId": user["id"]})
    assert listed["accounts"][0]["balance"] == 25000.0 - 500.0 + 105.0 + 100.0

    status, body = await call(http, "GET", "/operations/operations-summary", params={"accountId": str(uuid.uuid4())})
    assert body == {"summary": {"spentAmount": 0.0, "receivedAmount": 0.0, "cashbackAmount": 0.0}}


async def test_status_is_stored_and_only_booked_ones_move_balance(http: aiohttp.ClientSession, new_email: Any) -> None:
    user = await create_user(http, new_email())
    account = await open_account(http, user["id"], "debit-card")
    ids = {}
    for status_in in ("COMPLETED", "IN_PROGRESS", "FAILED"):
        body_in = {"status": status_in, "amount": 10.0, "cardId": account["cards"][1]["id"], "accountId": account["id"]}
        status, body = await call(http, "POST", "/operations/make-top-up-operation", json=body_in)
        assert (status, body["operation"]["status"]) == (200, status_in)
        ids[status_in] = body["operation"]["id"]
    _, listed = await call(http, "GET", "/accounts", params={"userId": user["id"]})
    assert listed["accounts"][0]["balance"] == 20.0

    for booked in ("COMPLETED", "IN_PROGRESS"):
        status, body = await call(http, "GET", f"/operations/operation-receipt/{ids[booked]}")
        assert status == 200, body
        assert body["receipt"]["url"] == f"http://localhost:9000/documents/receipt_{ids[booked]}.pdf"
        assert isinstance(body["receipt"]["document"], str) and body["receipt"]["document"]
    status, body = await call(http, "GET", f"/operations/operation-receipt/{ids['FAILED']}")
    assert (status, body) == (500, "Internal Server Error")


async def test_documents(http: aiohttp.ClientSession, new_email: Any) -> None:
    user = await create_user(http, new_email())
    account = await open_account(http, user["id"], "savings")
    for kind in ("tariff", "contract"):
        status, body = await call(http, "GET", f"/documents/{kind}-document/{account['id']}")
        assert status == 200
        assert set(body) == {kind}
        assert body[kind]["url"] == f"http://localhost:9000/documents/{kind}_{account['id']}.pdf"
        assert isinstance(body[kind]["document"], str) and body[kind]["document"]
        # the real gateway's quirk: an unknown account is a bare 500, not a 404
        status, body = await call(http, "GET", f"/documents/{kind}-document/{uuid.uuid4()}")
        assert (status, body) == (500, "Internal Server Error")


async def test_unknown_ids_are_404_with_detail(http: aiohttp.ClientSession, new_email: Any) -> None:
    user = await create_user(http, new_email())
    account = await open_account(http, user["id"], "debit-card")
    missing = str(uuid.uuid4())
    op_body = {"status": "COMPLETED", "amount": 1.0, "cardId": account["cards"][0]["id"], "accountId": missing}
    card_body = {"status": "COMPLETED", "amount": 1.0, "cardId": missing, "accountId": account["id"]}
    cases = [
        ("GET", f"/users/{missing}", None),
        ("GET", f"/operations/{missing}", None),
        ("GET", f"/operations/operation-receipt/{missing}", None),
        ("POST", "/operations/make-fee-operation", op_body),
        ("POST", "/operations/make-fee-operation", card_body),
        ("POST", "/cards/issue-physical-card", {"userId": user["id"], "accountId": missing}),
        ("POST", "/cards/issue-physical-card", {"userId": missing, "accountId": account["id"]}),
    ]
    for method, path, body_in in cases:
        status, body = await call(http, method, path, json=body_in)
        assert status == 404, (path, body)
        assert body["detail"].endswith("not found"), body


async def test_open_account_for_unknown_user_is_a_bare_500(http: aiohttp.ClientSession) -> None:
    status, body = await call(http, "POST", "/accounts/open-deposit-account", json={"userId": str(uuid.uuid4())})
    assert (status, body) == (500, "Internal Server Error")


async def test_duplicate_email_is_403(http: aiohttp.ClientSession, stand: Stand, new_email: Any) -> None:
    email = new_email()
    await create_user(http, email)
    status, body = await call(http, "POST", "/users", json=user_body(email))
    assert status == 403
    assert body == {"detail": f"User with email {email} already exists"}
    assert len(stand.bank.users) == 1


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "loc", "error_type"),
    [
        ("GET", "/users/not-a-uuid", {}, ["path", "user_id"], "uuid_parsing"),
        ("GET", "/operations/123", {}, ["path", "operation_id"], "uuid_parsing"),
        ("GET", "/operations/operation-receipt/zz", {}, ["path", "operation_id"], "uuid_parsing"),
        ("GET", "/documents/tariff-document/zz", {}, ["path", "account_id"], "uuid_parsing"),
        ("GET", "/accounts", {}, ["query", "userId"], "missing"),
        ("GET", "/accounts", {"params": {"userId": "x"}}, ["query", "userId"], "uuid_parsing"),
        ("GET", "/operations", {"params": {"accountId": "x"}}, ["query", "accountId"], "uuid_parsing"),
        ("GET", "/operations/operations-summary", {}, ["query", "accountId"], "missing"),
        ("POST", "/users", {"json": {"email": "a@b.cd"}}, ["body", "lastName"], "missing"),
        ("POST", "/users", {"json": {**user_body("x"), "email": "no-at-sign"}}, ["body", "email"], "value_error"),
        ("POST", "/accounts/open-savings-account", {"json": {}}, ["body", "userId"], "missing"),
        ("POST", "/accounts/open-savings-account", {"json": {"userId": "1"}}, ["body", "userId"], "uuid_parsing"),
        ("POST", "/accounts/open-savings-account", {}, ["body"], "missing"),
        ("POST", "/accounts/open-savings-account", {"data": b"{oops"}, ["body", 1], "json_invalid"),
        (
            "POST",
            "/operations/make-top-up-operation",
            {"json": {"status": "DONE", "amount": 1, "cardId": str(uuid.uuid4()), "accountId": str(uuid.uuid4())}},
            ["body", "status"],
            "enum",
        ),
        (
            "POST",
            "/operations/make-purchase-operation",
            {"json": {"status": "COMPLETED", "amount": 1, "cardId": str(uuid.uuid4()), "accountId": str(uuid.uuid4())}},
            ["body", "category"],
            "missing",
        ),
    ],
)
async def test_validation_errors_are_fastapi_422(
    http: aiohttp.ClientSession, method: str, path: str, kwargs: dict[str, Any], loc: list[Any], error_type: str
) -> None:
    status, body = await call(http, method, path, **kwargs)
    assert status == 422, body
    errors = body["detail"]
    assert isinstance(errors, list)
    matching = [e for e in errors if e["loc"] == loc]
    assert matching, errors
    assert matching[0]["type"] == error_type
    assert {"type", "loc", "msg", "input"} <= set(matching[0])


async def test_literal_routes_are_not_taken_for_operation_ids(http: aiohttp.ClientSession) -> None:
    # /operations/{operation_id} would answer 422 (not a UUID) if it captured these
    status, body = await call(http, "GET", "/operations/operations-summary", params={"accountId": str(uuid.uuid4())})
    assert status == 200 and "summary" in body
    status, _ = await call(http, "GET", f"/operations/operation-receipt/{uuid.uuid4()}")
    assert status == 404


async def test_unknown_route_and_method_answer_like_fastapi(http: aiohttp.ClientSession) -> None:
    assert await call(http, "GET", "/nowhere") == (404, {"detail": "Not Found"})
    assert await call(http, "DELETE", "/users") == (405, {"detail": "Method Not Allowed"})
