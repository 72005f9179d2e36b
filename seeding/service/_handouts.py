"""Hand-outs: ``POST /v1/dumps/{scenario}/next`` gives each caller a user of the dump.

``unique`` hands out users in dump order, ``shuffle`` in an order seeded per sequence; both give
every user once, whoever asks and however many ask at once (the service runs one event loop and a
hand-out has no ``await`` between choosing the user and recording it), and share one record of
what was handed out, so mixing them never repeats a user either. ``cycle`` wraps around the dump,
``random`` draws with replacement; neither is recorded.

The record is ``<dumps-dir>/<scenario>_seeds.handouts``, append-only: a header line naming the
dump's fingerprint (and the shuffle seed), then one plan index per line. Durability policy: each
line is written (one ``write`` on an ``O_APPEND`` descriptor) before the answer leaves, so a
killed service (``kill -9``) never hands a user out twice; the file is ``fsync``-ed at most every
``FSYNC_INTERVAL`` seconds and on shutdown, so only a machine crash can lose the last second of
hand-outs. The log is ``flock``-ed while a service uses it, so a second service on the same
dumps directory is refused (409) instead of handing the same users out again. A header of
another fingerprint (the dump was seeded again) starts a new sequence, except a fingerprint the dump's
``meta.repaired.replaces`` names: a repair rewrote stale users at their own indices, so what was handed
out stays handed out (the header is rewritten to the new fingerprint). A torn last line is cut off;
``reset`` replaces the file atomically with a fresh header.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import secrets
from collections.abc import Awaitable, Callable, Collection, Container, Iterable
from pathlib import Path
from typing import Any, Protocol

import orjson

from .._exceptions import SeedingError
from ..dumps._strategies import STRATEGIES, Order, Strategy, StrategySpec, strategy_spec
from ..files import open_regular, read_regular
from ._dumps import Dump
from ._errors import ApiError
from ._pool import PoolKey

__all__ = [
    "FSYNC_INTERVAL",
    "STRATEGIES",
    "HandOutBook",
    "HandOuts",
    "Quarantined",
    "Sequence",
    "Strategy",
    "draw",
    "no_quarantine",
]

FSYNC_INTERVAL = 1.0  # seconds
_VERSION = 1
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC


def log_path(dump: Path) -> Path:
    """``x_seeds.json`` → ``x_seeds.handouts``."""
    return dump.with_suffix(".handouts")


class Sequence:
    """What was handed out of one dump (one fingerprint), with its log file open for appends."""

    def __init__(self, path: Path, fingerprint: str, count: int, replaces: Iterable[str] = ()) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.count = count
        self.handed = bytearray(count)
        self.left = count
        self.shuffle_seed = 0
        self._replaces = tuple(replaces)
        # per (strategy, profile), under this sequence's shuffle seed; profile None: the whole dump
        self._orders: dict[tuple[str, str | None], Order] = {}
        self._cursors: dict[tuple[str, str | None], int] = {}  # next position (exclusive: all before it handed out)
        self._random = random.Random()
        self._fd = -1
        self.dirty = False
        self._load()

    # --- choosing --------------------------------------------------------------------------

    def take(
        self,
        strategy: Strategy,
        profile: str | None = None,
        members: list[int] | None = None,
        blocked: Container[int] = (),
    ) -> int | None:
        """The next index under ``strategy``; None when ``unique``/``shuffle`` have none left.

        With ``profile``, only among ``members`` (that profile's indices, in dump order): the
        strategy runs over them as over a dump of their own, and the record is the dump's, so a
        user is handed out once whichever profile or strategy asked. Never one in ``blocked``
        (quarantined users).
        """
        count = self.count if members is None else len(members)
        if count == 0:
            return None
        if blocked:
            return self._take_around(strategy, profile, members, blocked)
        spec = strategy_spec(strategy)
        if spec.order is None:
            drawn = spec.draw(count, self._random)
            return drawn if members is None else members[drawn]
        if spec.exclusive and not self.left:
            return None
        key = (strategy, profile)
        order = self._order(key, count)
        position = self._cursors.get(key, 0)
        at: Callable[[int], int] = (lambda p: order[p]) if members is None else (lambda p: members[order[p]])
        if not spec.exclusive:
            self._cursors[key] = (position + 1) % count  # a shared order wraps at count
            return at(position)
        while position < count and self.handed[at(position)]:  # handed out under another exclusive strategy
            position += 1
        self._cursors[key] = position
        if position == count:
            return None
        index = at(position)
        self._record(index)
        return index

    def _order(self, key: tuple[str, str | None], count: int) -> Order:
        order = self._orders.get(key)
        if order is None:
            make = strategy_spec(key[0]).order
            assert make is not None, f"{key[0]}: a drawn strategy has no order"  # take() draws those before
            order = self._orders[key] = make(count, self.shuffle_seed)
        return order

    def _take_around(
        self, strategy: Strategy, profile: str | None, members: list[int] | None, blocked: Container[int]
    ) -> int | None:
        """``take`` when some users are out: the same orders, stepping over them (slower; quarantines are few)."""
        count = self.count if members is None else len(members)
        spec = strategy_spec(strategy)
        if spec.order is None:
            return draw(spec, self.count, members, blocked, self._random)
        key = (strategy, profile)
        order = self._order(key, count)
        at: Callable[[int], int] = (lambda p: order[p]) if members is None else (lambda p: members[order[p]])
        start = self._cursors.get(key, 0)
        if not spec.exclusive:
            for step in range(count):
                index = at((start + step) % count)
                if index not in blocked:
                    self._cursors[key] = (start + step + 1) % count
                    return index
            return None
        while start < count and self.handed[at(start)]:
            start += 1
        self._cursors[key] = start  # all before it handed out; a blocked user keeps its place
        for position in range(start, count):
            index = at(position)
            if not self.handed[index] and index not in blocked:
                self._record(index)
                return index
        return None

    def waiting(self, blocked: Collection[int]) -> int:
        """How many of ``blocked`` (quarantined) are not handed out yet: ``left`` counts them, no take gives them."""
        return sum(1 for index in blocked if 0 <= index < self.count and not self.handed[index])

    def _record(self, index: int) -> None:
        os.write(self._fd, b"%d\n" % index)  # before the answer: a killed service never repeats it
        self.handed[index] = 1
        self.left -= 1
        self.dirty = True

    # --- the log ---------------------------------------------------------------------------

    def _load(self) -> None:
        """Continue the log when it is this dump's; otherwise start a new one."""
        try:
            data = read_regular(self.path, what="a hand-out log")
        except FileNotFoundError:
            data = b""
        except SeedingError as exc:
            raise ApiError(409, f"{exc}; remove it to hand this dump out again") from None
        lines = data.split(b"\n")
        header = _header(lines[0]) if data else None
        ours = header is not None and header.get("fingerprint") in (self.fingerprint, *self._replaces)
        if header is None or not ours or header.get("users") != self.count:
            self.reset()
            return
        self.shuffle_seed = int(header.get("shuffle_seed", 0))
        torn = not data.endswith(b"\n")
        for line in lines[1:-1]:  # complete lines: the last piece is empty or torn
            if line.isdigit() and (index := int(line)) < self.count and not self.handed[index]:
                self.handed[index] = 1
                self.left -= 1
        self._fd = _open_locked(self.path)
        if torn:  # killed mid-line: cut it off so the next line starts clean
            os.ftruncate(self._fd, len(data) - len(lines[-1]))
        if header.get("fingerprint") != self.fingerprint:  # a repaired dump's: continue under its new fingerprint
            self.adopt(self.fingerprint)

    def adopt(self, fingerprint: str) -> None:
        """Continue this sequence for a dump repaired in place (same users at the same indices): log rewritten."""
        self.close()
        self.fingerprint = fingerprint
        header = {"handouts": _VERSION, "fingerprint": fingerprint, "users": self.count}
        lines = [orjson.dumps({**header, "shuffle_seed": self.shuffle_seed})]
        lines += [b"%d" % index for index in range(self.count) if self.handed[index]]
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, b"\n".join(lines) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        self._fd = _open_locked(self.path)

    def reset(self) -> None:
        """Start over: nothing handed out, a new shuffle order, the log replaced atomically."""
        self.close()
        self.handed = bytearray(self.count)
        self.left = self.count
        self._orders.clear()
        self._cursors.clear()
        self.shuffle_seed = secrets.randbelow(2**31)
        header = {"handouts": _VERSION, "fingerprint": self.fingerprint, "users": self.count}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, orjson.dumps({**header, "shuffle_seed": self.shuffle_seed}) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        self._fd = _open_locked(self.path)

    def sync(self) -> None:
        """Flush the log to disk if anything was appended since the last time."""
        if self.dirty and self._fd >= 0:
            self.dirty = False
            with contextlib.suppress(OSError):
                os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1


def draw(
    spec: StrategySpec, users: int, members: list[int] | None, blocked: Container[int], rng: random.Random
) -> int | None:
    """A user drawn as ``spec`` draws them (``random``, ``zipf``), never one in ``blocked``; None: all are."""
    count = users if members is None else len(members)
    for _ in range(32):
        drawn = spec.draw(count, rng)
        index = drawn if members is None else members[drawn]
        if index not in blocked:
            return index
    allowed = [i for i in (range(count) if members is None else members) if i not in blocked]
    return rng.choice(allowed) if allowed else None


def _open_locked(path: Path) -> int:
    """The log for appends, locked: a second service on the same dumps dir would hand users out again."""
    try:
        fd = open_regular(path, what="a hand-out log", flags=_FLAGS)
    except (OSError, SeedingError) as exc:
        raise ApiError(409, f"{exc}; remove it to hand this dump out again") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ApiError(
            409, f"{path}: another process hands out this dump (a second service on this dumps dir?)"
        ) from None
    return fd


def _header(line: bytes) -> dict[str, Any] | None:  # parsed JSON: its values are checked where read
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return header if isinstance(header, dict) and header.get("handouts") == _VERSION else None


Quarantined = Callable[[], Awaitable[Collection[int]]]
"""Reads the indices of the dump's quarantined users (the pool's), for a book to step over."""


async def no_quarantine() -> Collection[int]:
    return ()


class HandOutBook(Protocol):
    """Where ``/next`` keeps what it handed out: ``HandOuts`` (the log next to the dump, one process) or
    ``RedisHandOuts`` (``serve --store redis://…``: one record for every replica)."""

    async def take(
        self,
        dump: Dump,
        strategy: Strategy,
        profile: str | None = None,
        members: list[int] | None = None,
        quarantined: Quarantined = no_quarantine,
    ) -> int | None:
        """The next index under ``strategy`` (see ``Sequence.take``), never a quarantined one; None when none is
        left. ``quarantined()`` reads the pool's quarantine: a book that sees it itself (Redis) never calls it."""
        ...

    async def reset(self, dump: Dump, quarantined: Quarantined = no_quarantine) -> int:
        """Start over (nothing handed out, a new shuffle order); the users left (all but the quarantined)."""
        ...

    async def start_over(self, dump: Dump) -> None:
        """``when_empty=cycle``: start over once the last take found none left, unless that is done already."""
        ...

    async def left(self, dump: Dump, quarantined: Quarantined = no_quarantine) -> int:
        """Users of the dump unique/shuffle can still hand out: not handed out yet, nor quarantined."""
        ...

    async def handed_out(self, key: PoolKey) -> int:
        """Users of ``key``'s dump handed out under unique/shuffle."""
        ...

    def left_all(self) -> dict[str, int]:
        """Users left per scenario, as last seen (the metrics' gauge reads it without waiting)."""
        ...

    def sync(self) -> None: ...
    def close(self) -> None: ...


class HandOuts:
    """One ``Sequence`` per scenario, replaced when the scenario's dump is: the embedded ``HandOutBook``.

    Its coroutines never wait: from choosing a user to recording it nothing else runs."""

    def __init__(self) -> None:
        self._sequences: dict[str, Sequence] = {}
        self._out: dict[str, int] = {}  # scenario → quarantined users not handed out, as last read (the gauge)

    async def take(
        self,
        dump: Dump,
        strategy: Strategy,
        profile: str | None = None,
        members: list[int] | None = None,
        quarantined: Quarantined = no_quarantine,
    ) -> int | None:
        blocked = await quarantined()  # the last wait: from here to the record, nothing else runs
        sequence = self.sequence(dump)
        index = sequence.take(strategy, profile, members, blocked)
        self._out[dump.scenario] = sequence.waiting(blocked)
        return index

    async def reset(self, dump: Dump, quarantined: Quarantined = no_quarantine) -> int:
        blocked = await quarantined()
        sequence = self.sequence(dump)
        sequence.reset()
        return self._left(dump.scenario, sequence, blocked)

    async def start_over(self, dump: Dump) -> None:
        self.sequence(dump).reset()  # one process: the take that found none and this run with nothing between

    async def left(self, dump: Dump, quarantined: Quarantined = no_quarantine) -> int:
        blocked = await quarantined()
        return self._left(dump.scenario, self.sequence(dump), blocked)

    def _left(self, scenario: str, sequence: Sequence, blocked: Collection[int]) -> int:
        self._out[scenario] = out = sequence.waiting(blocked)
        return sequence.left - out

    async def handed_out(self, key: PoolKey) -> int:
        sequence = self._sequences.get(key.scenario)
        return 0 if sequence is None or sequence.fingerprint != key.fingerprint else sequence.count - sequence.left

    def left_all(self) -> dict[str, int]:
        return {scenario: sequence.left - self._out.get(scenario, 0) for scenario, sequence in self._sequences.items()}

    def sequence(self, dump: Dump) -> Sequence:
        current = self._sequences.get(dump.scenario)
        if current is not None and current.fingerprint == dump.fingerprint:
            return current
        replaces = dump.replaces
        if current is not None and current.fingerprint in replaces and current.count == dump.count:
            current.adopt(dump.fingerprint)  # repaired in place: what was handed out stays handed out
            return current
        if current is not None:
            current.close()
        current = Sequence(log_path(dump.path), dump.fingerprint, dump.count, replaces)
        self._sequences[dump.scenario] = current
        return current

    def sync(self) -> None:
        for sequence in self._sequences.values():
            sequence.sync()

    def close(self) -> None:
        for sequence in self._sequences.values():
            sequence.close()
        self._sequences.clear()
