"""The offset index beside a dump (``<dump>.idx``): used when it matches, never trusted when it does not."""

from __future__ import annotations

import errno
import logging
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

import seeding.dumps._files
from seeding import DumpWriter, open_dump, read_meta, save_seeds_result, write_dump
from seeding.dumps._files import remove_stale_temporaries
from seeding.dumps._index import INDEX_FROM_BYTES, IndexWriter, index_path

COUNT = 40


@pytest.fixture
def indexed(tmp_path: Path, make_users: Callable[..., list[dict[str, Any]]]) -> Path:
    """A dump of COUNT users written with its index."""
    users = make_users(COUNT)
    return write_dump(tmp_path / "d_seeds.json", {"scenario": "d", "counts": {"users": COUNT}}, users, index=True)


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a dump was scanned whole (one entry per scan)."""
    calls: list[int] = []
    real = seeding.dumps._files._find_all

    def counting(fd: int, size: int) -> Any:
        calls.append(size)
        return real(fd, size)

    monkeypatch.setattr(seeding.dumps._files, "_find_all", counting)
    return calls


def _other_dump(dump: Path, make_users: Callable[..., list[dict[str, Any]]], **kw: Any) -> Path:
    other = dump.with_name("other_seeds.json")
    return write_dump(other, {"scenario": "d", "counts": {"users": COUNT}}, make_users(COUNT, seed=7), **kw)


def _set(idx: Path, data: bytes) -> None:
    idx.unlink(missing_ok=True)
    idx.write_bytes(data)


def _flip_offset(idx: Path, user: int, value: int) -> None:
    data = bytearray(idx.read_bytes())
    data[32 + 8 * user : 40 + 8 * user] = struct.pack("=q", value)
    _set(idx, bytes(data))


# Each case damages the index (or the dump) after a good write; ``warns`` says whether it is worth a line.
CASES: dict[str, tuple[Callable[[Path, Path, Any], None], bool]] = {
    "missing": (lambda dump, idx, mk: idx.unlink(), False),
    "zero bytes": (lambda dump, idx, mk: _set(idx, b""), True),
    "header only": (lambda dump, idx, mk: _set(idx, idx.read_bytes()[:32]), True),
    "truncated mid-offsets": (lambda dump, idx, mk: _set(idx, idx.read_bytes()[:-12]), True),
    "padded": (lambda dump, idx, mk: _set(idx, idx.read_bytes() + bytes(8)), True),
    "garbage": (lambda dump, idx, mk: _set(idx, os.urandom(len(idx.read_bytes()))), True),
    "other byte order": (lambda dump, idx, mk: _set(idx, b"seedix1X" + idx.read_bytes()[8:]), True),
    "index of another dump": (
        lambda dump, idx, mk: _set(idx, index_path(_other_dump(dump, mk, index=True)).read_bytes()),
        True,
    ),
    "dump rewritten after the index": (
        lambda dump, idx, mk: dump.write_bytes(_other_dump(dump, mk, index=False).read_bytes()),
        True,
    ),
    "index newer, dump appended": (
        lambda dump, idx, mk: (
            dump.write_bytes(dump.read_bytes() + b"\n\n"),  # still valid JSON, same users
            os.utime(idx, ns=(dump.stat().st_mtime_ns + 10**9,) * 2),
        ),
        True,
    ),
    "offsets all shifted": (
        lambda dump, idx, mk: _set(
            idx, idx.read_bytes()[:32] + b"".join(struct.pack("=q", o + 1) for o in _offsets(idx))
        ),
        True,
    ),
    "one offset wrong in the middle": (lambda dump, idx, mk: _flip_offset(idx, COUNT // 2 + 1, 5), True),
    "one offset past the end": (lambda dump, idx, mk: _flip_offset(idx, COUNT // 2 + 1, 1 << 60), True),
    "symlink to another dump's index": (
        lambda dump, idx, mk: (idx.unlink(), idx.symlink_to(index_path(_other_dump(dump, mk, index=True)))),
        True,
    ),
    "dangling symlink": (lambda dump, idx, mk: (idx.unlink(), idx.symlink_to(idx.with_name("gone.idx"))), False),
    "a directory": (lambda dump, idx, mk: (idx.unlink(), idx.mkdir()), True),
    "a FIFO (must not hang)": (lambda dump, idx, mk: (idx.unlink(), os.mkfifo(idx)), True),
}


def _offsets(idx: Path) -> list[int]:
    data = idx.read_bytes()[32:]
    return [struct.unpack_from("=q", data, i)[0] for i in range(0, len(data), 8)]


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_or_odd_index_never_changes_what_the_dump_gives(
    case: str,
    indexed: Path,
    make_users: Callable[..., list[dict[str, Any]]],
    reference: Callable[[Path], list[Any]],
    scans: list[int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    damage, warns = CASES[case]
    damage(indexed, index_path(indexed), make_users)
    expected = reference(indexed)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="seeding.dump"):
        seeds = open_dump(indexed)
        got = [seeds.users[i] for i in range(len(seeds.users))]
        picks = (COUNT - 1, 0, COUNT // 2 + 1)
        assert [seeds.users[i] for i in picks] == [expected[i] for i in picks]
    assert got == expected
    assert read_meta(indexed) == {"scenario": "d", "counts": {"users": COUNT}}
    assert scans, "a dump whose index does not serve it is scanned"
    lines = [r.getMessage() for r in caplog.records if r.name == "seeding.dump"]
    if warns:
        assert len(lines) == 1 and str(index_path(indexed)) in lines[0] and "\n" not in lines[0]
    else:
        assert lines == []


def test_a_good_index_is_used_and_the_dump_is_never_scanned(
    indexed: Path, reference: Callable[[Path], list[Any]], scans: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="seeding.dump"):
        seeds = open_dump(indexed)
        assert list(seeds.users) == reference(indexed)
        assert read_meta(indexed)["scenario"] == "d"
        assert len(open_dump(indexed, lazy=False).users) == COUNT
    assert scans == [] and caplog.records == []


@pytest.mark.parametrize("where", ["symlink to the index", "dump reached by a symlink", "copied with it"])
def test_an_index_follows_its_dump(
    where: str, indexed: Path, tmp_path: Path, reference: Callable[[Path], list[Any]], scans: list[int]
) -> None:
    idx = index_path(indexed)
    if where == "symlink to the index":
        moved = idx.rename(tmp_path / "elsewhere.idx")
        idx.symlink_to(moved)
        path = indexed
    elif where == "dump reached by a symlink":  # the index lies beside the file the link leads to
        path = tmp_path / "current_seeds.json"
        path.symlink_to(indexed)
    else:  # the fingerprint is of the bytes, not the path or times: cp, CI artifacts, kubectl cp
        path = tmp_path / "copy" / indexed.name
        path.parent.mkdir()
        path.write_bytes(indexed.read_bytes())
        index_path(path).write_bytes(idx.read_bytes())
    assert list(open_dump(path).users) == reference(indexed)
    assert scans == []


def test_an_unreadable_index_is_only_slower(
    indexed: Path, reference: Callable[[Path], list[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    idx = index_path(indexed)
    idx.chmod(0)
    try:
        readable = os.access(idx, os.R_OK)  # root reads it all the same
        with caplog.at_level(logging.WARNING, logger="seeding.dump"):
            assert list(open_dump(indexed).users) == reference(indexed)
    finally:
        idx.chmod(0o644)
    assert bool(caplog.records) is not readable


def test_a_dump_changed_in_place_after_opening_is_reported_not_misread(indexed: Path) -> None:
    index_path(indexed).unlink()  # offsets found by the scan: nothing to fall back on
    seeds = open_dump(indexed)
    data = indexed.read_bytes()
    with open(indexed, "r+b") as file:  # same file, users moved by one byte
        file.write(data.replace(b',"users":[', b',"users": [', 1)[: len(data)])
    with pytest.raises(seeding.DumpError, match="changed on disk"):
        list(seeds.users)


def test_big_dumps_get_an_index_by_default_small_ones_do_not(
    tmp_path: Path, make_users: Callable[..., list[dict[str, Any]]], scans: list[int]
) -> None:
    users = make_users(20)
    small = write_dump(tmp_path / "small_seeds.json", {}, users)
    assert not index_path(small).exists()
    count = INDEX_FROM_BYTES // len(orjson.dumps(users[0])) + 1  # just past the threshold
    big = write_dump(tmp_path / "big_seeds.json", {}, (users[i % 20] for i in range(count)))
    assert big.stat().st_size >= INDEX_FROM_BYTES and index_path(big).exists()
    assert len(open_dump(big).users) == count and scans == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big_seeds.json", "big_seeds.json.idx", "small_seeds.json"]


def test_rewriting_a_dump_never_leaves_the_old_index(indexed: Path, users5: list[dict[str, Any]]) -> None:
    write_dump(indexed, {}, users5, index=False)
    assert not index_path(indexed).exists()
    assert len(open_dump(indexed).users) == 5


def test_an_aborted_write_keeps_the_dump_and_its_index(indexed: Path, users5: list[dict[str, Any]]) -> None:
    before = indexed.read_bytes(), index_path(indexed).read_bytes()
    with pytest.raises(RuntimeError), DumpWriter(indexed, {}, index=True) as writer:
        for user in users5:
            writer.write(user)
        raise RuntimeError
    assert (indexed.read_bytes(), index_path(indexed).read_bytes()) == before
    assert sorted(p.name for p in indexed.parent.iterdir()) == [indexed.name, index_path(indexed).name]


def test_an_index_that_cannot_be_written_costs_a_warning_not_the_dump(
    tmp_path: Path,
    users5: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    reference: Callable[[Path], list[Any]],
) -> None:
    def full_disk(self: IndexWriter, dump_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(IndexWriter, "finish", full_disk)
    with caplog.at_level(logging.WARNING, logger="seeding.dump"):
        path = write_dump(tmp_path / "s_seeds.json", {}, users5, index=True)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no index, no temporary
    assert len(open_dump(path).users) == 5 and list(open_dump(path).users) == reference(path)
    assert "No space left" in caplog.text and str(path) in caplog.text


def test_save_seeds_result_copies_a_lazy_dump_with_an_index(indexed: Path, scans: list[int]) -> None:
    seeds = open_dump(indexed)
    copy = save_seeds_result(seeds, "copy", indexed.parent)
    assert copy.read_bytes().split(b"\n", 1)[1] == indexed.read_bytes().split(b"\n", 1)[1]  # users byte for byte
    assert not index_path(copy).exists()  # small: below the threshold
    write_dump(copy, {}, (seeds.users.raw(i) for i in range(COUNT)), index=True)
    scans.clear()
    assert [u.user_id for u in open_dump(copy).users] == [u.user_id for u in seeds.users] and scans == []


def test_a_killed_writer_leaves_an_index_temporary_the_next_run_removes(tmp_path: Path) -> None:
    path = tmp_path / "s_seeds.json"
    dead = tmp_path / f".{path.name}.999999999.abcd1234.idx.tmp"
    dead.write_bytes(b"x")
    assert remove_stale_temporaries(path) == [dead] and not dead.exists()


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(lambda n: list(range(n)), id="in-order"),
        pytest.param(lambda n: list(reversed(range(n))), id="reversed"),
        pytest.param(lambda n: [i * 97 % n for i in range(n)], id="scattered"),
        pytest.param(lambda n: [127, 128, 126, 255, 256, 0, n - 1, n - 2, 128, 129], id="page-edges"),
    ],
)
def test_offsets_read_a_page_at_a_time_give_every_user_as_a_scan_does(
    tmp_path: Path, make_users: Callable[..., list[dict[str, Any]]], order: Callable[[int], list[int]], scans: list[int]
) -> None:
    count = 300  # pages of 128: two whole ones and a short last one
    users = make_users(count)
    dump = write_dump(tmp_path / "p_seeds.json", {"scenario": "p", "counts": {"users": count}}, users, index=True)
    paged = open_dump(dump).users
    index_path(dump).rename(tmp_path / "away.idx")
    scanned = open_dump(dump).users  # offsets in memory
    assert len(scans) == 1
    for position in order(count):
        assert paged.raw(position) == scanned.raw(position), position
    assert len(scans) == 1  # the paged open never fell back to a scan


def test_a_changed_index_under_kept_pages_still_gives_the_right_users(
    indexed: Path, make_users: Callable[..., list[dict[str, Any]]], reference: Callable[[Path], list[Any]]
) -> None:
    expected = reference(indexed)
    seeds = open_dump(indexed).users
    assert seeds[0] == expected[0]  # the first page is read and kept
    other = _other_dump(indexed, make_users, index=True)
    with open(index_path(indexed), "r+b") as idx:  # cp other.idx over it: same inode, other offsets
        idx.write(index_path(other).read_bytes())
        idx.truncate()
    assert list(seeds) == expected  # kept pages were the opened index's; the rest falls back to a scan
