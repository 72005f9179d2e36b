"""Pools that recycle: a seeded user leased to one holder at a time, given back, or quarantined.

``Pools`` is what the routes call: it checks nothing about HTTP, turns a store's answer into a
lease or a one-line ``ApiError``, waits (``wait``) for a user to come free, and keeps what one
replica sees (take and return rates, the lease-age histogram). Where the state lives is a
``PoolStore``: ``EmbeddedStore`` (the append-only file next to the dump, one process) or
``RedisStore`` (``serve --store redis://HOST:PORT/DB``, many processes on many machines). Both keep
the same rules: least recently used first; a lease not renewed by ``expires`` comes back by
itself; a quarantined user is never leased (nor handed out by ``/next``) until released.

A lease's ID is ``<token>.<scenario>``: the token is ``secrets.token_urlsafe(16)`` (unguessable;
its alphabet has no ``.``), the scenario says which pool to ask, so an ID works on every replica
and after a restart.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from ..dumps._pool_file import Lease, QuarantineEntry
from ._errors import ApiError

__all__ = [
    "MAX_TTL",
    "MAX_WAIT",
    "MIN_TTL",
    "POLL",
    "Lease",
    "PoolCounts",
    "PoolKey",
    "PoolStore",
    "Pools",
    "Profile",
    "QuarantineEntry",
    "iso",
    "lease_id",
    "parse_lease_id",
    "seconds",
]

T = TypeVar("T")

log = logging.getLogger("seeding.service")

MAX_TTL = 86_400.0  # seconds: a lease longer than a day is a user lost, not a lease
MIN_TTL = 0.001  # seconds: the stores count in milliseconds; a shorter lease was granted already expired
MAX_WAIT = 60.0  # seconds a request may wait for a user to come free (HTTP clients give up around there)
POLL = 0.1  # seconds between retries while waiting (expiries, other replicas); a local return wakes at once
POLL_MAX = 0.8  # the retries back off (doubling) to this: 200 waiters polling every 0.1 s are 2,000 store calls/s
WINDOW = 60.0  # seconds the rates are taken over
_TOKEN_LENGTH = 22  # secrets.token_urlsafe(16)
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class PoolKey:
    """One dump's pool: a new dump of the scenario (another fingerprint) is a new pool, except a repair.

    ``replaces``: the fingerprints the dump replaced in place (``meta.repaired.replaces``, newest
    first). A repair rewrites stale users at their own indices, so a store finding the pool of one
    of them carries it over: a live lease stays held, a quarantined user stays out."""

    scenario: str
    fingerprint: str
    users: int
    replaces: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Profile:
    """The users of one profile of the dump: a lease with ``?profile=`` takes only from them."""

    name: str
    members: frozenset[int]


@dataclass(frozen=True)
class PoolCounts:
    users: int
    free: int
    leased: int
    quarantined: int
    oldest_granted: int | None  # ms since the epoch
    now: int  # ms since the epoch, on the store's clock


class PoolStore(Protocol):
    """Where pools live. Times are ms since the epoch on the store's clock; ``None``: no such lease/entry."""

    name: str

    async def lease(self, key: PoolKey, ttl_ms: int, profile: Profile | None = None) -> Lease | PoolCounts: ...
    async def renew(self, key: PoolKey, token: str, ttl_ms: int) -> Lease | None: ...
    async def give_back(self, key: PoolKey, token: str) -> tuple[Lease, int] | None: ...
    async def quarantine(self, key: PoolKey, token: str, reason: str) -> tuple[Lease, QuarantineEntry] | None: ...
    async def release(self, key: PoolKey, index: int) -> QuarantineEntry | None: ...
    async def quarantined(self, key: PoolKey) -> dict[int, QuarantineEntry]: ...
    async def counts(self, key: PoolKey) -> PoolCounts: ...
    def drain_expired(self) -> list[tuple[str, float]]:
        """(scenario, seconds held) of each lease that expired since the last call."""
        ...

    def sync(self) -> None: ...
    async def close(self) -> None: ...


def iso(ms: int) -> str:
    """``2026-12-03T06:31:07.412Z`` (UTC, milliseconds); each lease and return answers with one or two."""
    second, millis = divmod(ms, 1000)
    return f"{_iso_second(second)}.{millis:03d}Z"


@functools.lru_cache(maxsize=256)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def lease_id(scenario: str, token: str) -> str:
    return f"{token}.{scenario}"


