"""A dump's offset index, ``<dump>.idx``: opening a dump costs the same whatever its size.

Without it ``open_dump`` scans the whole file for ``{"user_id":`` (1.2 s for a million users);
with it, opening reads a 32-byte header and a few pages. The dump itself is unchanged, so the
course's readers still read it, and the index is only ever an accelerator: a dump without one
(course-made, small, copied alone) opens by scanning, and so does a dump whose index does not
match it, with one warning line.

Layout (8-byte integers in the byte order of the machine that wrote it, which the magic names)::

    magic     8 bytes   b"seedix1L" (or ...B)
    dump     16 bytes   the fingerprint of the dump it indexes (size, first and last 64 KiB)
    count     8 bytes   users
    offsets   8 bytes per user: where its ``{"user_id":`` starts

The fingerprint binds an index to the dump's bytes, not to a path or a time, so copying a dump
with its index (``cp``, CI artifacts, ``kubectl cp``) keeps it valid, and any other file, or the
same file appended to or rewritten, is refused. Opening also checks a few offsets, and every
``users[i]`` checks that the user it reads starts where the index says; a mismatch falls back to
a scan. The writer (``DumpWriter``) streams offsets into a temporary file and moves it into place
right after the dump (the old index removed first), so readers see a new dump without an index,
never with an old one. An index is replaced, never rewritten in place, so a mapped index never
changes under a reader.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mmap
import os
import stat
import struct
import sys
from array import array
from pathlib import Path

__all__ = [
    "INDEX_FROM_BYTES",
    "IndexWriter",
    "OpenIndex",
    "dump_fingerprint",
    "fingerprint_of",
    "index_path",
    "open_index",
    "warn_index_unused",
]

log = logging.getLogger("seeding.dump")

# Dumps smaller than this get no index: scanning them costs less than 10 ms (about 7,000 users).
INDEX_FROM_BYTES = 8 << 20
_MAGIC = b"seedix1" + (b"L" if sys.byteorder == "little" else b"B")
_HEADER = struct.Struct("=8s16sQ")
_EDGE = 64 << 10
_USER_START = b'{"user_id":'
_SPOT_CHECKS = 8
_FLUSH_EVERY = 1 << 16  # offsets buffered before a write: 512 KiB

_warned: set[tuple[str, str]] = set()


def index_path(dump: str | Path) -> Path:
    """``<dump>.idx``, beside the dump (``dumps/x_seeds.json.idx``)."""
    dump = Path(dump)
    return dump.with_name(dump.name + ".idx")


def fingerprint_of(fd: int) -> bytes:
    """16 bytes that identify a dump's contents: its size, first and last 64 KiB."""
    size = os.fstat(fd).st_size
    head = os.pread(fd, _EDGE, 0)
    tail = os.pread(fd, _EDGE, max(size - _EDGE, 0))
    return hashlib.sha256(b"%d\0" % size + head + b"\0" + tail).digest()[:16]


def dump_fingerprint(path: str | Path) -> str | None:
    """The dump's fingerprint in hex (Locust and the service compare copies by it); None without a file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return fingerprint_of(fd).hex()
    except OSError:
        return None
    finally:
        os.close(fd)


def warn_index_unused(index: Path, dump: Path, reason: str) -> None:
    """One warning line per index and reason in a process: the dump opens all the same, only slower."""
    key = (str(index), reason)
    if key not in _warned:
        _warned.add(key)
        log.warning(
            "%s: not used (%s); %s was read whole to find its users instead. Seeding it again writes a "
            "new index; deleting the .idx file silences this",
            index,
            reason,
            dump,
        )


class IndexWriter:
    """Offsets of a dump being written, streamed into a temporary file beside it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        self._file = open(fd, "wb", buffering=1 << 20)  # noqa: SIM115 - closed in finish/abort
        self._pending: array[int] = array("q")
        self.count = 0
        try:
            self._file.write(bytes(_HEADER.size))  # the header goes in last, when the dump is known
        except BaseException:
            self.abort()
            raise

    def add(self, offsets: array[int]) -> None:
        self._pending.extend(offsets)
        self.count += len(offsets)
        if len(self._pending) >= _FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        self._pending.tofile(self._file)
        del self._pending[:]

    def finish(self, dump_fd: int) -> None:
        """Bind the index to the finished dump (open for reading at ``dump_fd``) and make it durable."""
        self._flush()
        self._file.seek(0)
        self._file.write(_HEADER.pack(_MAGIC, fingerprint_of(dump_fd), self.count))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def abort(self) -> None:
        try:
            with contextlib.suppress(OSError):
                self._file.close()
        finally:
            self.tmp.unlink(missing_ok=True)


