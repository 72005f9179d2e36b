"""Counts drawn from distributions, user profiles and their schedule: the plan side (no gateway)."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest

from seeding import PlanError, SeedsPlan, SeedUsersPlan
from seeding.plan._distributions import Uniform, Weighted, Zipf
from seeding.plan._models import parse_plan
from seeding.plan._profiles import ProfileSchedule
from seeding.plan._shapes import Shapes

ROOT = Path(__file__).resolve().parents[2]

MIX = """\
users:
  count: 40
  profiles:
    - name: light
      share: 9
      debit_card_accounts:
        count: 1
        top_up_operations: {min: 0, max: 3}
    - name: heavy
      share: 1
      credit_card_accounts:
        count: {weights: {1: 50, 2: 50}}
        virtual_cards: {weights: {0: 1, 1: 1}}
        purchase_operations:
          count: {zipf: 1.2, min: 1, max: 40}
          amount: {min: 10, max: 9000, median: 300}
"""


def test_every_existing_form_keeps_its_meaning_and_its_hash() -> None:
    course = SeedsPlan(users=SeedUsersPlan(count=3))
    assert "profiles" not in course.model_dump()["users"]
    assert "median" not in course.model_dump()["operations"]["amount"]
    text = "users:\n  count: 2\n  credit_card_accounts:\n    count: 1\n    purchase_operations: 5\n"
    plan = parse_plan(text)
    assert not plan.users.drawn and plan.totals() == {"users": 2, "accounts": 2, "cards": 0, "operations": 10}
    # The hash of a fixed plan is that of its dump without the new keys, as it always was.
    assert plan.hash == parse_plan(plan.model_dump_json(), source="p.json").hash


def test_a_profile_plan_round_trips_through_json_and_with_users() -> None:
    plan = parse_plan(MIX)
    again = parse_plan(plan.model_dump_json(), source="p.json")
    assert again == plan and again.hash == plan.hash
    assert plan.with_users(80).users.profile_names == ["light", "heavy"]
    assert plan.hash != parse_plan(MIX.replace("max: 40", "max: 41")).hash  # the shape is in the hash


def test_a_node_that_is_only_a_distribution_is_its_count() -> None:
    short = parse_plan("users:\n  debit_card_accounts:\n    count: 1\n    top_up_operations: {min: 1, max: 2}\n")
    assert short.users.debit_card_accounts.top_up_operations.count == Uniform(min=1, max=2)


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (Uniform(min=2, max=5), {2: 0.25, 3: 0.25, 4: 0.25, 5: 0.25}),
        (Weighted(weights={0: 50, 1: 30, 5: 20}), {0: 0.5, 1: 0.3, 5: 0.2}),
        (Zipf(zipf=1.0, min=1, max=3), {1: 6 / 11, 2: 3 / 11, 3: 2 / 11}),
    ],
)
def test_draws_follow_each_form(count: Uniform | Weighted | Zipf, expected: dict[int, float]) -> None:
    assert {k: round(p, 9) for k, p in count.pmf()} == {k: round(p, 9) for k, p in expected.items()}
    rng = random.Random(7)
    draws = 20_000
    seen = Counter(count.draw(rng) for _ in range(draws))
    assert set(seen) == set(expected)
    # chi-square against the stated probabilities, fixed seed: well under the 0.1 % critical value
    chi2 = sum((seen[k] - draws * p) ** 2 / (draws * p) for k, p in expected.items())
    assert chi2 < 16.3, (seen, chi2)


def test_zipf_rank_frequency_has_the_exponents_slope() -> None:
    count = Zipf(zipf=1.5, min=0, max=50)
    rng = random.Random(11)
    seen = Counter(count.draw(rng) for _ in range(50_000))
    ranks = [1, 2, 4, 8]
    slope = (math.log(seen[7]) - math.log(seen[0])) / (math.log(8) - math.log(1))
    assert all(seen[r - 1] > seen[2 * r - 1] for r in ranks)
    assert slope == pytest.approx(-1.5, abs=0.1)


@pytest.mark.parametrize(
    "shares",
    [[9, 1], [1, 1, 1], [5, 3, 2], [0.7, 0.2, 0.1], [50, 30, 15, 4, 1], [1, 2, 3, 4, 5, 6, 7]],
)
def test_every_prefix_holds_each_profiles_share_within_one(shares: list[float]) -> None:
    schedule = ProfileSchedule(shares)
    total = sum(shares)
    counts = [0] * len(shares)
    for n in range(1, 3001):
        counts[schedule[n - 1]] += 1
        for j, share in enumerate(shares):
            assert abs(counts[j] - n * share / total) < 1, (n, j, counts)
    assert schedule.counts(3000) == counts
    assert schedule.counts(3000, start=1000) == [c - f for c, f in zip(counts, schedule.counts(1000), strict=True)]


def test_a_users_shape_depends_on_the_seed_and_its_index_alone() -> None:
    plan = parse_plan(MIX)
    first, again, other = Shapes(plan, 5), Shapes(plan, 5), Shapes(plan, 6)
    backwards = [again[i] for i in reversed(range(40))][::-1]  # another order: the same shapes
    assert [first[i] for i in range(40)] == backwards
    assert [first[i] for i in range(40)] != [other[i] for i in range(40)]
    grown = Shapes(plan.with_users(400), 5)
    assert [grown[i] for i in range(40)] == backwards
    assert Counter(first[i].profile for i in range(40)) == {"light": 36, "heavy": 4}
    assert first.profile_counts(40) == {"light": 36, "heavy": 4}
    heavy = [first[i] for i in range(40) if first[i].profile == "heavy"]
    purchases = {acc.purchase_operations.count for s in heavy for _, _, accs in s.accounts for acc in accs}
    assert purchases and all(1 <= n <= 40 for n in purchases)


BAD = [
    # (plan text, what the one-line error must say)
    (
        "users:\n  debit_card_accounts:\n    count: 1\n    top_up_operations: {min: 5, max: 2}\n",
        "x.yaml:4: users.debit_card_accounts.top_up_operations.count.max: min (5) is greater than max (2)",
    ),
    (
        "users:\n  debit_card_accounts:\n    count: {min: -1, max: 2}\n",
        "x.yaml:3: users.debit_card_accounts.count.min: a count cannot be negative (-1)",
    ),
    (
        "users:\n  debit_card_accounts:\n    count: -2\n",
        "x.yaml:3: users.debit_card_accounts.count: a count cannot be negative (-2)",
    ),
    (
        "users:\n  debit_card_accounts:\n    count: {weights: {0: 0, 1: 0}}\n",
        "x.yaml:3: users.debit_card_accounts.count.weights: the weights sum to 0",
    ),
    (
        "users:\n  debit_card_accounts:\n    count: {weights: {1: -3}}\n",
        "x.yaml:3: users.debit_card_accounts.count.weights: the weight of 1 must be a number from 0 to 1e+12",
    ),
    (  # summed, they were infinity: every draw gave the last count
        "users:\n  debit_card_accounts:\n    count: {weights: {0: 1e308, 1: 1e308, 2: 1e308}}\n",
        "x.yaml:3: users.debit_card_accounts.count.weights: the weight of 0 must be a number from 0 to 1e+12",
    ),
    (
        "users:\n  credit_card_accounts:\n    count: 1\n    purchase_operations: {zipf: 0, max: 9}\n",
        "x.yaml:4: users.credit_card_accounts.purchase_operations.count.zipf: the exponent must be greater than 0",
    ),
    (
        "users:\n  credit_card_accounts:\n    count: 1\n    purchase_operations: {zipf: -1.5, max: 9}\n",
        "purchase_operations.count.zipf: the exponent must be greater than 0, not -1.5",
    ),
    (
        "users:\n  credit_card_accounts:\n    count: {zipf: 1.1}\n",
        "x.yaml:3: users.credit_card_accounts.count.max: field required",
    ),
    (
        "users:\n  credit_card_accounts:\n    count: {min: 1, max: 2, mode: 1}\n",
        "x.yaml:3: users.credit_card_accounts.count: a count is a number, {min, max}, {weights",
    ),
    (
        "users:\n  credit_card_accounts:\n    count: {max: 2000000}\n",
        "x.yaml:3: users.credit_card_accounts.count.max: at most 1,000,000 per draw",
    ),
    (
        "operations:\n  amount: {min: 10, max: 100, median: 500}\n",
        "x.yaml:2: operations.amount.median: 500.0 is outside min-max (10.0-100.0)",
    ),
    (
        "operations:\n  amount: {min: 10, max: 100, median: -5}\n",
        "x.yaml:2: operations.amount.median: input should be greater than 0",
    ),
    (
        "users:\n  count: 2\n  profiles:\n    - {name: a, share: 1}\n    - name: b\n      share: 0\n",
        "x.yaml:6: users.profiles.1.share: input should be greater than 0",
    ),
    (  # summed, they were infinity: a traceback in the schedule
        "users:\n  count: 2\n  profiles:\n    - {name: a, share: 1e308}\n    - {name: b, share: 1e308}\n",
        "x.yaml:4: users.profiles.0.share: input should be less than or equal to 1000000000",
    ),
    (
        "users:\n  count: 2\n  profiles:\n    - {name: a, share: 1}\n    - {name: a, share: 2}\n",
        "users.profiles.1.name: 'a' names two profiles",
    ),
    (
        "users:\n  count: 2\n  profiles:\n    - {name: 'heavy users', share: 1}\n",
        "x.yaml:4: users.profiles.0.name: 'heavy users' is not a plain name",
    ),
    (
        "users:\n  count: 2\n  profiles: []\n",
        "x.yaml:3: users.profiles: list at least one profile",
    ),
    (
        "users:\n  count: 2\n  debit_card_accounts: 1\n  profiles:\n    - {name: a, share: 1}\n",
        "x.yaml:3: users.debit_card_accounts: with profiles, the accounts go inside each profile",
    ),
    (
        "users:\n  profiles:\n    - name: a\n      share: 1\n      savings_accounts: {count: 1, virtual_cards: 1}\n",
        "x.yaml:5: users.profiles.0.savings_accounts.virtual_cards: savings accounts have no cards",
    ),
    (
        "users:\n  profiles:\n    - name: a\n      share: 1\n      debit_card_acounts: 1\n",
        "x.yaml:5: users.profiles.0.debit_card_acounts: unknown field (did you mean 'debit_card_accounts'?)",
    ),
    (
        "users:\n  profiles:\n    - {share: 1}\n",
        "x.yaml:3: users.profiles.0.name: field required",
    ),
    # true/false is never a plan's number: pydantic read each of these as 1 or 0
    ("users:\n  count: true\n", "x.yaml:2: users.count: true is not a value here (no plan field is yes/no)"),
    ("users:\n  count: 2\n  debit_card_accounts: true\n", "x.yaml:3: users.debit_card_accounts: true is not"),
    ("users:\n  debit_card_accounts:\n    count: false\n", "x.yaml:3: users.debit_card_accounts.count: false is"),
    ("users:\n  debit_card_accounts:\n    count: {min: true, max: 3}\n", "debit_card_accounts.count.min: true is"),
    ("users:\n  debit_card_accounts:\n    count: {zipf: true, max: 3}\n", "debit_card_accounts.count.zipf: true is"),
    ("users:\n  debit_card_accounts:\n    count: {weights: {0: true}}\n", "count.weights: counts and weights are"),
    ("users:\n  debit_card_accounts:\n    count: {weights: {true: 3}}\n", "count.weights: counts and weights are"),
    ("users:\n  count: 2\n  profiles:\n    - {name: a, share: true}\n", "x.yaml:4: users.profiles.0.share: true is"),
    ("operations:\n  amount: {min: true, max: 100}\n", "x.yaml:2: operations.amount.min: true is not a value here"),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_distributions_and_profiles_give_one_line_naming_file_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plans/x.yaml")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("plans/")
    assert expected in message, message
