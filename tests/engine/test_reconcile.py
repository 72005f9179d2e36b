"""Adoption of what the gateway made but the journal lost: only into empty places, only of the same kind."""

from __future__ import annotations

from seeding.engine._partial import PartialAccount, PartialUser
from seeding.engine._reconcile import Found, adopt_accounts, adopt_cards, adopt_operations, missing_operations

CARDS = ("VIRTUAL", "PHYSICAL")  # what a card account opens with
PLANNED = [
    ("debit_card_accounts", 0, "DEBIT", CARDS),
    ("debit_card_accounts", 1, "DEBIT", CARDS),
    ("credit_card_accounts", 0, "CREDIT", CARDS),
    ("savings_accounts", 0, "SAVINGS", ()),
]


def test_accounts_fill_only_the_empty_places_of_their_kind_in_order() -> None:
    begun = PartialUser("u", {("debit_card_accounts", 0): PartialAccount("a0", [("c0", "VIRTUAL")])})
    found = [
        Found("a0", "DEBIT", (("c0", "VIRTUAL"),)),  # journaled already
        Found("d1", "DEPOSIT", ()),  # no place of its kind in the plan: left alone
        # opened with c1 and c2; c3, listed after, was issued on it (a hand-edited line lost it): a card to place
        Found("a1", "DEBIT", (("c1", "VIRTUAL"), ("c2", "PHYSICAL"), ("c3", "PHYSICAL"))),
        Found("a2", "DEBIT", ()),  # one more than the plan's empty places: left alone
        Found("s1", "SAVINGS", ()),
    ]
    records = adopt_accounts(begun, PLANNED, found)
    assert records == [
        {
            "made": "account",
            "id": "a1",
            "at": ["debit_card_accounts", 1],
            "opened": [["c1", "VIRTUAL"], ["c2", "PHYSICAL"]],
        },
        {"made": "account", "id": "s1", "at": ["savings_accounts", 0], "opened": []},
    ]
    assert begun.accounts[("debit_card_accounts", 1)].opened == [("c1", "VIRTUAL"), ("c2", "PHYSICAL")]
    assert ("credit_card_accounts", 0) not in begun.accounts  # none on the gateway: the resume opens it
    adopted = begun.accounts[("debit_card_accounts", 1)]
    cards = adopt_cards(adopted, ("debit_card_accounts", 1), [("physical_cards", "PHYSICAL", 1)], found[2])
    assert cards == [{"made": "card", "id": "c3", "at": ["debit_card_accounts", 1, "physical_cards", 0]}]


def test_nothing_found_adopts_nothing() -> None:
    begun = PartialUser("u")
    assert adopt_accounts(begun, PLANNED, []) == [] and begun.accounts == {}


def test_cards_skip_the_opening_ones_and_the_journaled_ones() -> None:
    account = PartialAccount("a", [("o1", "VIRTUAL"), ("o2", "PHYSICAL")], cards={"physical_cards": {0: "p0"}})
    found = Found("a", "DEBIT", (("o1", "VIRTUAL"), ("o2", "PHYSICAL"), ("p0", "PHYSICAL"), ("p1", "PHYSICAL")))
    planned = [("virtual_cards", "VIRTUAL", 1), ("physical_cards", "PHYSICAL", 3)]
    records = adopt_cards(account, ("debit_card_accounts", 0), planned, found)
    assert records == [{"made": "card", "id": "p1", "at": ["debit_card_accounts", 0, "physical_cards", 1]}]
    assert account.cards == {"physical_cards": {0: "p0", 1: "p1"}}  # the virtual card and the third: made anew


def test_operations_fill_their_own_type_in_order_and_never_a_made_place() -> None:
    account = PartialAccount("a", [], operations={0: "t0"})
    planned = [("top_up_operations", "TOP_UP"), ("top_up_operations", "TOP_UP"), ("purchase_operations", "PURCHASE")]
    assert missing_operations(account, [field for field, _ in planned])
    found = [("t0", "TOP_UP"), ("x", "TRANSFER"), ("t1", "TOP_UP"), ("t2", "TOP_UP")]
    records = adopt_operations(account, ("debit_card_accounts", 0), planned, found)
    assert records == [{"made": "operation", "id": "t1", "at": ["debit_card_accounts", 0, 1]}]
    assert account.operations == {0: "t0", 1: "t1"}  # the purchase was never made: the resume makes it
    assert missing_operations(account, [field for field, _ in planned])


def test_operations_from_a_user_line_count_as_made() -> None:
    account = PartialAccount("a", [], by_field={"top_up_operations": ["t0", "t1"]})
    planned = [("top_up_operations", "TOP_UP"), ("top_up_operations", "TOP_UP")]
    assert not missing_operations(account, [field for field, _ in planned])
    assert adopt_operations(account, ("d", 0), planned, [("t0", "TOP_UP"), ("t1", "TOP_UP"), ("t9", "TOP_UP")]) == []
