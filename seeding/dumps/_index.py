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
same file appended to or rewritten, is refused. Offsets are read with ``pread``, not mapped, so an
index truncated or rewritten in place under a reader (``cp``) cannot kill it (``IndexOffsets``).
Opening also checks a few offsets, and every
``users[i]`` checks that the user it reads starts where the index says; a mismatch falls back to
a scan. The writer (``DumpWriter``) streams offsets into a temporary file and moves it into place
right after the dump (the old index removed first), so readers see a new dump without an index,
never with an old one.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import struct
import sys
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import overload

from .._exceptions import DumpError, SeedingError
from ..files import open_regular

__all__ = [
    "INDEX_FROM_BYTES",
    "IndexOffsets",
    "IndexWriter",
    "OpenIndex",
    "dump_fingerprint",
    "fingerprint_of",
    "index_path",
    "open_index",
    "replaced_fingerprints",
    "warn_index_unused",
]

log = logging.getLogger("seeding.dump")

# Dumps smaller than this get no index: scanning them costs less than 10 ms (about 7,000 users).
INDEX_FROM_BYTES = 8 << 20
_MAGIC = b"seedix1" + (b"L" if sys.byteorder == "little" else b"B")
_HEADER = struct.Struct("=8s16sQ")
_OFFSET = struct.Struct("=q")
_PAGE = 128  # offsets read at once (1 KiB): users read in order touch the index file once per 128
_PAGES = 64  # pages kept per open index (64 KiB)
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


def replaced_fingerprints(meta: object) -> tuple[str, ...]:
    """The fingerprints a repaired dump replaced in place (``meta.repaired.replaces``, newest first).

    A repair rewrites stale users at their own indices, so what was keyed by those fingerprints
    (hand-outs, leases, quarantine) stays valid for the repaired dump."""
    repaired = meta.get("repaired") if isinstance(meta, dict) else None
    replaces = repaired.get("replaces") if isinstance(repaired, dict) else None
    if not isinstance(replaces, list):
        return ()
    return tuple(dict.fromkeys(f for f in replaces if isinstance(f, str) and f))


def dump_fingerprint(path: str | Path) -> str | None:
    """The dump's fingerprint in hex (Locust and the service compare copies by it); None without a file."""
    try:
        fd = open_regular(path, what="a dump")
    except (OSError, SeedingError):
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
    """A valid index, open for reading: ``starts[i]`` is one ``pread`` of 8 bytes, so memory stays flat."""

    def __init__(self, path: Path, fd: int, count: int) -> None:
        self.path = path
        self._fd = fd
        self.starts = IndexOffsets(path, fd, count)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class IndexOffsets(Sequence[int]):
    """The offsets of an open index file, read where they are asked for.

    ``pread`` rather than a map: a mapped file truncated or rewritten in place (``cp other.idx
    x.idx`` keeps the inode) kills the reader with SIGBUS, which no Python code can catch, while a
    ``pread`` then returns short or other bytes. Each read also checks that the file is still the
    one opened (size and modification time from ``fstat``); a changed index raises ``DumpError``,
    and the dump falls back to a scan (the dump's own reader checks every user starts where its
    offset says, so an index that changed without a trace is caught there too). Offsets are read
    a page of 128 at a time and the last 64 pages kept, so users read in order (``unique``
    hand-outs) cost one ``pread`` + ``fstat`` per 128 (``bench/index_reads.py``: the index-file
    read was 2.5× the in-memory one, a system call pair per user).
    """

    def __init__(self, path: Path, fd: int, count: int) -> None:
        self._path = path
        self._fd = fd
        self._count = count
        self._identity = _identity(os.fstat(fd))
        self._pages: dict[int, array[int]] = {}  # page number → its offsets, as read (and checked) then
        self._recent: tuple[int, array[int]] = (0, array("q"))  # the page used last (one tuple: thread-safe)

    def __len__(self) -> int:
        return self._count

    def _page(self, number: int) -> array[int]:
        """Offsets ``number * _PAGE`` on (and the next page's first), in one ``pread`` and one ``fstat``.

        The last ``_PAGES`` pages are kept. A kept page stays true even if the file changes later:
        it was read from the index that describes the dump as it was opened (a changed dump is
        caught by the dump's own reader).
        """
        page = self._pages.get(number)
        if page is not None:
            return page
        first = number * _PAGE
        count = min(_PAGE + 1, self._count - first)
        try:
            raw = os.pread(self._fd, 8 * count, _HEADER.size + 8 * first)
            same = _identity(os.fstat(self._fd)) == self._identity
        except OSError as exc:
            raise DumpError(f"{self._path}: cannot read the index: {exc.strerror or exc}") from None
        if len(raw) != 8 * count or not same:
            raise DumpError(f"{self._path}: the index changed on disk while it was open")
        page = array("q")
        page.frombytes(raw)  # ``_OFFSET`` is native order, 8 bytes: as ``array("q")``
        if len(self._pages) >= _PAGES:
            self._pages = {}  # (a new dict, not a clear: a reader on another thread keeps the one it has)
        self._pages[number] = page
        return page

    def span(self, index: int) -> tuple[int, int]:
        """Offsets ``index`` and ``index + 1`` (the last has -1 after it), from kept pages where possible."""
        first, page = self._recent
        at = index - first
        if 0 <= at < len(page) - 1:  # the page read last holds both (reads in order: 127 of 128)
            return page[at], page[at + 1]
        if not 0 <= index < self._count:
            raise IndexError(f"{self._path}: offset {index} out of range ({self._count})")
        number, at = divmod(index, _PAGE)
        page = self._page(number)
        self._recent = (number * _PAGE, page)
        return page[at], (page[at + 1] if at + 1 < len(page) else -1)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"{self._path}: offset {index} out of range ({self._count})")
        number, at = divmod(index, _PAGE)
        return self._page(number)[at]


def _identity(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns


class _Unusable(SeedingError):
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
    try:  # a FIFO at the index's name must not hang the open
        fd = open_regular(path, what="an index", error=_Unusable)
    except _Unusable as exc:
        raise _Unusable(str(exc).split(": ", 2)[-1]) from None  # the warning names the file already
    try:
        info = os.fstat(fd)
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
    except BaseException:
        os.close(fd)
        raise
    index = OpenIndex(path, fd, count)
    try:
        _spot_check(index.starts, dump_fd, size)
    except BaseException:
        index.close()
        raise
    return index


def _spot_check(starts: Sequence[int], dump_fd: int, size: int) -> None:
    """A few offsets, spread over the file, each at a line that starts a user, in increasing order."""
    count = len(starts)
    previous = 0
    for i in sorted({(count - 1) * step // _SPOT_CHECKS for step in range(_SPOT_CHECKS + 1)}):
        offset = starts[i]
        if not previous < offset < size or os.pread(dump_fd, len(_USER_START) + 1, offset - 1) != b"\n" + _USER_START:
            raise _Unusable(f"user #{i} is not where it says")
        previous = offset
