"""A pool of one dump kept in an append-only file next to it: who holds which user, until when, and who is out.

``<dumps-dir>/<scenario>_seeds.pool``: a header line naming the dump's fingerprint and user count,
then one line per change, each carrying the time (ms since the epoch) it was made at::

    L <token> <now> <index> <expires>   leased
    N <token> <now> <expires>           renewed
    R <token> <now>                     returned
    Q <token> <now> <reason as JSON>    quarantined by its holder (the lease ends, the user stays out)
    U <index> <now>                     released from quarantine
    S <snapshot as JSON>                the whole state (written first when the log is compacted)

Expiry is not written: before applying a change made at ``now`` (live or replayed), every lease
whose ``expires`` is at or before ``now`` comes back, in order of expiry. A replay therefore
rebuilds exactly the state the service had, least-recently-used order included, and a lease
held at a crash stays held until it expires. Each line is written (one ``write`` on an
``O_APPEND`` descriptor) before the answer leaves, so a killed service never gives one user to
two holders; ``sync`` fsyncs (the service does it every second and on shutdown). The file is
``flock``-ed while a process uses it (``PoolLocked`` otherwise); a torn last line is cut off; a
header of another dump starts a new pool, except a dump this one replaced in place (a repair,
``replaces``): its pool carries over (leases held stay held, quarantined users stay out) under
the new fingerprint; past ``COMPACT_LINES`` changes the file is rewritten atomically as one snapshot.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import os
import secrets
import time
from collections.abc import Container, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "COMPACT_LINES",
    "FilePool",
    "Lease",
    "PoolLocked",
    "QuarantineEntry",
    "now_ms",
    "pool_path",
    "quarantined_in",
]

_VERSION = 1
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
COMPACT_LINES = 200_000
_ABSENT = object()


def pool_path(dump: Path) -> Path:
    """``x_seeds.json`` → ``x_seeds.pool``."""
    return dump.with_suffix(".pool")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class PoolLocked(OSError):
    """Another process holds the pool file (a second service on the same dumps dir)."""


@dataclass(frozen=True)
class Lease:
    token: str
    index: int
    granted: int  # ms since the epoch
    expires: int


@dataclass(frozen=True)
class QuarantineEntry:
    index: int
    reason: str
    at: int  # ms since the epoch


class FilePool:
    """One dump's pool in memory, every change appended to its file before it is answered."""

    def __init__(
        self, path: Path, fingerprint: str, users: int, *, lock: bool = True, replaces: Iterable[str] = ()
    ) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.users = users
        self._replaces = tuple(replaces)
        self.free: dict[int, None] = dict.fromkeys(range(users))  # insertion order: least recently used first
        self.leases: dict[str, Lease] = {}
        self.quarantine: dict[int, QuarantineEntry] = {}
        self._expiry: list[tuple[int, str]] = []  # (expires, token); stale after a renew or a return
        self.expired: list[Lease] = []  # reaped since the caller last emptied it
        self._lines = 0
        self._fd = -1
        self.dirty = False
        self._load(lock)

    # --- changes ---------------------------------------------------------------------------

    def lease(self, ttl_ms: int, members: Container[int] | None = None) -> Lease | None:
        """The least recently used free user (one of ``members``, when given) for ``ttl_ms``; None when none is free."""
        now = self.reap()
        free = iter(self.free) if members is None else (i for i in self.free if i in members)
        index = next(free, None)
        if index is None:
            return None
        token = secrets.token_urlsafe(16)
        self._write(b"L %s %d %d %d\n" % (token.encode(), now, index, now + ttl_ms))
        return self._lease(token, now, index, now + ttl_ms)

    def renew(self, token: str, ttl_ms: int) -> Lease | None:
        now = self.reap()
        held = self.leases.get(token)
        if held is None:
            return None
        self._write(b"N %s %d %d\n" % (token.encode(), now, now + ttl_ms))
        return self._renew(held, now + ttl_ms)

    def give_back(self, token: str) -> tuple[Lease, int] | None:
        """The lease returned and when; None when it is not held (unknown, returned or expired)."""
        now = self.reap()
        held = self.leases.get(token)
        if held is None:
            return None
        self._write(b"R %s %d\n" % (token.encode(), now))
        self._end(held)
        self.free[held.index] = None
        return held, now

    def quarantine_lease(self, token: str, reason: str) -> tuple[Lease, QuarantineEntry] | None:
        now = self.reap()
        held = self.leases.get(token)
        if held is None:
            return None
        self._write(b"Q %s %d %b\n" % (token.encode(), now, orjson.dumps(reason)))
        self._end(held)
        entry = self.quarantine[held.index] = QuarantineEntry(held.index, reason, now)
        return held, entry

    def release(self, index: int) -> QuarantineEntry | None:
        """Back into the pool (last in line); None when ``index`` is not quarantined."""
        now = self.reap()
        entry = self.quarantine.get(index)
        if entry is None:
            return None
        self._write(b"U %d %d\n" % (index, now))
        del self.quarantine[index]
        self.free[index] = None
        return entry

    def reap(self, now: int | None = None) -> int:
        """Leases expired at ``now`` come back (in order of expiry); returns ``now``."""
        now = now_ms() if now is None else now
        expiry = self._expiry
        while expiry and expiry[0][0] <= now:
            expires, token = heapq.heappop(expiry)
            held = self.leases.get(token)
            if held is not None and held.expires == expires:
                self._end(held)
                self.free[held.index] = None
                self.expired.append(held)
        return now

    # --- state -----------------------------------------------------------------------------

    def _lease(self, token: str, now: int, index: int, expires: int) -> Lease:
        if self.free.pop(index, _ABSENT) is _ABSENT:  # not free: only a damaged log says so; the newest line wins
            self.quarantine.pop(index, None)
            for other in [h for h in self.leases.values() if h.index == index]:
                self._end(other)
        held = self.leases[token] = Lease(token, index, now, expires)
        self._expire_at(expires, token)
        return held

    def _renew(self, held: Lease, expires: int) -> Lease:
        renewed = self.leases[held.token] = Lease(held.token, held.index, held.granted, expires)
        self._expire_at(expires, held.token)
        return renewed

    def _expire_at(self, expires: int, token: str) -> None:
        """Remember when a lease expires. A return or renew leaves its old entry behind (found stale when
        reaped); once stale entries outnumber live leases the heap is rebuilt, so a long soak of short holds
        under a long TTL keeps it the size of the leases held, not of every lease of the last TTL."""
        expiry = self._expiry
        if len(expiry) > 2 * len(self.leases) + 1024:
            expiry[:] = [(held.expires, held.token) for held in self.leases.values()]
            heapq.heapify(expiry)
        heapq.heappush(expiry, (expires, token))

    def _end(self, held: Lease) -> None:
        del self.leases[held.token]

    def oldest_granted(self) -> int | None:
        return min((held.granted for held in self.leases.values()), default=None)

    # --- the file --------------------------------------------------------------------------

    def _write(self, line: bytes) -> None:
        """Append one change, before it is applied in memory (and so before the answer)."""
        if self._lines >= COMPACT_LINES:  # a snapshot costs O(users): at most once per COMPACT_LINES changes
            self.compact()  # the state before this change; the change follows it
        os.write(self._fd, line)  # before the answer: a killed service never gives a user twice
        self.dirty = True
        self._lines += 1

    def _load(self, lock: bool) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            data = b""
        lines = data.split(b"\n")
        header = _header(lines[0]) if data else None
        ours = header is not None and header.get("fingerprint") in (self.fingerprint, *self._replaces)
        if header is None or not ours or header.get("users") != self.users:
            if lock:
                self.compact()
            return
        for line in lines[1:-1]:  # complete lines: the last piece is empty or torn
            with contextlib.suppress(ValueError, KeyError, IndexError, orjson.JSONDecodeError):
                self._replay(line)
        self.expired.clear()  # what a replay reaps is old news
        self._lines = len(lines) - 2
        if not lock:
            return
        self._fd = _open_locked(self.path)
        if not data.endswith(b"\n"):  # killed mid-line: cut it off so the next line starts clean
            os.ftruncate(self._fd, len(data) - len(lines[-1]))
        if header.get("fingerprint") != self.fingerprint:  # a repaired dump's: carried over under its fingerprint
            self.compact()

    def adopt(self, fingerprint: str) -> None:
        """Carry this pool over to a dump repaired in place (same users at the same indices): the file is
        rewritten atomically under ``fingerprint``, every lease, return and quarantine kept."""
        self.reap()
        self.fingerprint = fingerprint
        self.compact()

    def _replay(self, line: bytes) -> None:
        kind, _, rest = line.partition(b" ")
        if kind == b"S":
            self._restore(orjson.loads(rest))
            return
        fields = rest.split(b" ", 3 if kind == b"L" else 2)
        if kind == b"U":
            index, now = int(fields[0]), int(fields[1])
            self.reap(now)
            if self.quarantine.pop(index, None) is not None:
                self.free[index] = None
            return
        token, now = fields[0].decode(), int(fields[1])
        self.reap(now)
        if kind == b"L":
            index = int(fields[2])
            if 0 <= index < self.users:
                self._lease(token, now, index, int(fields[3]))
            return
        held = self.leases.get(token)
        if held is None:
            return
        if kind == b"N":
            self._renew(held, int(fields[2]))
        elif kind == b"R":
            self._end(held)
            self.free[held.index] = None
        elif kind == b"Q":
            self._end(held)
            self.quarantine[held.index] = QuarantineEntry(held.index, str(orjson.loads(fields[2])), now)

    def _snapshot(self) -> dict[str, object]:
        return {
            "free": list(self.free),
            "leases": [[h.token, h.index, h.granted, h.expires] for h in self.leases.values()],
            "quarantine": [[q.index, q.at, q.reason] for q in self.quarantine.values()],
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:  # parsed JSON: int() and str() check each value
        self.free = dict.fromkeys(int(i) for i in snapshot["free"])
        self.leases.clear()
        self._expiry.clear()
        for token, index, granted, expires in snapshot["leases"]:
            self.leases[str(token)] = Lease(str(token), int(index), int(granted), int(expires))
            heapq.heappush(self._expiry, (int(expires), str(token)))
        self.quarantine = {
            int(index): QuarantineEntry(int(index), str(reason), int(at))
            for index, at, reason in snapshot["quarantine"]
        }

    def compact(self) -> None:
        """Replace the file atomically with its header and one snapshot; the new file is locked before it
        takes the name, so no other process ever gets it unlocked."""
        header = {"pool": _VERSION, "fingerprint": self.fingerprint, "users": self.users}
        body = orjson.dumps(header) + b"\nS " + orjson.dumps(self._snapshot()) + b"\n"
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, body)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        if self._fd < 0:  # not ours yet: take the old file's lock first, so a holder elsewhere refuses us
            with contextlib.suppress(FileNotFoundError):
                os.close(_open_locked(self.path, tmp_fd=fd, tmp=tmp))
        os.replace(tmp, self.path)
        os.close(fd)  # the lock is on the file, not this descriptor: reopen for appends and lock again
        new = os.open(self.path, _FLAGS)
        fcntl.flock(new, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = new
        self._lines = 1
        self.dirty = False

    def sync(self) -> None:
        """Flush the file to disk if anything was appended since the last time."""
        if self.dirty and self._fd >= 0:
            self.dirty = False
            with contextlib.suppress(OSError):
                os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1


def _open_locked(path: Path, *, tmp_fd: int = -1, tmp: Path | None = None) -> int:
    fd = os.open(path, _FLAGS)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        if tmp_fd >= 0:
            os.close(tmp_fd)
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise PoolLocked(f"{path}: another process leases this dump (a second service on this dumps dir?)") from None
    return fd


def _header(line: bytes) -> dict[str, object] | None:
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return header if isinstance(header, dict) and header.get("pool") == _VERSION else None


def quarantined_in(
    dump: Path, fingerprint: str, users: int, replaces: Iterable[str] = ()
) -> dict[int, QuarantineEntry]:
    """The users quarantined in ``dump``'s pool file (read only, no lock); empty when it has none.
    ``replaces``: the fingerprints the dump replaced in place, whose pool is still its own."""
    path = pool_path(dump)
    if not path.exists():
        return {}
    return FilePool(path, fingerprint, users, lock=False, replaces=replaces).quarantine
