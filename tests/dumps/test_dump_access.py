"""The course's ways to reach users keep working on a lazily opened dump (and on the other layouts)."""

from __future__ import annotations

import copy
import pickle
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seeding import SeedsExhaustedError, SeedsResult, open_dump, write_dump


def test_len_iteration_and_indices(any_dump: Path, reference: Callable[[Path], list[Any]]) -> None:
    expected = reference(any_dump)
    users = open_dump(any_dump).users
    assert len(users) == 5
    assert list(users) == list(users) == expected  # iterating twice gives the same users again
    assert users[-1] == expected[-1] and users[-5] == expected[0]
    for bad in (5, -6, 10**9):
        with pytest.raises(IndexError):
            users[bad]


@pytest.mark.parametrize("part", [slice(None), slice(1, 3), slice(None, None, -1), slice(-2, None), slice(0, 5, 2)])
def test_slices(any_dump: Path, reference: Callable[[Path], list[Any]], part: slice) -> None:
    assert list(open_dump(any_dump).users[part]) == reference(any_dump)[part]


def test_course_attribute_names_reach_cards_and_operations(ours: Path, users5: list[dict[str, Any]]) -> None:
    user = open_dump(ours).users[3]
    account = user.credit_card_accounts[0]
    assert user.user_id == users5[3]["user_id"]
    assert account.virtual_cards[0].card_id == users5[3]["credit_card_accounts"][0]["virtual_cards"][0]["card_id"]
    assert (
        account.cash_withdrawal_operations[0].operation_id
        == (users5[3]["credit_card_accounts"][0]["cash_withdrawal_operations"][0]["operation_id"])
    )
    assert user.deposit_accounts == [] and account.fee_operations == []


def test_get_next_user_hands_out_users_in_order_then_names_the_file(
    any_dump: Path, reference: Callable[[Path], list[Any]]
) -> None:
    seeds = open_dump(any_dump)
    assert [seeds.get_next_user() for _ in range(5)] == reference(any_dump)
    with pytest.raises(SeedsExhaustedError, match=r"all 5 seeded users") as caught:
        seeds.get_next_user()
    assert str(any_dump) in str(caught.value)
    assert isinstance(caught.value, IndexError)  # what the course's list.pop(0) raised
    assert len(seeds.users) == 5  # unlike the course's pop, by-index access stays valid


def test_get_random_user_and_get_user(any_dump: Path, reference: Callable[[Path], list[Any]]) -> None:
    seeds = open_dump(any_dump)
    expected = reference(any_dump)
    seeds._random = random.Random(7)
    picked = [seeds.get_random_user() for _ in range(30)]
    assert all(user in expected for user in picked)
    assert len({user.user_id for user in picked}) > 1
    assert seeds.get_user(4) == expected[4]
    for bad in (5, -1):
        with pytest.raises(SeedsExhaustedError, match=r"has 5 seeded users") as caught:
            seeds.get_user(bad)
        assert str(any_dump) in str(caught.value)


def test_an_empty_dump_opens_and_says_so(tmp_path: Path) -> None:
    path = write_dump(tmp_path / "empty_seeds.json", {"counts": {"users": 0}}, [])
    seeds = open_dump(path)
    assert len(seeds.users) == 0 and list(seeds.users) == []
    with pytest.raises(SeedsExhaustedError, match=r"empty_seeds\.json"):
        seeds.get_next_user()
    with pytest.raises(SeedsExhaustedError, match=r"empty_seeds\.json"):
        seeds.get_random_user()


def test_copies_share_the_file_and_pickles_reopen_it(ours: Path, reference: Callable[[Path], list[Any]]) -> None:
    seeds = open_dump(ours)
    assert copy.deepcopy(seeds).users is seeds.users and copy.copy(seeds.users) is seeds.users
    again = pickle.loads(pickle.dumps(seeds))
    assert again.users is not seeds.users and list(again.users) == reference(ours)


def test_model_dump_serialises_lazy_users_like_a_list(ours: Path, reference: Callable[[Path], list[Any]]) -> None:
    dumped = open_dump(ours).model_dump()
    assert SeedsResult.model_validate(dumped).users == reference(ours)