def parse_lease_id(text: str) -> tuple[str, str]:
    """(token, scenario) of a lease ID; a 404 naming it when it cannot be one."""
    token, _, scenario = text.partition(".")
    if len(token) != _TOKEN_LENGTH or not _TOKEN_CHARS.issuperset(token) or not scenario:
        raise ApiError(404, f"no lease {text[:80]!r} (not a lease ID)")
    return token, scenario


def _gone(key: PoolKey, token: str) -> ApiError:
    return ApiError(404, f"no lease {lease_id(key.scenario, token)!r}: unknown, already returned, or expired")


class _Rate:
    """Events per second over the last ``WINDOW`` seconds (or since the first, when sooner)."""

    def __init__(self) -> None:
        self._buckets: collections.deque[list[int]] = collections.deque()  # [second, count]
        self._since = time.monotonic()

    def add(self, count: int = 1) -> None:
        second = int(time.monotonic())
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([second, count])
            self._trim(second)

    def _trim(self, second: int) -> None:
        while self._buckets and self._buckets[0][0] <= second - WINDOW:
            self._buckets.popleft()

    def per_second(self) -> float:
        now = time.monotonic()
        self._trim(int(now))
        span = min(WINDOW, max(1.0, now - self._since))
        return sum(count for _, count in self._buckets) / span


class _Seen:
    """What this replica saw of one pool: rates, and the key to read its counts with."""

    def __init__(self, key: PoolKey) -> None:
        self.key = key
        self.takes = _Rate()
        self.returns = _Rate()


