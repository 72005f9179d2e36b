"""``seeding.files``: only regular files are read, without blocking, within a size."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from seeding import DumpError, PlanError
from seeding.files import open_regular, read_regular


def make(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"x.{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    elif kind == "chr":
        path.symlink_to("/dev/zero")
    elif kind == "big":
        path.write_bytes(b"x" * 2049)
    return path


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("fifo", "it is a FIFO (named pipe), not a regular file"),
        ("dir", "it is a directory, not a regular file"),
        ("chr", "it is a character device, not a regular file"),
        ("big", "2049 bytes is too large for a plan (at most 2048)"),
    ],
)
def test_refused_in_one_line_without_blocking(tmp_path: Path, kind: str, says: str) -> None:
    path = make(tmp_path, kind)
    started = time.monotonic()
    with pytest.raises(PlanError) as caught:
        read_regular(path, what="a plan", error=PlanError, max_bytes=2048)
    assert time.monotonic() - started < 2
    assert str(caught.value) == f"{path}: cannot read it as a plan: {says}" or str(caught.value) == f"{path}: {says}"
    assert "\n" not in str(caught.value)


def test_missing_passes_through_and_regular_reads(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "nope", what="a dump", error=DumpError)
    (tmp_path / "ok").write_bytes(b"users: 1\n")
    assert read_regular(tmp_path / "ok", what="a plan", max_bytes=9) == b"users: 1\n"
    fd = open_regular(tmp_path / "ok", what="a plan", flags=os.O_RDWR)
    try:
        assert os.get_blocking(fd)  # O_NONBLOCK is cleared once the file is known regular
        assert os.read(fd, 5) == b"users"
    finally:
        os.close(fd)


def test_a_fifo_opened_for_writing_is_refused_not_waited_on(tmp_path: Path) -> None:
    path = make(tmp_path, "fifo")
    started = time.monotonic()
    with pytest.raises(DumpError, match="cannot open a hand-out log: No such device or address"):
        open_regular(path, what="a hand-out log", error=DumpError, flags=os.O_WRONLY | os.O_APPEND)
    assert time.monotonic() - started < 2
