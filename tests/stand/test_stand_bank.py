"""The bank without a transport: generated card data, reproducibility and the rules both sides share."""

from __future__ import annotations

import uuid

import pytest

from seeding.gateway import AccountType, CardPaymentSystem, CardType, OperationStatus, OperationType
from seeding.stand import Bank
from seeding.stand._errors import CardsNotAllowedError, InvalidEmailError, MalformedIdError, NotFoundError


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_numbers(seed: int) -> list[str]:
    bank = Bank(seed=seed)
    user = bank.create_user(email="a@b.co", first_name="A", last_name="B")
    account = bank.open_account(user.id, AccountType.DEBIT_CARD)
    for _ in range(20):
        bank.issue_card(user.id, account.id, CardType.PHYSICAL)
    return [c.card_number for c in account.cards]


def test_card_numbers_are_luhn_valid_and_match_the_payment_system() -> None:
    bank = Bank(seed=1)
    user = bank.create_user(email="a@b.co")
    account = bank.open_account(user.id, AccountType.CREDIT_CARD)
    issued = [bank.issue_card(user.id, account.id, CardType.VIRTUAL) for _ in range(30)]
    assert {c.payment_system for c in issued} == {CardPaymentSystem.VISA, CardPaymentSystem.MASTERCARD}
    for card in account.cards:
        assert luhn_ok(card.card_number) and len(card.card_number) == 16
        assert card.card_number[0] == ("4" if card.payment_system is CardPaymentSystem.VISA else "5")


def test_seeded_card_data_is_reproducible() -> None:
    assert card_numbers(9) == card_numbers(9)
    assert card_numbers(9) != card_numbers(10)


def test_ids_are_normalised_and_validated() -> None:
    bank = Bank()
    user = bank.create_user(email="a@b.co")
    assert bank.get_user(user.id.upper()) is user
    with pytest.raises(MalformedIdError):
        bank.get_user("123")
    with pytest.raises(NotFoundError, match="User not found"):
        bank.get_user(str(uuid.uuid4()))


@pytest.mark.parametrize("email", ["", "plain", "a@b", "a b@c.de", "a@@b.cd", "a@b.cd."])
def test_bad_emails_are_refused(email: str) -> None:
    with pytest.raises(InvalidEmailError):
        Bank().create_user(email=email)


def test_cards_only_on_card_accounts_of_the_same_user() -> None:
    bank = Bank()
    owner, other = bank.create_user(email="o@b.co"), bank.create_user(email="x@b.co")
    savings = bank.open_account(owner.id, AccountType.SAVINGS)
    debit = bank.open_account(owner.id, AccountType.DEBIT_CARD)
    with pytest.raises(CardsNotAllowedError):
        bank.issue_card(owner.id, savings.id, CardType.VIRTUAL)
    with pytest.raises(NotFoundError):
        bank.issue_card(other.id, debit.id, CardType.VIRTUAL)
    other_debit = bank.open_account(other.id, AccountType.DEBIT_CARD)
    with pytest.raises(NotFoundError, match="Card"):  # a card of another account
        bank.make_operation(
            OperationType.FEE,
            status=OperationStatus.COMPLETED,
            amount=1,
            card_id=other_debit.cards[0].id,
            account_id=debit.id,
        )
