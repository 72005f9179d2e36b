"""The checks that stop a run at test start, and the names a scenario may require."""

from __future__ import annotations

import pytest

from seeding import SeedsResult
from seeding.dumps._exhaustion import WhenEmpty
from seeding.locust import capacity_problem, requirements_problem, validate_requirements

USER = {
    "user_id": "u1",
    "debit_card_accounts": [{"account_id": "a1", "physical_cards": [{"card_id": "c1"}]}],
}


def test_requirement_names_are_checked_at_import_with_a_suggestion():
    assert validate_requirements(["debit_card_accounts", "credit_card_accounts.purchase_operations"]) == (
        "debit_card_accounts",
        "credit_card_accounts.purchase_operations",
    )
    with pytest.raises(ValueError, match="did you mean 'credit_card_accounts'"):
        validate_requirements(["credit_card_account"])
    with pytest.raises(ValueError, match="did you mean 'physical_cards'"):
        validate_requirements(["debit_card_accounts.phisical_cards"])


def test_requirements_met_and_missing():
    seeds = SeedsResult.model_validate({"users": [USER]})
    assert requirements_problem("d.json", seeds, ["debit_card_accounts.physical_cards"]) is None
    missing_kind = requirements_problem("d.json", seeds, ["credit_card_accounts"])
    assert missing_kind is not None and missing_kind.startswith("d.json: the scenario requires credit_card_accounts")
    missing_part = requirements_problem("d.json", seeds, ["debit_card_accounts.virtual_cards"])
    assert missing_part is not None and "users.debit_card_accounts.virtual_cards.count >= 1" in missing_part
    assert requirements_problem("d.json", SeedsResult(), []) == "d.json: holds no seeded users"


@pytest.mark.parametrize(
    ("strategy", "seeds", "users", "fails"),
    [
        ("unique", 10, 10, False),
        ("unique", 10, 11, True),
        ("shuffle", 10, 11, True),
        ("cycle", 10, 1000, False),
        ("random", 1, 1000, False),
        ("cycle", 0, 1, True),
    ],
)
def test_capacity(strategy, seeds, users, fails):
    problem = capacity_problem("d.json", strategy, seeds=seeds, users=users)
    assert (problem is not None) == fails
    if fails and seeds:
        assert f"holds {seeds} seeded users but the run asks for {users} virtual users" in problem


@pytest.mark.parametrize(("policy", "fails"), [("stop", True), ("wait:5", False), ("cycle", False), ("warn", False)])
def test_a_when_empty_policy_lets_more_virtual_users_than_seeded_users_start(policy: str, fails: bool) -> None:
    problem = capacity_problem("d.json", "unique", seeds=10, users=11, when_empty=WhenEmpty.parse(policy))
    assert (problem is not None) == fails
    if fails:
        assert "--seeds-when-empty wait:SECONDS|cycle|warn" in problem
    assert capacity_problem("d.json", "cycle", seeds=0, users=1, when_empty=WhenEmpty.parse(policy))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("stop", WhenEmpty("stop")), ("wait:2.5", WhenEmpty("wait", 2.5)), (" cycle ", WhenEmpty("cycle"))],
)
def test_when_empty_parses_and_prints_back(text: str, expected: WhenEmpty) -> None:
    assert WhenEmpty.parse(text) == expected and WhenEmpty.parse(str(expected)) == expected