class OpenIndex:
    """A valid index, mapped read-only: ``starts[i]`` touches one page, so memory stays flat."""

    def __init__(self, path: Path, mapped: mmap.mmap, count: int) -> None:
        self.path = path
        self._map = mapped
        self._view = memoryview(mapped)
        self.starts = self._view[_HEADER.size : _HEADER.size + 8 * count].cast("q")

    def close(self) -> None:
        self.starts.release()
        self._view.release()
        with contextlib.suppress(BufferError):  # a view still held elsewhere: the mapping goes with it
            self._map.close()


class _Unusable(Exception):
    """Why an index that exists cannot serve its dump."""


def open_index(dump: Path, dump_fd: int) -> OpenIndex | None:
    """The dump's index when one exists and matches it; None (with one warning if one exists) otherwise.

    Looked for beside the dump, then, for a symbolic link, beside the file it leads to.
    """
    size = os.fstat(dump_fd).st_size
    candidates = [index_path(dump)]
    with contextlib.suppress(OSError, RuntimeError):
        real = Path(os.path.realpath(dump))
        if real != dump:
            candidates.append(index_path(real))
    failure: tuple[Path, str] | None = None
    for candidate in candidates:
        try:
            return _open_checked(candidate, dump_fd, size)
        except FileNotFoundError:
            continue
        except _Unusable as exc:
            failure = failure or (candidate, str(exc))
        except OSError as exc:
            failure = failure or (candidate, f"cannot read it: {exc.strerror or exc}")
    if failure is not None:
        warn_index_unused(failure[0], dump, failure[1])
    return None


def _open_checked(path: Path, dump_fd: int, size: int) -> OpenIndex:
    # O_NONBLOCK: a FIFO at the index's name must not hang the open
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Unusable("not a regular file")
        header = os.pread(fd, _HEADER.size, 0)
        if len(header) < _HEADER.size:
            raise _Unusable(f"{info.st_size} bytes, too short for an index")
        magic, fingerprint, count = _HEADER.unpack(header)
        if magic != _MAGIC:
            raise _Unusable("not a seeding dump index, or one written on a machine of the other byte order")
        if info.st_size != _HEADER.size + 8 * count:
            raise _Unusable(f"truncated or padded: {info.st_size} bytes for {count} users")
        if fingerprint != fingerprint_of(dump_fd):
            raise _Unusable("it indexes another dump, or this dump changed after it was indexed")
        if count == 0:
            raise _Unusable("no users indexed")
        mapped = mmap.mmap(fd, info.st_size, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)
    index = OpenIndex(path, mapped, count)
    try:
        _spot_check(index.starts, dump_fd, size)
    except BaseException:
        index.close()
        raise
    return index


def _spot_check(starts: memoryview, dump_fd: int, size: int) -> None:
    """A few offsets, spread over the file, each at a line that starts a user, in increasing order."""
    count = len(starts)
    previous = 0
    for i in sorted({(count - 1) * step // _SPOT_CHECKS for step in range(_SPOT_CHECKS + 1)}):
        offset = starts[i]
        if not previous < offset < size or os.pread(dump_fd, len(_USER_START) + 1, offset - 1) != b"\n" + _USER_START:
            raise _Unusable(f"user #{i} is not where it says")
        previous = offset
