"""Seeds from the master to workers that lack its dump, in Locust messages, without shipping files.

A worker first compares a fingerprint of its own copy of the dump with the master's (size, first
and last 64 KiB: the ``meta`` block with its ``created_at`` and seed, or a course dump's first
UUIDs). Only on a mismatch, a missing file included, does it ask; the master then sends the
users as their raw JSON lines, about ``CHUNK_BYTES`` per message, and the worker streams them into
a private temporary dump that ``open_dump`` reads lazily like any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from .._exceptions import DumpError
from ..dumps._files import DumpWriter, open_dump, user_bytes
from ..dumps._index import dump_fingerprint
from ..dumps._result import SeedsResult

__all__ = ["CHUNK_BYTES", "SeedsReceiver", "fingerprint", "user_chunks"]

CHUNK_BYTES = 1 << 20


def fingerprint(path: str | Path) -> str | None:
    """A cheap identity of a dump file (``seeding.dumps._index``); None when there is no file."""
    return dump_fingerprint(path)


def user_chunks(seeds: SeedsResult, max_bytes: int = CHUNK_BYTES) -> Iterator[list[bytes]]:
    """The users' JSON, in dump order, grouped into lists of about ``max_bytes``."""
    users = seeds.users
    chunk: list[bytes] = []
    size = 0
    for index in range(len(users)):
        line = user_bytes(users, index)
        chunk.append(line)
        size += len(line)
        if size >= max_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


class SeedsReceiver:
    """A worker's copy of the master's seeds, written as chunks arrive; ``finish()`` opens it.

    ``path`` comes from the worker's own configuration, never from a message. What arrives is
    checked before it is written: each line one user's JSON object, no more users than announced.
    """

    def __init__(self, path: Path, *, count: int, meta: dict[str, Any] | None) -> None:
        self.path = path
        self.count = count
        self._writer = DumpWriter(path, {**(meta or {}), "received_from": "locust master"})

    def add(self, lines: list[bytes]) -> None:
        """Append ``lines``; ``DumpError`` (and nothing written of them) if one is not a user or too many came."""
        if self._writer.count + len(lines) > self.count:
            raise DumpError(f"{self.path}: the master sent more than the {self.count} seeded users it announced")
        for number, line in enumerate(lines):
            if not _is_user_line(line):
                where = self._writer.count + number
                raise DumpError(f"{self.path}: seeded user #{where} from the master is not one user's JSON line")
        for line in lines:
            self._writer.write(line)

    def finish(self) -> SeedsResult:
        """The received seeds; ``DumpError`` if fewer or more users came than the master announced."""
        if self._writer.count != self.count:
            self._writer.abort()
            raise DumpError(
                f"{self.path}: received {self._writer.count} seeded users, the master announced {self.count}"
            )
        return open_dump(self._writer.commit())

    def abort(self) -> None:
        self._writer.abort()


def _is_user_line(line: bytes) -> bool:
    """One JSON object on one line, ``user_id`` first (the dump's layout: the reader finds users by it)."""
    if b"\n" in line or not line.startswith(b'{"user_id":'):
        return False
    try:
        user = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(user, dict) and isinstance(user.get("user_id"), str)
