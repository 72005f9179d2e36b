"""Dumps are written streaming and atomically, and read back by our loader and the course's alike."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from seeding import (
    DumpWriter,
    SeedsResult,
    dump_path,
    load_seeds_result,
    open_dump,
    read_meta,
    save_seeds_result,
    write_dump,
)


class Boom(Exception):
    pass


def test_an_error_inside_the_writer_leaves_no_file_and_no_temporary(tmp_path: Path, users5: list[dict]) -> None:
    path = tmp_path / "s_seeds.json"
    with pytest.raises(Boom), DumpWriter(path, {"scenario": "s"}) as writer:
        writer.write(users5[0])
        raise Boom
    assert list(tmp_path.iterdir()) == []


def test_an_error_inside_the_writer_leaves_an_existing_dump_untouched(ours: Path, users5: list[dict]) -> None:
    before = ours.read_bytes()
    with pytest.raises(Boom), DumpWriter(ours, {"scenario": "new"}) as writer:
        for user in users5[:2]:
            writer.write(user)
        raise Boom
    assert ours.read_bytes() == before
    assert [p.name for p in ours.parent.iterdir()] == [ours.name]


def test_a_failing_commit_leaves_no_temporary(
    tmp_path: Path, users5: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_dump(tmp_path / "s_seeds.json", {"scenario": "old"}, users5)
    before = path.read_bytes()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_dump(path, {"scenario": "new"}, users5)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_writing_streams_and_the_dump_appears_only_at_the_end(tmp_path: Path, make_users: Any) -> None:
    path = tmp_path / "s_seeds.json"
    seen: list[int] = []

    def users() -> Iterator[bytes]:
        for index, user in enumerate(make_users(50)):
            assert not path.exists()  # never a half-written dump under the real name
            seen.append(index)
            yield orjson.dumps(user)
            assert len(seen) == index + 1  # consumed one at a time, not gathered into a list first

    write_dump(path, {"counts": {"users": 50}}, users())
    assert len(open_dump(path).users) == 50
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_the_layout_is_one_user_per_line(ours: Path, users5: list[dict]) -> None:
    lines = ours.read_bytes().split(b"\n")
    assert lines[0].startswith(b'{"meta":') and lines[0].endswith(b'"users":[')
    assert [orjson.loads(line.rstrip(b",")) for line in lines[1:6]] == users5
    assert lines[6:] == [b"]}", b""]


def test_the_writer_puts_user_id_first_and_refuses_what_the_reader_could_not_index(tmp_path: Path) -> None:
    path = write_dump(tmp_path / "s_seeds.json", {}, [{"debit_card_accounts": [], "user_id": "u"}])
    assert open_dump(path).users[0].user_id == "u"
    for bad in (b'{"id":"x"}', b'{"user_id":\n"x"}', b' {"user_id":"x"}'):
        with pytest.raises(ValueError, match="user_id"):
            write_dump(tmp_path / "bad_seeds.json", {}, [bad])
    assert not (tmp_path / "bad_seeds.json").exists()


def test_the_course_loaders_read_our_layout(ours: Path, users5: list[dict], course: Any) -> None:
    with open(ours) as file:
        assert json.load(file)["users"] == users5
    from_course = course.SeedsResult.model_validate_json(ours.read_text())
    assert [user.model_dump() for user in from_course.users] == users5


def test_save_and_load_round_trip(tmp_path: Path, users5: list[dict]) -> None:
    result = SeedsResult.model_validate({"users": users5})
    path = save_seeds_result(result, "round", tmp_path)
    assert path == dump_path("round", tmp_path) == tmp_path / "round_seeds.json"
    loaded = load_seeds_result("round", tmp_path)
    assert list(loaded.users) == list(result.users)
    assert read_meta(path) == {"scenario": "round"}
    again = save_seeds_result(loaded, "copy", tmp_path, meta={"scenario": "copy", "counts": {"users": 5}})
    assert again.read_bytes().split(b"\n")[1:] == path.read_bytes().split(b"\n")[1:]  # users copied byte for byte


def test_read_meta(ours: Path, course_dump: Path, pretty_dump: Path, tmp_path: Path) -> None:
    assert read_meta(ours) == {"scenario": "s", "counts": {"users": 5}}
    assert read_meta(course_dump) is None
    assert read_meta(pretty_dump) == {"scenario": "pretty"}
    empty = write_dump(tmp_path / "empty_seeds.json", {"scenario": "empty"}, [])
    assert read_meta(empty) == {"scenario": "empty"}
