"""Plans: the course's Python construction, YAML/JSON files, and one-line errors for bad plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from seeding import (
    PlanError,
    SeedAccountsPlan,
    SeedCardsPlan,
    SeedOperationsPlan,
    SeedsPlan,
    SeedUsersPlan,
    load_plan,
    parse_plan,
)
from seeding.gateway import OperationStatus

PLANS_DIR = Path(__file__).resolve().parents[2] / "plans"


def test_scenario_11_2_is_the_course_plan() -> None:
    plan = load_plan(PLANS_DIR / "scenario-11-2.yaml")
    assert plan.scenario == "scenario-11-2"
    assert plan.totals() == {"users": 10, "accounts": 20, "cards": 40, "operations": 80}
    for field in ("debit_card_accounts", "credit_card_accounts"):
        account = getattr(plan.users, field)
        assert account.count == 1
        assert account.physical_cards.count == account.virtual_cards.count == 1
        counts = {name: ops.count for name, _, ops in account.operations()}
        assert counts == {
            "top_up_operations": 1,
            "purchase_operations": 1,
            "transfer_operations": 1,
            "cash_withdrawal_operations": 1,
            "fee_operations": 0,
            "cashback_operations": 0,
            "bill_payment_operations": 0,
        }
    assert plan.operations.status is OperationStatus.COMPLETED


@pytest.mark.parametrize("path", sorted(PLANS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_plan_is_valid(path: Path) -> None:
    plan = load_plan(path)
    assert plan.scenario == path.stem
    assert plan.users.count > 0


def test_get_operations_plan_matches_the_issue() -> None:
    plan = load_plan(PLANS_DIR / "get-operations.yaml")
    credit = plan.users.credit_card_accounts
    assert plan.users.count == 300 and credit.count == 1
    assert (credit.purchase_operations.count, credit.top_up_operations.count) == (5, 1)
    assert credit.cash_withdrawal_operations.count == 1


def test_the_course_python_construction_still_works() -> None:
    plan = SeedsPlan(
        users=SeedUsersPlan(
            count=3,
            credit_card_accounts=SeedAccountsPlan(
                count=2,
                physical_cards=SeedCardsPlan(count=1),
                purchase_operations=SeedOperationsPlan(count=5),
            ),
        )
    )
    assert plan.totals() == {"users": 3, "accounts": 6, "cards": 6, "operations": 30}
    assert plan.users.entities_per_user == 1 + 2 * (1 + 1 + 5)


def test_bare_numbers_are_counts_and_yaml_equals_json() -> None:
    yaml_plan = parse_plan("users:\n  count: 2\n  debit_card_accounts:\n    count: 1\n    top_up_operations: 3\n")
    json_plan = parse_plan(
        '{"users": {"count": 2, "debit_card_accounts": {"count": 1, "top_up_operations": {"count": 3}}}}',
        source="x.json",
    )
    assert yaml_plan.users.debit_card_accounts.top_up_operations.count == 3
    assert yaml_plan.hash == json_plan.hash  # the hash is of what the plan creates, not its spelling
    assert yaml_plan.hash != parse_plan("users: {count: 3}").hash


def test_scenario_defaults_to_the_file_stem_and_can_be_set(tmp_path: Path) -> None:
    path = tmp_path / "nightly.yaml"
    path.write_text("users: 1\n")
    assert load_plan(path).scenario == "nightly"
    path.write_text("scenario: other\nusers: 1\n")
    assert load_plan(path).scenario == "other"


BAD_PLANS = [
    # (plan text, what the one-line error must say)
    ("users:\n  count: -1\n", "x.yaml:2: users.count: input should be greater than or equal to 0"),
    (
        "users:\n  debit_card_accounts:\n    top_up_operation: 1\n",
        "x.yaml:3: users.debit_card_accounts.top_up_operation: unknown field (did you mean 'top_up_operations'?)",
    ),
    ("userz:\n  count: 1\n", "x.yaml:1: userz: unknown field (did you mean 'users'?)"),
    (
        "users:\n  count: 1\n  deposit_accounts:\n    count: 1\n    purchase_operations: 2\n",
        "x.yaml:5: users.deposit_accounts.purchase_operations: deposit accounts have no cards",
    ),
    (
        "users:\n  savings_accounts:\n    count: 1\n    virtual_cards: 1\n",
        "x.yaml:4: users.savings_accounts.virtual_cards: savings accounts have no cards",
    ),
    ("users:\n  count: [1,\n", "x.yaml:3: invalid YAML"),
    ("users: {count: 1}\n\tbad: tab\n", "x.yaml:2: invalid YAML"),
    ("", "x.yaml: the plan is empty"),
    ("- 1\n- 2\n", "x.yaml: a plan is a mapping"),
    ("operations:\n  amount: {min: 50, max: 10}\n", "x.yaml:2: operations.amount: min (50.0) is greater than max"),
    (
        "operations:\n  status: DONE\n",
        "x.yaml:2: operations.status: input should be 'UNSPECIFIED', 'IN_PROGRESS', 'COMPLETED'",
    ),
    ("operations:\n  card: second\n", "x.yaml:2: operations.card: input should be 'first' or 'round_robin'"),
    ("scenario: ../etc\nusers: 1\n", "x.yaml:1: scenario: '../etc' is not a plain file name"),
    ("users:\n  count: many\n", "x.yaml:2: users.count: input should be a valid integer"),
    # a key twice: PyYAML kept the last one without a word (10 meant, 20 seeded)
    ("users:\n  count: 10\n  count: 20\n", "x.yaml:3: invalid YAML: 'count' is given twice"),
    ("users:\n  debit_card_accounts: {count: 1, count: 2}\n", "x.yaml:2: invalid YAML: 'count' is given twice"),
]


def test_a_merge_key_may_be_overridden() -> None:
    # ``<<: *anchor`` brings keys in that the mapping may set again: not a key given twice.
    text = "users:\n  count: 4\n  profiles:\n    - &a {name: a, share: 1, debit_card_accounts: 1}\n"
    plan = parse_plan(text + "    - <<: *a\n      name: b\n      share: 3\n", source="plans/x.yaml")
    assert [(p.name, p.share) for p in plan.users.profiles or []] == [("a", 1), ("b", 3)]


@pytest.mark.parametrize(("text", "expected"), BAD_PLANS)
def test_bad_plans_give_one_line_naming_file_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plans/x.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("plans/")
    assert expected in message


def test_bad_json_plan_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{\n  "users": {\n    "count": 1\n    "deposit_accounts": 1\n  }\n}\n')  # missing comma
    with pytest.raises(PlanError, match=r"p\.json:4: invalid JSON"):
        load_plan(path)


def test_missing_plan_file(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"nope\.yaml: no such plan file"):
        load_plan(tmp_path / "nope.yaml")


def test_several_errors_stay_on_one_line() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan("users:\n  count: -1\n  debit_card_accounts: {count: -2}\n", source="x.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert "users.count" in message and "users.debit_card_accounts.count" in message