class Pools:
    """Leases, returns and quarantines of every dump's pool, over one ``PoolStore``."""

    def __init__(self, store: PoolStore) -> None:
        self.store = store
        self._waiters: dict[str, collections.deque[asyncio.Future[None]]] = {}
        self._seen: dict[str, _Seen] = {}
        self.on_take: Callable[[str], None] = lambda scenario: None
        self.on_return: Callable[[str, float, str], None] = lambda scenario, held, how: None
        self._empty: set[tuple[str, str | None]] = set()  # (scenario, profile) found empty, said once until a lease

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        finally:
            for scenario, held in self.store.drain_expired():
                self._saw(scenario).returns.add()
                self.on_return(scenario, held, "expired")

    def _saw(self, scenario: str, key: PoolKey | None = None) -> _Seen:
        seen = self._seen.get(scenario)
        if seen is not None and key is not None and seen.key != key and seen.key.fingerprint in key.replaces:
            seen.key = key  # repaired in place: the same pool, its rates go on
        if seen is None or (key is not None and seen.key != key):
            seen = self._seen[scenario] = _Seen(key) if key is not None else _Seen(PoolKey(scenario, "", 0))
        return seen

    async def lease(self, key: PoolKey, ttl: float, wait: float, profile: Profile | None = None) -> Lease:
        """A user (of ``profile``) for ``ttl`` seconds, waiting up to ``wait`` for one to come free; 409 otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        seen = self._saw(key.scenario, key)
        ttl_ms = max(1, round(ttl * 1000))
        poll = POLL
        while True:
            got = await self._call(self.store.lease(key, ttl_ms, profile))
            if isinstance(got, Lease):
                seen.takes.add()
                self.on_take(key.scenario)
                self._empty.discard((key.scenario, profile.name if profile is not None else None))
                return got
            self._said_empty(key.scenario, profile, got)
            remaining = deadline - loop.time()
            if remaining <= 0:
                of = f" of profile {profile.name!r}" if profile is not None else ""
                waited = f" after waiting {wait:g} s" if wait else "; ?wait=SECONDS waits for one"
                raise ApiError(
                    409,
                    f"scenario {key.scenario!r}: no user{of} free{waited}: {got.leased} leased, "
                    f"{got.quarantined} quarantined, of {got.users}",
                )
            waiter = loop.create_future()
            waiters = self._waiters.setdefault(key.scenario, collections.deque())
            waiters.append(waiter)
            try:
                await asyncio.wait({waiter}, timeout=min(remaining, poll))
            finally:
                if not waiter.done():
                    waiter.cancel()
                    poll = min(POLL_MAX, 2 * poll)  # not woken by a return here: ask the store less often

    def _said_empty(self, scenario: str, profile: Profile | None, counts: Any) -> None:
        """One log line when a pool (or a profile's part of it) has no user free, not one per refused lease."""
        empty = (scenario, profile.name if profile is not None else None)
        if empty in self._empty:
            return
        self._empty.add(empty)
        of = f" (profile {profile.name!r})" if profile is not None else ""
        log.warning(
            "pool %s%s is empty: %d leased, %d quarantined, of %d users; leases wait or are refused (409)",
            scenario,
            of,
            counts.leased,
            counts.quarantined,
            counts.users,
        )

    def _wake(self, scenario: str) -> None:
        """A user came free: the longest waiter tries again now."""
        waiters = self._waiters.get(scenario)
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def renew(self, key: PoolKey, token: str, ttl: float) -> Lease:
        renewed = await self._call(self.store.renew(key, token, max(1, round(ttl * 1000))))
        if renewed is None:
            raise _gone(key, token)
        return renewed

    async def give_back(self, key: PoolKey, token: str) -> tuple[Lease, int]:
        returned = await self._call(self.store.give_back(key, token))
        if returned is None:
            raise _gone(key, token)
        held, now = returned
        self._saw(key.scenario, key).returns.add()
        self.on_return(key.scenario, (now - held.granted) / 1000, "returned")
        self._wake(key.scenario)
        return returned

    async def quarantine(self, key: PoolKey, token: str, reason: str) -> tuple[Lease, QuarantineEntry]:
        done = await self._call(self.store.quarantine(key, token, reason))
        if done is None:
            raise ApiError(
                404,
                f"no lease {lease_id(key.scenario, token)!r}: unknown, already returned, or expired "
                "(only a user's holder quarantines it)",
            )
        held, entry = done
        self.on_return(key.scenario, (entry.at - held.granted) / 1000, "quarantined")
        return done

    async def release(self, key: PoolKey, index: int) -> QuarantineEntry:
        entry = await self._call(self.store.release(key, index))
        if entry is None:
            raise ApiError(404, f"scenario {key.scenario!r}: user #{index} is not quarantined")
        self._wake(key.scenario)
        return entry

    async def quarantined(self, key: PoolKey) -> dict[int, QuarantineEntry]:
        return await self._call(self.store.quarantined(key))

    async def state(self, key: PoolKey, handed_out: int) -> dict[str, Any]:
        """What ``GET …/pool`` answers: counts, rates over the last minute, and when nothing is left at them."""
        counts: PoolCounts = await self._call(self.store.counts(key))
        seen = self._saw(key.scenario, key)
        takes, returns = seen.takes.per_second(), seen.returns.per_second()
        if counts.free == 0:
            empty_in: float | None = 0.0
        elif takes > returns:
            empty_in = round(counts.free / (takes - returns), 1)
        else:
            empty_in = None
        oldest = None if counts.oldest_granted is None else max(0.0, (counts.now - counts.oldest_granted) / 1000)
        return {
            "scenario": key.scenario,
            "store": self.store.name,
            "users": counts.users,
            "free": counts.free,
            "leased": counts.leased,
            "quarantined": counts.quarantined,
            "handed_out": handed_out,
            "oldest_lease_s": None if oldest is None else round(oldest, 3),
            "take_per_s": round(takes, 3),
            "return_per_s": round(returns, 3),
            "empty_in_s": empty_in,
        }

    def known(self) -> list[PoolKey]:
        """The pools this replica has served, for the metrics."""
        return [seen.key for seen in self._seen.values() if seen.key.fingerprint]

    def sync(self) -> None:
        self.store.sync()

    async def close(self) -> None:
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.cancel()
        await self.store.close()


def seconds(
    text: str | None, name: str, *, upper: float, allow_zero: bool, default: float | None = None, lower: float = 0.0
) -> float:
    """A query parameter in seconds: a finite number, above 0 (or at 0 when ``allow_zero``), at least ``lower``,
    at most ``upper``."""
    if text is None:
        if default is None:
            raise ApiError(400, f"{name}: missing; give it in seconds (?{name}=30)")
        return default
    try:
        value = float(text)
    except ValueError:
        raise ApiError(400, f"{name}={text[:40]!r}: not a number of seconds") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        floor = "at least 0" if allow_zero else "above 0"
        raise ApiError(400, f"{name}={text[:40]!r}: must be {floor} seconds")
    if value > upper:
        raise ApiError(400, f"{name}={text[:40]!r}: at most {upper:g} seconds")
    if value < lower:
        raise ApiError(400, f"{name}={text[:40]!r}: at least {lower:g} seconds")
    return value
