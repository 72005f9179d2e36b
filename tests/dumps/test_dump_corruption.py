"""A damaged dump gives one DumpError naming the file (and line), never a silent partial list."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seeding import DumpError, open_dump, read_meta, write_dump


def _read_all(path: Path, *, lazy: bool) -> list[Any]:
    """Open and touch every user, as a load test eventually would."""
    return list(open_dump(path, lazy=lazy).users)


def _fails_cleanly(path: Path, *, lazy: bool = True) -> DumpError:
    with pytest.raises(DumpError) as caught:
        _read_all(path, lazy=lazy)
    error = caught.value
    assert str(path) in str(error)
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)  # no chained noise
    return error


def _fails_at_open(path: Path) -> DumpError:
    with pytest.raises(DumpError) as caught:
        open_dump(path)
    assert str(path) in str(caught.value)
    return caught.value


@pytest.mark.parametrize("layout", ["ours", "course_dump", "pretty_dump"])
def test_a_file_cut_anywhere_fails_at_open(layout: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    whole = request.getfixturevalue(layout).read_bytes()
    cut = tmp_path / "cut_seeds.json"
    complete = whole.rstrip()
    # Prefixes short of the full JSON: every one in the first and last 600 bytes and around each line
    # break of a one-user-per-line layout, every 7th elsewhere: a fraction of the work of every byte.
    size = len(complete)
    lengths = {n for n in range(size) if n < 600 or n > size - 600 or n % 7 == 0}
    if layout != "pretty_dump":
        lengths |= {n for i, byte in enumerate(complete) if byte == 0x0A for n in range(i - 3, i + 4) if 0 <= n < size}
    for length in sorted(lengths):
        cut.write_bytes(whole[:length])
        error = _fails_at_open(cut)
        with pytest.raises(DumpError):
            open_dump(cut, lazy=False)
        if length and layout != "pretty_dump":
            assert f"{cut}:" in str(error) or "promises" in str(error)  # a line number, or the count
    cut.write_bytes(complete)  # only the trailing newline gone: still a whole dump
    assert len(open_dump(cut).users) == 5


@pytest.mark.parametrize(
    ("before", "after", "what"),
    [
        (b'{"user_id":"', b'{"user_id":12,"x":"', "user_id"),  # valid JSON, wrong type
        (b'"virtual_cards":[{', b'"virtual_cards":[{x', "Invalid JSON"),  # not JSON any more
        (b'"card_id":"', b'"card_id":["', "Invalid JSON"),  # unbalanced
    ],
)
def test_garbage_in_one_user_line_names_the_line(
    ours: Path, before: bytes, after: bytes, what: str, users5: list[dict[str, Any]]
) -> None:
    lines = ours.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(before, after, 1)  # line 4 of the file: user #2
    ours.write_bytes(b"\n".join(lines))
    seeds = open_dump(ours)  # the damage is in the middle: found when user #2 is reached
    assert seeds.users[1].user_id == users5[1]["user_id"] and seeds.users[3].user_id == users5[3]["user_id"]
    with pytest.raises(DumpError, match=rf"{ours}:4: user #2 is corrupt: .*{what}"):
        seeds.users[2]
    _fails_cleanly(ours)
    _fails_cleanly(ours, lazy=False)


def _rename_user_key(path: Path, index: int) -> None:
    """Break user ``index``'s ``{"user_id":`` (the bytes the index is built from)."""
    data = path.read_bytes()
    at = -1
    for _ in range(index + 1):
        at = data.index(b'{"user_id":', at + 1)
    path.write_bytes(data[:at] + b'{"userid":' + data[at + len(b'{"user_id":') :])


def test_a_lost_user_marker_is_caught_by_the_meta_count(ours: Path) -> None:
    _rename_user_key(ours, 2)
    assert "promises 5 users but the file holds 4" in str(_fails_at_open(ours))


def test_a_lost_user_marker_in_a_course_dump_fails_when_reached(course_dump: Path) -> None:
    _rename_user_key(course_dump, 1)
    error = _fails_cleanly(course_dump)
    assert f"{course_dump}:1: user #0 is corrupt" in str(error)
    _fails_cleanly(course_dump, lazy=False)


def test_a_missing_comma_between_users_is_not_accepted(ours: Path) -> None:
    ours.write_bytes(ours.read_bytes().replace(b"},\n", b"}\n", 1))
    assert "user #0 is not followed by a comma" in str(_fails_cleanly(ours))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n", "not valid JSON"),
        (b"users: []", "not valid JSON"),
        (b"\x00\x01\x02", "not valid JSON"),
        (b"[]", "not a seeds dump"),
        (b"null", "not a seeds dump"),
        (b'{"items": []}', "not a seeds dump"),  # pydantic alone would call this zero users
        (b'{"users": 5}', "not a seeds dump"),
        (b'{"users": [{"id": "x"}]}', "user #0: user_id: Field required"),
        (b'{"meta": [1], "users": []}', "meta block is not a JSON object"),
        (b'{"meta":{"counts":{"users":2}},"users":[\n]}\n', "promises 2 users but the file holds 0"),
    ],
)
def test_files_that_are_not_dumps(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad_seeds.json"
    path.write_bytes(content)
    assert message in str(_fails_cleanly(path))
    _fails_cleanly(path, lazy=False)


def test_meta_count_mismatch_in_every_layout(tmp_path: Path, users5: list[dict[str, Any]]) -> None:
    ours = write_dump(tmp_path / "ours_seeds.json", {"counts": {"users": 6}}, users5)
    pretty = tmp_path / "pretty_seeds.json"
    pretty.write_text(json.dumps({"meta": {"counts": {"users": 4}}, "users": users5}, indent=1))
    assert "promises 6 users but the file holds 5" in str(_fails_at_open(ours))
    assert "promises 4 users but the file holds 5" in str(_fails_at_open(pretty))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert "no such dump" in str(_fails_at_open(tmp_path / "nope_seeds.json"))
    assert "it is a directory, not a regular file" in str(_fails_at_open(tmp_path))
    with pytest.raises(DumpError, match="no such dump"):
        read_meta(tmp_path / "nope_seeds.json")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_damaged_byte_is_never_silent(
    data: st.DataObject,
    ours: Path,
    course_dump: Path,
    reference: Callable[[Path], list[Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Whatever bytes change, go or appear, the lazy reader reads what a full parse reads or raises DumpError."""
    source = data.draw(st.sampled_from([ours, course_dump]))
    content = bytearray(source.read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(content) - 1))
        byte = data.draw(st.sampled_from(b' ,:{}[]"\\\n0aZ\xff'))
        edit = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        if edit == "replace":
            content[at] = byte
        elif edit == "delete":
            del content[at]
        else:
            content.insert(at, byte)
    damaged = tmp_path_factory.mktemp("fuzz") / "damaged_seeds.json"
    damaged.write_bytes(bytes(content))
    try:
        lazy = _read_all(damaged, lazy=True)
    except DumpError as error:
        assert str(damaged) in str(error)
        with pytest.raises(DumpError):
            _read_all(damaged, lazy=False)
        return
    assert lazy == reference(damaged) == _read_all(damaged, lazy=False)
