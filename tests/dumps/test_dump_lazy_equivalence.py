"""A lazily opened dump is the same data as a full parse, whatever wrote the file."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings, strategies as st

from seeding import SeedsResult, open_dump, write_dump
from seeding.dumps._files import LazyUsers

_ID = st.text(min_size=1, max_size=12)  # any text: quotes, backslashes, braces, non-ASCII
_ACCOUNT_KINDS = ("deposit_accounts", "savings_accounts", "debit_card_accounts", "credit_card_accounts")
_OPERATION_KINDS = (
    "top_up_operations",
    "purchase_operations",
    "transfer_operations",
    "cash_withdrawal_operations",
    "fee_operations",
    "cashback_operations",
    "bill_payment_operations",
)


def _items(key: str) -> st.SearchStrategy[list[dict[str, str]]]:
    return st.lists(st.builds(lambda value: {key: value}, _ID), max_size=2)


_account = st.fixed_dictionaries(
    {"account_id": _ID},
    optional={
        "physical_cards": _items("card_id"),
        "virtual_cards": _items("card_id"),
        **{kind: _items("operation_id") for kind in _OPERATION_KINDS},
    },
)
_user = st.fixed_dictionaries(
    {"user_id": _ID}, optional={kind: st.lists(_account, max_size=2) for kind in _ACCOUNT_KINDS}
)
_users = st.lists(_user, max_size=8)


def _three_ways(path: Path, reference: Callable[[Path], list[Any]]) -> None:
    lazy = open_dump(path)
    eager = open_dump(path, lazy=False)
    expected = reference(path)
    assert len(lazy.users) == len(eager.users) == len(expected)
    assert list(lazy.users) == list(eager.users) == expected
    assert [lazy.users[i] for i in range(len(expected))] == expected


def test_our_dump_lazily_equals_a_full_parse(ours: Path, reference: Callable[[Path], list[Any]]) -> None:
    assert isinstance(open_dump(ours).users, LazyUsers)
    _three_ways(ours, reference)


def test_a_course_made_dump_is_indexed_and_equals_a_full_parse(
    course_dump: Path, reference: Callable[[Path], list[Any]]
) -> None:
    assert isinstance(open_dump(course_dump).users, LazyUsers)
    _three_ways(course_dump, reference)


def test_a_pretty_printed_dump_is_parsed_whole_and_equals_a_full_parse(
    pretty_dump: Path, reference: Callable[[Path], list[Any]]
) -> None:
    assert isinstance(open_dump(pretty_dump).users, list)
    _three_ways(pretty_dump, reference)


def test_the_course_models_read_the_same_users_from_our_layout(ours: Path, course_dump: Path, course: Any) -> None:
    from_ours = course.SeedsResult.model_validate_json(ours.read_text())
    from_course = course.SeedsResult.model_validate_json(course_dump.read_text())
    assert from_ours == from_course
    with open(ours) as file:
        assert [user["user_id"] for user in json.load(file)["users"]] == [u.user_id for u in open_dump(ours).users]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(users=_users)
def test_any_shape_reads_the_same_in_every_layout(
    users: list[dict[str, Any]], reference: Callable[[Path], list[Any]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours = write_dump(Path(tmp) / "ours.json", {"counts": {"users": len(users)}}, users)
        single_line = Path(tmp) / "single.json"
        single_line.write_text(SeedsResult.model_validate({"users": users}).model_dump_json())
        pretty = Path(tmp) / "pretty.json"
        pretty.write_bytes(orjson.dumps({"users": users}, option=orjson.OPT_INDENT_2))
        expected = SeedsResult.model_validate({"users": users}).users
        for path in (ours, single_line, pretty):
            _three_ways(path, reference)
            assert list(open_dump(path).users) == list(expected)
        assert isinstance(open_dump(ours).users, LazyUsers)
        assert isinstance(open_dump(single_line).users, LazyUsers)
