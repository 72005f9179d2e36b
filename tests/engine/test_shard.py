"""The fixed split of a plan into shards, and where a run's shard comes from (flag, setting, Indexed Job)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from seeding.engine._shards import Shard, default_seed, parse_shard, resolve_shard


@pytest.mark.parametrize("users", [0, 1, 2, 7, 10, 1000, 1_000_003])
@pytest.mark.parametrize("count", [1, 2, 3, 8, 32])
def test_the_shards_cover_every_plan_index_once_in_order(users: int, count: int) -> None:
    spans = [Shard(index, count).indices(users) for index in range(1, count + 1)]
    assert spans[0].start == 0 and spans[-1].stop == users
    for before, after in itertools.pairwise(spans):
        assert before.stop == after.start  # contiguous: nothing missing, nothing twice
    sizes = [len(span) for span in spans]
    assert max(sizes) - min(sizes) <= 1


def test_a_shard_is_one_based_and_named_in_its_file() -> None:
    shard = parse_shard(" 2 / 4 ")
    assert shard == Shard(2, 4) and str(shard) == "2/4"
    assert shard.indices(10) == range(2, 5)
    path = shard.dump_path(Path("dumps/x_seeds.json"))
    assert path == Path("dumps/x_seeds.shard-2-of-4.json")
    assert Shard.of_file(path) == shard
    assert Shard.of_file(Path("dumps/x_seeds.json")) is None
    assert shard.meta(10) == {"index": 2, "count": 4, "users": 10, "start": 2, "stop": 5}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0/3", "within 1-3"),
        ("4/3", "within 1-3"),
        ("1/0", "count must be within"),
        ("1/20000", "count must be within"),
        ("2", "is not I/N"),
        ("a/b", "is not I/N"),
        ("-1/3", "is not I/N"),
        ("", "is not I/N"),
    ],
)
def test_bad_shards_are_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_shard(text)


def test_where_the_shard_comes_from_first_wins() -> None:
    job = {"JOB_COMPLETION_INDEX": "0"}
    assert resolve_shard(Shard(1, 2), 5, "3/3", job) == Shard(1, 2)  # the flag
    assert resolve_shard(None, 5, "3/3", job) == Shard(3, 3)  # SEEDING_SHARD
    assert resolve_shard(None, 5, None, job) == Shard(1, 5)  # JOB_COMPLETION_INDEX is 0-based
    assert resolve_shard(None, 5, None, {"JOB_COMPLETION_INDEX": "4"}) == Shard(5, 5)
    assert resolve_shard(None, None, None, job) is None  # no count: not a sharded run
    assert resolve_shard(None, 5, None, {}) is None


@pytest.mark.parametrize(
    ("setting", "index", "says"),
    [
        ("9/3", None, "SEEDING_SHARD"),
        (None, "5", "JOB_COMPLETION_INDEX=5 is out of range for 3 shards"),
        (None, "abc", "JOB_COMPLETION_INDEX: 'abc' is not a whole number"),
        (None, "-1", "JOB_COMPLETION_INDEX"),
    ],
)
def test_bad_shard_settings_name_their_variable(setting: str | None, index: str | None, says: str) -> None:
    environ = {} if index is None else {"JOB_COMPLETION_INDEX": index}
    with pytest.raises(ValueError, match=says):
        resolve_shard(None, 3, setting, environ)


def test_shards_without_a_seed_agree_on_one_from_the_plan_hash() -> None:
    assert default_seed("1509728736643d6a") == default_seed("1509728736643d6a")
    assert default_seed("1509728736643d6a") != default_seed("ffff728736643d6a")
    assert 0 <= default_seed("ffffffffffffffff") < 2**31
