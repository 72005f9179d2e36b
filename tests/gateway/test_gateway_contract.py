"""The contract suite: every client method against the stand, over gRPC and over HTTP.

Each test runs once per transport (the ``client`` fixture), through our client, over real
loopback sockets. Expected values come from the contract's "Behaviour" section and error table;
where the two transports answer differently (the gateway's quirks) the test says which is which.
"""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from seeding._exceptions import (
    GatewayError,
    GatewayUnreachableError,
    InvalidRequestError,
    NotFoundError,
    PermanentGatewayError,
    RejectedError,
    TransientGatewayError,
)
from seeding.gateway import (
    Account,
    AccountStatus,
    AccountType,
    Card,
    CardPaymentSystem,
    CardStatus,
    CardType,
    GatewayClient,
    Operation,
    OperationStatus,
    OperationType,
    User,
    connect,
)
from seeding.stand import Stand

UNKNOWN_ID = "5f0e7c2a-4b1d-4c3e-9a8f-1d2c3b4a5e6f"

# How each transport names a call in errors: the RPC, or the route with its template path.
METHOD = {
    "GetUser": ("GetUser", "GET /api/v1/users/{user_id}"),
    "CreateUser": ("CreateUser", "POST /api/v1/users"),
    "OpenDebitCardAccount": ("OpenDebitCardAccount", "POST /api/v1/accounts/open-debit-card-account"),
    "OpenDepositAccount": ("OpenDepositAccount", "POST /api/v1/accounts/open-deposit-account"),
    "IssueVirtualCard": ("IssueVirtualCard", "POST /api/v1/cards/issue-virtual-card"),
    "IssuePhysicalCard": ("IssuePhysicalCard", "POST /api/v1/cards/issue-physical-card"),
    "GetOperation": ("GetOperation", "GET /api/v1/operations/{operation_id}"),
    "GetOperationReceipt": ("GetOperationReceipt", "GET /api/v1/operations/operation-receipt/{operation_id}"),
    "GetTariffDocument": ("GetTariffDocument", "GET /api/v1/documents/tariff-document/{account_id}"),
    "GetContractDocument": ("GetContractDocument", "GET /api/v1/documents/contract-document/{account_id}"),
}

SIGNED_CATEGORY = {  # type: (sign the server gives the amount, category it sets)
    OperationType.FEE: (-1, "fee"),
    OperationType.TOP_UP: (+1, "money_in"),
    OperationType.PURCHASE: (-1, "groceries"),  # PURCHASE keeps the client's category
    OperationType.CASHBACK: (+1, "cashback_rewards"),
    OperationType.TRANSFER: (-1, "transfer"),
    OperationType.BILL_PAYMENT: (-1, "bill_payment"),
    OperationType.CASH_WITHDRAWAL: (-1, "cash_withdrawal"),
}


@dataclass(frozen=True)
class Owned:
    """An account with the id of its user: GetAccounts, the only way to read a balance, wants it."""

    user_id: str
    account: Account


def method(client: GatewayClient, rpc: str) -> str:
    grpc_name, http_route = METHOD[rpc]
    return grpc_name if client.transport == "grpc" else http_route


def check_error(
    exc: GatewayError, client: GatewayClient, rpc: str, *, grpc: str, http: str, detail: str | None = None
) -> None:
    """The error names the call, the target, the status and the server's message, in its text too."""
    assert exc.method == method(client, rpc)
    assert exc.target == client.target
    assert exc.status == (grpc if client.transport == "grpc" else http)
    assert exc.detail, "the server's message is carried"
    if detail is not None:
        assert detail in exc.detail
    for part in (exc.method, exc.target, exc.status, exc.detail):
        assert part in str(exc)


def fresh_email() -> str:
    return f"seed-{uuid.uuid4().hex}@example.com"


async def new_user(client: GatewayClient, **overrides: str) -> User:
    fields = {
        "email": fresh_email(),
        "last_name": "Иванов",
        "first_name": "Иван",
        "middle_name": "Иванович",
        "phone_number": "+79990001122",
        **overrides,
    }
    return await client.create_user(**fields)


async def new_account(client: GatewayClient, account_type: AccountType = AccountType.DEBIT_CARD) -> Owned:
    user = await new_user(client)
    return Owned(user.id, await client.open_account(user.id, account_type))


async def balance(client: GatewayClient, owned: Owned) -> float:
    """The account's balance as GetAccounts shows it now."""
    (account,) = [a for a in await client.get_accounts(owned.user_id) if a.id == owned.account.id]
    return account.balance


