"""The run journal: every completed user is on disk the moment it completes.

``dumps/<scenario>_seeds.journal`` is JSON lines: a header (plan hash, target, seed, ...) and then
``{"index":i,"user":{...}}`` per completed user, appended with one ``write`` each, so a crash,
Ctrl-C or SIGKILL keeps every user written before it (a torn last line is dropped on reading).
``--resume`` reads it back, seeds only the missing plan indices, and the dump is assembled from
it in plan order; it is removed once the dump is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ._exceptions import JournalError

__all__ = ["Journal", "journal_path"]

_VERSION = 1
_USER_KEY = b',"user":'


def journal_path(dump: Path) -> Path:
    """The journal beside a dump: ``x_seeds.json`` → ``x_seeds.journal``."""
    return dump.with_suffix(".journal")


class Journal:
    """Append-only record of one run's completed users, readable after any kind of stop."""

    def __init__(self, path: Path, header: dict[str, Any], done: dict[int, tuple[int, int]]) -> None:
        self.path = path
        self.header = header
        self._done = done  # plan index → (offset, length) of the user's JSON in the file
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._fd).st_size

    @classmethod
    def start(cls, path: Path, header: dict[str, Any], *, resume: bool = False, restart: bool = False) -> Journal:
        """Open the journal for a run of the plan ``header["plan_hash"]``.

        An existing journal is an unfinished run: continued with ``resume``, discarded with
        ``restart``, and otherwise a ``JournalError`` (never silently thrown away).
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and restart:
            path.unlink()
        if not path.exists():
            with open(path, "wb") as file:
                file.write(orjson.dumps({"journal": _VERSION, **header}) + b"\n")
            return cls(path, header, {})
        old_header, done = _read(path)
        if not resume:
            raise JournalError(
                f"{path}: an unfinished run left {len(done)} of {old_header.get('users', '?')} users here; "
                "pass --resume to finish it, or --restart to discard it"
            )
        if old_header.get("plan_hash") != header.get("plan_hash"):
            raise JournalError(
                f"{path}: was made from another plan (hash {old_header.get('plan_hash')}, now "
                f"{header.get('plan_hash')}); pass --restart to discard it"
            )
        return cls(path, old_header, done)

    @property
    def done(self) -> frozenset[int]:
        """Plan indices of the users already complete."""
        return frozenset(self._done)

    def append(self, index: int, user: bytes) -> None:
        """Record user ``index`` (its dump JSON) as complete, in one write."""
        prefix = b'{"index":%d' % index + _USER_KEY
        line = prefix + user + b"}\n"
        written = os.write(self._fd, line)
        if written != len(line):  # a short write on a full disk: never record half a user
            raise OSError(f"{self.path}: short write ({written} of {len(line)} bytes)")
        self._done.setdefault(index, (self._size + len(prefix), len(user)))
        self._size += written

    def user(self, index: int) -> bytes:
        """User ``index``'s JSON as recorded."""
        offset, length = self._done[index]
        return os.pread(self._fd_read, length, offset)

    def users_in_order(self, count: int) -> Iterator[bytes]:
        """Users ``0..count-1`` in plan order (all must be done), read back one at a time."""
        for index in range(count):
            yield self.user(index)

    @property
    def _fd_read(self) -> int:
        fd = getattr(self, "_read_fd", None)
        if fd is None:
            fd = self._read_fd = os.open(self.path, os.O_RDONLY)
        return fd

    def close(self) -> None:
        for fd in (self._fd, getattr(self, "_read_fd", None)):
            if fd is not None and fd >= 0:
                os.close(fd)
        self._fd, self._read_fd = -1, None

    def remove(self) -> None:
        """Delete the journal: the dump it fed is written."""
        self.close()
        self.path.unlink(missing_ok=True)


def _read(path: Path) -> tuple[dict[str, Any], dict[int, tuple[int, int]]]:
    """Header and completed users of a journal, read line by line (memory stays flat).

    A torn last line (the process was killed mid-write) is cut off, so appends start cleanly.
    """
    done: dict[int, tuple[int, int]] = {}
    header: dict[str, Any] | None = None
    offset = 0
    with open(path, "rb") as file:
        for number, line in enumerate(file, start=1):
            if not line.endswith(b"\n"):
                _truncate(path, offset)
                break
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise JournalError(f"{path}:{number}: corrupt journal line; pass --restart to discard it") from None
            if header is None:
                if not isinstance(record, dict) or record.get("journal") != _VERSION:
                    raise JournalError(f"{path}:1: not a seeding journal")
                header = record
            else:
                start = line.index(_USER_KEY) + len(_USER_KEY)
                done.setdefault(int(record["index"]), (offset + start, len(line.rstrip()) - 1 - start))
            offset += len(line)
    if header is None:
        raise JournalError(f"{path}: empty journal; pass --restart to discard it")
    return header, done


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as file:
        file.truncate(size)
