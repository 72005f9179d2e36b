"""``open_regular``: open without blocking, check what was opened, then read.

Opening a FIFO for reading blocks until a writer comes, and reading ``/dev/zero`` never ends, so the
check cannot come after a plain ``open``: the file is opened with ``O_NONBLOCK`` (an open that cannot
block), ``fstat`` tells what it is (no race between a check by path and the open), and only a regular
file is read. ``O_NONBLOCK`` is cleared again before the descriptor is handed out; on a regular file it
changes nothing anyway.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from .._exceptions import SeedingError

__all__ = ["check_regular", "open_regular", "read_regular"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_regular(
    fd: int,
    path: str | Path,
    *,
    what: str,
    error: type[SeedingError] = SeedingError,
    max_bytes: int | None = None,
) -> os.stat_result:
    """``fstat`` of ``fd``; ``error`` naming ``path`` unless it is a regular file of at most ``max_bytes``."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: cannot read it as {what}: it is {_kind(info.st_mode)}, not a regular file")
    if max_bytes is not None and info.st_size > max_bytes:
        raise error(f"{path}: {info.st_size} bytes is too large for {what} (at most {max_bytes})")
    return info


def open_regular(
    path: str | Path,
    *,
    what: str,
    error: type[SeedingError] = SeedingError,
    flags: int = os.O_RDONLY,
    max_bytes: int | None = None,
) -> int:
    """A descriptor of ``path`` (opened with ``flags``), known to be a regular file; the caller closes it.

    ``FileNotFoundError`` passes through (callers say what makes the missing file); every other
    failure is ``error`` with one line naming ``path`` and ``what`` it should have been.
    """
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"{path}: cannot open {what}: {exc.strerror or exc}") from None
    try:
        check_regular(fd, path, what=what, error=error, max_bytes=max_bytes)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(
    path: str | Path,
    *,
    what: str,
    error: type[SeedingError] = SeedingError,
    max_bytes: int | None = None,
) -> bytes:
    """The bytes of ``path`` when it is a regular file (of at most ``max_bytes``); ``open_regular``'s errors."""
    fd = open_regular(path, what=what, error=error, max_bytes=max_bytes)
    try:
        chunks = []
        left = max_bytes + 1 if max_bytes is not None else -1  # a file growing while read stays bounded
        while left != 0:
            chunk = os.read(fd, 1 << 20 if left < 0 else min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            if left > 0:
                left -= len(chunk)
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if max_bytes is not None and len(data) > max_bytes:
        raise error(f"{path}: it grew past {max_bytes} bytes while read; too large for {what}")
    return data