def to_seconds(operation: Operation) -> Operation:
    """gRPC's createdAt has whole seconds, HTTP's microseconds: compare at gRPC's precision."""
    return operation.model_copy(update={"created_at": operation.created_at.replace(microsecond=0)})


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- users ----------------------------------------------------------------------------------------


async def test_create_user_and_get_it_back(client: GatewayClient) -> None:
    email = fresh_email()
    created = await new_user(client, email=email)
    assert uuid.UUID(created.id)
    assert (created.email, created.last_name, created.first_name) == (email, "Иванов", "Иван")
    assert (created.middle_name, created.phone_number) == ("Иванович", "+79990001122")
    assert await client.get_user(created.id) == created


async def test_unknown_user_is_not_found(client: GatewayClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.get_user(UNKNOWN_ID)
    check_error(caught.value, client, "GetUser", grpc="NOT_FOUND", http="404", detail="not found")


async def test_malformed_user_id(client: GatewayClient) -> None:
    """422 over HTTP; the real gateway's gRPC side fails with UNKNOWN, which we must treat as transient."""
    with pytest.raises(GatewayError) as caught:
        await client.get_user("not-a-uuid")
    if client.transport == "http":
        assert isinstance(caught.value, InvalidRequestError)
    else:
        assert type(caught.value) is TransientGatewayError
    check_error(caught.value, client, "GetUser", grpc="UNKNOWN", http="422")


async def test_bad_email_is_an_invalid_request(client: GatewayClient) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await new_user(client, email="not-an-email")
    check_error(caught.value, client, "CreateUser", grpc="INVALID_ARGUMENT", http="422")


async def test_duplicate_email_is_refused(client: GatewayClient) -> None:
    email = fresh_email()
    await new_user(client, email=email)
    with pytest.raises(InvalidRequestError) as caught:
        await new_user(client, email=email)
    check_error(caught.value, client, "CreateUser", grpc="INVALID_ARGUMENT", http="403", detail="already exists")
    assert email in caught.value.detail


async def test_grpc_accepts_a_user_with_only_an_email(stand: Stand) -> None:
    # HTTP requires all five fields (whether empty strings pass is not in the contract): gRPC only.
    async with connect("grpc", stand.grpc_target) as client:
        user = await client.create_user(email=fresh_email())
        assert (user.last_name, user.first_name, user.middle_name, user.phone_number) == ("", "", "", "")
        assert await client.get_user(user.id) == user


# --- accounts and cards ---------------------------------------------------------------------------


def check_card(card: Card, *, account_id: str, card_type: CardType, auto_issued: bool = False) -> None:
    assert uuid.UUID(card.id)
    assert card.type is card_type
    assert card.status is CardStatus.ACTIVE
    if auto_issued:  # the contract fixes the system of the cards that come with an account only
        assert card.payment_system is CardPaymentSystem.MASTERCARD
    assert card.account_id == account_id
    assert card.card_holder == "Иван Иванов"  # "First Last" of the user
    assert card.cvv.isdigit() and len(card.cvv) in (3, 4)
    assert card.pin.isdigit() and len(card.pin) == 4
    assert card.card_number.isdigit() and 12 <= len(card.card_number) <= 19
    years_ahead = (card.expiry_date - date.today()).days / 365.25
    assert 6.5 < years_ahead < 7.5, card.expiry_date


@pytest.mark.parametrize("account_type", list(AccountType))
async def test_open_account_of_every_kind(client: GatewayClient, account_type: AccountType) -> None:
    user = await new_user(client)
    account = await client.open_account(user.id, account_type)
    assert uuid.UUID(account.id)
    assert account.type is account_type
    assert account.status is AccountStatus.ACTIVE
    assert account.balance == (25000.0 if account_type is AccountType.CREDIT_CARD else 0.0)
    if account_type.has_cards:  # two cards come with it: virtual, then physical
        assert [c.type for c in account.cards] == [CardType.VIRTUAL, CardType.PHYSICAL]
        for card in account.cards:
            check_card(card, account_id=account.id, card_type=card.type, auto_issued=True)
    else:
        assert account.cards == []
    assert await client.get_accounts(user.id) == [account]


async def test_named_open_methods_open_their_kind(client: GatewayClient) -> None:
    user = await new_user(client)
    opened = [
        await client.open_deposit_account(user.id),
        await client.open_savings_account(user.id),
        await client.open_debit_card_account(user.id),
        await client.open_credit_card_account(user.id),
    ]
    assert [a.type for a in opened] == [
        AccountType.DEPOSIT,
        AccountType.SAVINGS,
        AccountType.DEBIT_CARD,
        AccountType.CREDIT_CARD,
    ]
    listed = await client.get_accounts(user.id)
    assert sorted(listed, key=lambda a: a.id) == sorted(opened, key=lambda a: a.id)


async def test_accounts_of_an_unknown_user_are_empty(client: GatewayClient) -> None:
    assert await client.get_accounts(UNKNOWN_ID) == []


async def test_open_account_for_an_unknown_user(client: GatewayClient) -> None:
    """NOT_FOUND over gRPC; the real gateway's HTTP side answers a plain-text 500 (a bug), transient."""
    with pytest.raises(GatewayError) as caught:
        await client.open_debit_card_account(UNKNOWN_ID)
    if client.transport == "grpc":
        assert isinstance(caught.value, NotFoundError)
    else:
        assert type(caught.value) is TransientGatewayError
    check_error(caught.value, client, "OpenDebitCardAccount", grpc="NOT_FOUND", http="500")


@pytest.mark.parametrize("card_type", list(CardType))
async def test_issue_card_on_a_card_account(client: GatewayClient, card_type: CardType) -> None:
    owned = await new_account(client, AccountType.CREDIT_CARD)
    card = await client.issue_card(owned.user_id, owned.account.id, card_type)
    check_card(card, account_id=owned.account.id, card_type=card_type)
    (listed,) = await client.get_accounts(owned.user_id)
    assert [c.id for c in listed.cards] == [*(c.id for c in owned.account.cards), card.id]


async def test_named_issue_methods_issue_their_kind(client: GatewayClient) -> None:
    owned = await new_account(client)
    virtual = await client.issue_virtual_card(owned.user_id, owned.account.id)
    physical = await client.issue_physical_card(owned.user_id, owned.account.id)
    assert (virtual.type, physical.type) == (CardType.VIRTUAL, CardType.PHYSICAL)


@pytest.mark.parametrize("account_type", [AccountType.DEPOSIT, AccountType.SAVINGS])
@pytest.mark.parametrize("card_type", list(CardType))
async def test_card_on_deposit_or_savings_is_rejected(
    client: GatewayClient, account_type: AccountType, card_type: CardType
) -> None:
    owned = await new_account(client, account_type)
    with pytest.raises(RejectedError) as caught:
        await client.issue_card(owned.user_id, owned.account.id, card_type)
    rpc = "IssueVirtualCard" if card_type is CardType.VIRTUAL else "IssuePhysicalCard"
    check_error(caught.value, client, rpc, grpc="FAILED_PRECONDITION", http="400")
    assert (await client.get_accounts(owned.user_id))[0].cards == []


async def test_card_on_an_unknown_account_is_not_found(client: GatewayClient) -> None:
    user = await new_user(client)
    with pytest.raises(NotFoundError) as caught:
        await client.issue_virtual_card(user.id, UNKNOWN_ID)
    check_error(caught.value, client, "IssueVirtualCard", grpc="NOT_FOUND", http="404", detail="not found")


# --- operations -----------------------------------------------------------------------------------


@pytest.mark.parametrize("operation_type", list(OperationType))
async def test_operation_of_every_type(client: GatewayClient, operation_type: OperationType) -> None:
    owned = await new_account(client)
    card = owned.account.cards[0]
    sign, category = SIGNED_CATEGORY[operation_type]
    operation = await client.make_operation(
        operation_type, account_id=owned.account.id, card_id=card.id, amount=-250.5, category="groceries"
    )
    assert uuid.UUID(operation.id)
    assert operation.type is operation_type
    assert operation.status is OperationStatus.COMPLETED  # seeded COMPLETED unless told otherwise
    assert operation.amount == sign * 250.5  # the server sets the sign, whatever the client sent
    assert operation.category == category
    assert (operation.account_id, operation.card_id) == (owned.account.id, card.id)
    # The gateway's clock zone is its own (naive timestamps): a day either side covers it.
    assert abs(operation.created_at - datetime.now()) < timedelta(days=1)
    assert await client.get_operation(operation.id) == operation
    assert await client.get_operations(owned.account.id) == [operation]
    assert await balance(client, owned) == sign * 250.5


async def test_named_make_methods_make_their_type(client: GatewayClient) -> None:
    owned = await new_account(client)
    ids = {"account_id": owned.account.id, "card_id": owned.account.cards[1].id, "amount": 10.0}
    made = [
        await client.make_fee_operation(**ids),
        await client.make_top_up_operation(**ids),
        await client.make_purchase_operation(category="taxi", **ids),
        await client.make_cashback_operation(**ids),
        await client.make_transfer_operation(**ids),
        await client.make_bill_payment_operation(**ids),
        await client.make_cash_withdrawal_operation(**ids),
    ]
    assert [op.type for op in made] == list(OperationType)
    assert made[2].category == "taxi"
    assert sorted(op.id for op in await client.get_operations(owned.account.id)) == sorted(op.id for op in made)


async def test_purchase_needs_a_category(client: GatewayClient) -> None:
    owned = await new_account(client)
    with pytest.raises(ValueError, match="category"):
        await client.make_operation(
            OperationType.PURCHASE, account_id=owned.account.id, card_id=owned.account.cards[0].id, amount=1.0
        )


@pytest.mark.parametrize("status", list(OperationStatus))
async def test_status_is_stored_as_sent_and_only_booked_ones_move_the_balance(
    client: GatewayClient, status: OperationStatus
) -> None:
    owned = await new_account(client, AccountType.CREDIT_CARD)
    operation = await client.make_top_up_operation(
        account_id=owned.account.id, card_id=owned.account.cards[0].id, amount=100.0, status=status
    )
    assert operation.status is status
    assert (await client.get_operation(operation.id)).status is status
    booked = status in (OperationStatus.COMPLETED, OperationStatus.IN_PROGRESS)
    assert await balance(client, owned) == (25100.0 if booked else 25000.0)
    if booked:
        receipt = await client.get_operation_receipt(operation.id)
        assert receipt.url.endswith(f"/receipt_{operation.id}.pdf")
        assert receipt.document
    else:  # no receipt: HTTP 500 / gRPC INTERNAL, both transient by the classification
        with pytest.raises(TransientGatewayError) as caught:
            await client.get_operation_receipt(operation.id)
        check_error(caught.value, client, "GetOperationReceipt", grpc="INTERNAL", http="500")


async def test_balance_is_the_sum_of_booked_operations(client: GatewayClient) -> None:
    owned = await new_account(client)
    ids = {"account_id": owned.account.id, "card_id": owned.account.cards[0].id}
    await client.make_top_up_operation(amount=1000.0, **ids)
    await client.make_purchase_operation(amount=120.25, category="food", **ids)
    await client.make_cash_withdrawal_operation(amount=2000.0, **ids)  # not checked: goes negative
    await client.make_fee_operation(amount=5.0, status=OperationStatus.FAILED, **ids)
    assert await balance(client, owned) == 1000.0 - 120.25 - 2000.0


async def test_operations_summary(client: GatewayClient) -> None:
    owned = await new_account(client)
    ids = {"account_id": owned.account.id, "card_id": owned.account.cards[0].id}
    await client.make_top_up_operation(amount=300.0, **ids)
    await client.make_top_up_operation(amount=200.0, **ids)
    await client.make_cashback_operation(amount=12.5, **ids)
    await client.make_purchase_operation(amount=40.0, category="food", **ids)
    await client.make_fee_operation(amount=2.5, **ids)
    await client.make_transfer_operation(amount=100.0, **ids)
    await client.make_bill_payment_operation(amount=50.0, **ids)
    await client.make_cash_withdrawal_operation(amount=25.0, **ids)
    summary = await client.get_operations_summary(owned.account.id)
    assert summary.spent_amount == -(40.0 + 2.5 + 100.0 + 50.0 + 25.0)  # reported negative
    assert summary.received_amount == 500.0
    assert summary.cashback_amount == 12.5


async def test_summary_of_an_unknown_account_is_zeros(client: GatewayClient) -> None:
    summary = await client.get_operations_summary(UNKNOWN_ID)
    assert (summary.spent_amount, summary.received_amount, summary.cashback_amount) == (0.0, 0.0, 0.0)


async def test_unknown_operation_is_not_found(client: GatewayClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.get_operation(UNKNOWN_ID)
    check_error(caught.value, client, "GetOperation", grpc="NOT_FOUND", http="404", detail="not found")


async def test_receipt_right_after_the_operation(client: GatewayClient) -> None:
    owned = await new_account(client)
    operation = await client.make_purchase_operation(
        account_id=owned.account.id, card_id=owned.account.cards[0].id, amount=9.99, category="coffee"
    )
    receipt = await client.get_operation_receipt(operation.id)
    assert receipt.url.endswith(f"/documents/receipt_{operation.id}.pdf")
    assert isinstance(receipt.document, bytes) and receipt.document


# --- documents ------------------------------------------------------------------------------------


async def test_tariff_and_contract_documents(client: GatewayClient) -> None:
    owned = await new_account(client, AccountType.DEPOSIT)
    tariff = await client.get_tariff_document(owned.account.id)
    contract = await client.get_contract_document(owned.account.id)
    assert tariff.url.endswith(f"/tariff_{owned.account.id}.pdf")
    assert contract.url.endswith(f"/contract_{owned.account.id}.pdf")
    assert tariff.document and contract.document


@pytest.mark.parametrize("rpc", ["GetTariffDocument", "GetContractDocument"])
async def test_document_of_an_unknown_account(client: GatewayClient, rpc: str) -> None:
    """NOT_FOUND over gRPC; a plain-text 500 over HTTP (the real gateway's bug), so transient there."""
    get = client.get_tariff_document if rpc == "GetTariffDocument" else client.get_contract_document
    with pytest.raises(GatewayError) as caught:
        await get(UNKNOWN_ID)
    if client.transport == "grpc":
        assert isinstance(caught.value, NotFoundError)
    else:
        assert type(caught.value) is TransientGatewayError
    check_error(caught.value, client, rpc, grpc="NOT_FOUND", http="500")


# --- one state, two transports --------------------------------------------------------------------


async def test_what_one_transport_writes_the_other_reads(stand: Stand) -> None:
    async with connect("grpc", stand.grpc_target) as grpc, connect("http", stand.http_url) as http:
        by_grpc = await new_user(grpc)
        by_http = await new_user(http)
        assert await http.get_user(by_grpc.id) == by_grpc
        assert await grpc.get_user(by_http.id) == by_http

        account = await http.open_debit_card_account(by_grpc.id)
        card = await grpc.issue_physical_card(by_grpc.id, account.id)
        top_up = await grpc.make_top_up_operation(account_id=account.id, card_id=card.id, amount=70.0)
        purchase = await http.make_purchase_operation(
            account_id=account.id, card_id=card.id, amount=20.0, category="books"
        )
        assert await grpc.get_accounts(by_grpc.id) == await http.get_accounts(by_grpc.id)
        (seen,) = await grpc.get_accounts(by_grpc.id)
        assert seen.balance == 50.0 and seen.cards[-1] == card
        assert to_seconds(await http.get_operation(top_up.id)) == to_seconds(top_up)
        assert to_seconds(await grpc.get_operation(purchase.id)) == to_seconds(purchase)
        by_grpc_ops, by_http_ops = await grpc.get_operations(account.id), await http.get_operations(account.id)
        assert [to_seconds(op) for op in by_grpc_ops] == [to_seconds(op) for op in by_http_ops]
        assert await grpc.get_operations_summary(account.id) == await http.get_operations_summary(account.id)
        assert await grpc.get_operation_receipt(top_up.id) == await http.get_operation_receipt(top_up.id)
        assert await grpc.get_tariff_document(account.id) == await http.get_tariff_document(account.id)
        assert await grpc.get_contract_document(account.id) == await http.get_contract_document(account.id)

        with pytest.raises(InvalidRequestError):  # emails are unique across transports
            await new_user(grpc, email=by_http.email)


# --- reachability ---------------------------------------------------------------------------------


async def test_check_reachable_passes_against_the_stand(client: GatewayClient) -> None:
    await client.check_reachable(timeout=2.0)


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_unreachable_target_is_reported_quickly(transport: str) -> None:
    port = closed_port()
    target = f"127.0.0.1:{port}" if transport == "grpc" else f"http://127.0.0.1:{port}"
    async with connect(transport, target, timeout=5.0) as gateway:  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(GatewayUnreachableError) as caught:
            await gateway.check_reachable(timeout=5.0)
        assert time.monotonic() - started < 1.0, "a refused connection needs no waiting"
        assert caught.value.target == target and "cannot connect" in str(caught.value)

        with pytest.raises(GatewayUnreachableError) as caught:
            await gateway.get_user(UNKNOWN_ID)
        assert caught.value.method in ("GetUser", "GET /api/v1/users/{user_id}")
        assert caught.value.target == target and str(port) in caught.value.detail
        assert not isinstance(caught.value, PermanentGatewayError)
