"""Seeding a plan with profiles and drawn counts on the stand: every drawn count is on the gateway."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import seeding
from seeding import SeedsResult, read_meta
from seeding.gateway import Transport
from seeding.plan._models import SeedsPlan, parse_plan
from seeding.plan._shapes import Shapes
from seeding.stand import Stand

MIX = """\
scenario: mix
users:
  count: 20
  profiles:
    - name: light
      share: 3
      debit_card_accounts:
        count: 1
        top_up_operations: {min: 0, max: 2}
        physical_cards: {weights: {0: 2, 1: 1}}
    - name: heavy
      share: 1
      credit_card_accounts:
        count: {weights: {1: 50, 2: 50}}
        purchase_operations:
          count: {zipf: 1.1, min: 1, max: 12}
          amount: {min: 10, max: 9000, median: 300}
"""


def shape_of_dump(seeds: SeedsResult, stand: Stand) -> list[tuple[str | None, list[tuple[str, int, int]]]]:
    """Per user: its profile and, per account, (kind, cards issued, operations), all checked on the stand."""
    bank = stand.bank
    found = []
    for user in seeds.users:
        assert user.user_id in bank.users
        accounts = []
        for field in ("deposit_accounts", "savings_accounts", "debit_card_accounts", "credit_card_accounts"):
            for account in getattr(user, field):
                row = bank.accounts[account.account_id]
                assert row.user_id == user.user_id
                issued = [c.card_id for c in account.physical_cards + account.virtual_cards]
                operations = [o.operation_id for o in account.top_up_operations + account.purchase_operations]
                assert {c.id for c in row.cards} >= set(issued)
                assert all(bank.operations[o].account_id == account.account_id for o in operations)
                assert len(bank.get_operations(account.account_id)) == len(operations)
                accounts.append((field, len(issued), len(operations)))
        found.append((user.profile, accounts))
    return found


def planned(plan: SeedsPlan, seed: int) -> list[tuple[str | None, list[tuple[str, int, int]]]]:
    shapes = Shapes(plan, seed)
    result = []
    for index in range(plan.users.count):
        shape = shapes[index]
        accounts = [
            (field, account.cards_per_account, account.operations_per_account)
            for field, _, plans in shape.accounts
            for account in plans
        ]
        result.append((shape.profile, accounts))
    return result


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_a_two_profile_plan_seeds_every_drawn_count(stand: Stand, tmp_path: Path, transport: Transport) -> None:
    plan = parse_plan(MIX)
    first = await seeding.build_seeds(
        plan, transport=transport, target=stand.target(transport), dumps_dir=tmp_path / "a", seed=9
    )
    expected = planned(plan, 9)
    assert shape_of_dump(first, stand) == expected
    assert Counter(profile for profile, _ in expected) == {"light": 15, "heavy": 5}
    # the draws are not all alike: the distributions took more than one value
    purchases = {ops for profile, accounts in expected if profile == "heavy" for _, _, ops in accounts}
    assert len(purchases) > 1
    # amounts with a median stay in range
    heavy_ops = [
        stand.bank.operations[o.operation_id].amount
        for user in first.users_of("heavy").users
        for account in user.credit_card_accounts
        for o in account.purchase_operations
    ]
    assert heavy_ops and all(10 <= abs(a) <= 9000 for a in heavy_ops)
    meta = read_meta(tmp_path / "a" / "mix_seeds.json")
    assert meta is not None and meta["profiles"] == {"light": 15, "heavy": 5}
    assert meta["counts"] == {
        "users": 20,
        "accounts": sum(len(a) for _, a in expected),
        "cards": sum(c for _, a in expected for _, c, _ in a),
        "operations": sum(o for _, a in expected for _, _, o in a),
    }
    # reproducible: the same seed, the same counts per index
    again = await seeding.build_seeds(
        plan, transport=transport, target=stand.target(transport), dumps_dir=tmp_path / "b", seed=9
    )
    assert shape_of_dump(again, stand) == expected
    assert [u.profile for u in first.users_of("light").users] == ["light"] * 15
    assert first.users_of("heavy").profile_indices("heavy") == list(range(5))
    assert first.profile_indices("heavy") == [i for i, (p, _) in enumerate(expected) if p == "heavy"]
    with pytest.raises(ValueError, match="no user has the profile 'medium' \\(profiles: heavy, light\\)"):
        first.users_of("medium")
