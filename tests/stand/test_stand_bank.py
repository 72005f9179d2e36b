"""The bank without a transport: generated card data, reproducibility and the rules both sides share."""

from __future__ import annotations

import random
import uuid

import pytest

from seeding.gateway import AccountType, CardPaymentSystem, CardType, OperationStatus, OperationType
from seeding.stand import Bank
from seeding.stand._bank import _luhn_complete, _random_digits, new_id
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


def test_seed_1_gives_the_card_data_it_always_gave() -> None:
    """Card generation got cheaper (issue 12); a seed's cards must not have changed with it."""
    bank = Bank(seed=1)
    user = bank.create_user(email="a@b.co")
    account = bank.open_account(user.id, AccountType.DEBIT_CARD)
    bank.issue_card(user.id, account.id, CardType.VIRTUAL)
    bank.issue_card(user.id, account.id, CardType.PHYSICAL)
    assert [(c.card_number, c.pin, c.cvv, c.payment_system) for c in account.cards] == [
        ("5291417776317060", "7090", "622", CardPaymentSystem.MASTERCARD),
        ("5174391500080637", "6915", "743", CardPaymentSystem.MASTERCARD),
        ("5537783533740686", "1638", "190", CardPaymentSystem.MASTERCARD),
        ("4158683449786909", "7868", "248", CardPaymentSystem.VISA),
    ]


@pytest.mark.parametrize("seed", range(20))
def test_random_digits_are_randranges(seed: int) -> None:
    fast, plain = random.Random(seed), random.Random(seed)
    for count in (1, 13, 14, 50):
        assert _random_digits(fast, count) == "".join(str(plain.randrange(10)) for _ in range(count))
    assert fast.random() == plain.random()  # and the generator is left where randrange leaves it


def test_luhn_check_digit_makes_numbers_valid() -> None:
    rng = random.Random(3)
    for length in range(1, 20):
        for _ in range(50):
            assert luhn_ok(_luhn_complete("".join(rng.choice("0123456789") for _ in range(length))))


def test_new_ids_are_canonical_random_uuids() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert {text[19] for text in ids} == set("89ab")  # every variant digit turns up


def test_ids_are_normalised_and_validated() -> None:
    bank = Bank()
    user = bank.create_user(email="a@b.co")
    assert bank.get_user(user.id.upper()) is user
    assert bank.get_user(user.id.replace("-", "")) is user
    assert bank.get_user(f"{{{user.id}}}") is user
    for malformed in ("123", "", None, 42):
        with pytest.raises(MalformedIdError):
            bank.get_user(malformed)  # type: ignore[arg-type]
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
