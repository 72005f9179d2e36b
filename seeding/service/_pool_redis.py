"""``RedisStore``: pools in Redis (``serve --store redis://HOST:PORT/DB``), shared by every service process.

Why Lua scripts and not ``LMOVE`` + a sorted set driven from Python: a lease is three steps that
must not interleave with another replica's (bring back what expired, take the least recently used
free user, record its holder and expiry). Client-side that is ``WATCH``/``MULTI`` with retries
that multiply under contention (200 clients on 30 users); one script is one round trip, atomic
on the server, and reads the server's clock (``TIME``), so replicas on machines whose clocks
differ still agree on when a lease expires. redis-py's ``register_script`` sends each by SHA
(``EVALSHA``) and loads it again after a Redis restart.

One pool's keys share the hash tag ``{scenario}`` (one cluster slot), then its fingerprint::

    seeding:pool:{scenario}:FINGERPRINT:init   the user count, set once: the first call fills ``free``
    …:free   LIST of free indices, least recently used at the head
    …:exp    ZSET token → expires (ms)
    …:held   HASH token → "index granted"
    …:born   ZSET token → granted (ms): the oldest lease
    …:quar   HASH index → "at reason"
    …:moved  the fingerprint of the dump that replaced this one in place (a repair): its pool now
    …:profile:NAME  SET of a profile's indices (written once, from the dump), for ``?profile=``
    …:handed, …:cursors, …:order:*   ``/next``'s record (``_handouts_redis``), beside the pool it serves

**A repair carries the pool over.** A repaired dump has a new fingerprint but the same users at
the same indices (``meta.repaired.replaces`` names the fingerprints it replaced). The first call
of a process for it runs ``_ADOPT``: when the new pool does not exist yet, the newest replaced
pool is renamed to it (leases held stay held, quarantined users stay out), and each replaced
fingerprint gets a ``moved`` key. A replica still serving the old dump (its copy not yet
replaced) then finds ``moved`` and follows it to the one pool, so no user gets two holders while
replicas catch up. The scenario is the hash tag, so the rename stays in one slot.

**Keys expire when a pool is idle.** Every call sets each key of its pool to expire ``IDLE_S``
(7 days) later, so the pools of dumps that no longer exist, and of soaks that finished, leave
Redis a week after their last call; a pool in use never expires (nor does a lease outlive
``MAX_TTL``, one day).

Durability is Redis's own (``appendonly yes`` keeps every change; the tests run it so). When
Redis cannot be reached, each call fails with one 503 line naming it, and works again as soon as
it is back (redis-py reconnects by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ._errors import ApiError
from ._pool import Lease, PoolCounts, PoolKey, Profile, QuarantineEntry

__all__ = ["RedisStore"]

log = logging.getLogger("seeding.service")

MAX_CONNECTIONS = 64
IDLE_S = 7 * 86_400  # seconds after its last call a pool's keys expire
_HOPS = 8  # ``moved`` keys followed at most (a dump repaired again while a replica still serves an old copy)
_PARTS = ("init", "free", "exp", "held", "born", "quar", "moved")
_HANDOUT_PARTS = ("handed", "cursors")  # ``/next``'s record (``_handouts_redis``): carried over by a repair too

# KEYS: init, free, exp, held, born, quar, moved, profile; ARGV: users, idle (ms), then each script's own.
# ``_PRELUDE`` answers {-1, fingerprint} when the pool moved (its dump was repaired), brings back what
# expired, and opens ``run()``; ``_END`` closes it and sets every key of the pool to expire after ``idle``.
_PRELUDE = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local moved = redis.call('GET', KEYS[7])
if moved then return {-1, moved} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local init, free, exp, held, born, quar = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local users, idle = tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('SETNX', init, users) == 1 then
  for first = 0, users - 1, 1000 do
    local batch = {}
    for i = first, math.min(first + 999, users - 1) do
      if redis.call('HEXISTS', quar, i) == 0 then batch[#batch + 1] = i end
    end
    if #batch > 0 then redis.call('RPUSH', free, unpack(batch)) end
  end
end
local reaped = {}
for _, token in ipairs(redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, 1000)) do
  local entry = redis.call('HGET', held, token)
  local expires = redis.call('ZSCORE', exp, token)
  redis.call('HDEL', held, token)
  redis.call('ZREM', exp, token)
  redis.call('ZREM', born, token)
  if entry then
    local index, granted = string.match(entry, '(%d+) (%d+)')
    redis.call('RPUSH', free, index)
    reaped[#reaped + 1] = tonumber(expires) - tonumber(granted)
  end
end
local function run()
"""

_END = """
end
local answer = run()
for k = 1, 6 do redis.call('PEXPIRE', KEYS[k], idle) end
if ARGV[5] == '1' then redis.call('PEXPIRE', KEYS[8], idle) end
return answer
"""

_LEASE = (
    _PRELUDE
    + """
local index
if ARGV[5] == '' then
  index = redis.call('LPOP', free)
else  -- the least recently used member of the profile's set (KEYS[8]): a scan, as the embedded store does
  if redis.call('EXISTS', KEYS[8]) == 0 then return {-2, reaped} end  -- expired: the client writes it again
  local length, position = redis.call('LLEN', free), 0
  while position < length and not index do
    for _, candidate in ipairs(redis.call('LRANGE', free, position, position + 199)) do
      if redis.call('SISMEMBER', KEYS[8], candidate) == 1 then index = candidate break end
    end
    position = position + 200
  end
  if index then redis.call('LREM', free, 1, index) end
end
if not index then
  return {0, reaped, redis.call('HLEN', held), redis.call('HLEN', quar)}
end
local expires = now + tonumber(ARGV[3])
redis.call('HSET', held, ARGV[4], index .. ' ' .. now)
redis.call('ZADD', exp, expires, ARGV[4])
redis.call('ZADD', born, now, ARGV[4])
return {1, reaped, tonumber(index), now, expires}
"""
    + _END
)

_RENEW = (
    _PRELUDE
    + """
local entry = redis.call('HGET', held, ARGV[4])
if not entry then return {0, reaped} end
local index, granted = string.match(entry, '(%d+) (%d+)')
local expires = now + tonumber(ARGV[3])
redis.call('ZADD', exp, expires, ARGV[4])
return {1, reaped, tonumber(index), tonumber(granted), expires}
"""
    + _END
)

_GIVE_BACK = (
    _PRELUDE
    + """
local entry = redis.call('HGET', held, ARGV[3])
if not entry then return {0, reaped} end
local index, granted = string.match(entry, '(%d+) (%d+)')
local expires = redis.call('ZSCORE', exp, ARGV[3])
redis.call('HDEL', held, ARGV[3])
redis.call('ZREM', exp, ARGV[3])
redis.call('ZREM', born, ARGV[3])
if ARGV[4] == '' then
  redis.call('RPUSH', free, index)
else
  redis.call('HSET', quar, index, now .. ' ' .. ARGV[4])
end
return {1, reaped, tonumber(index), tonumber(granted), tonumber(expires), now}
"""
    + _END
)

_RELEASE = (
    _PRELUDE
    + """
local entry = redis.call('HGET', quar, ARGV[3])
if not entry then return {0, reaped} end
redis.call('HDEL', quar, ARGV[3])
redis.call('RPUSH', free, ARGV[3])
return {1, reaped, entry}
"""
    + _END
)

_QUARANTINED = (
    _PRELUDE
    + """
return {1, reaped, redis.call('HGETALL', quar)}
"""
    + _END
)

_COUNTS = (
    _PRELUDE
    + """
local oldest = redis.call('ZRANGE', born, 0, 0, 'WITHSCORES')
return {1, reaped, redis.call('LLEN', free), redis.call('HLEN', held), redis.call('HLEN', quar), oldest[2] or -1, now}
"""
    + _END
)

# KEYS: the new pool's nine (init … moved, then handed, cursors), then nine per replaced fingerprint, newest
# first. ARGV: users, idle (ms), the new fingerprint. Atomic: no replica leases or hands out from either meanwhile.
_ADOPT = """
local users, idle = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = 9
local replaced = #KEYS / n - 1
local function carry(found, first, last)  -- rename parts first..last of the first replaced pool found(base) names
  for o = 1, replaced do
    local base = o * n
    if found(base) then
      for k = first, last do
        if redis.call('EXISTS', KEYS[base + k]) == 1 then redis.call('RENAME', KEYS[base + k], KEYS[k]) end
        redis.call('PEXPIRE', KEYS[k], idle)
      end
      return
    end
  end
end
if redis.call('EXISTS', KEYS[7]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then
    carry(function(base) return tonumber(redis.call('GET', KEYS[base + 1])) == users end, 1, 6)
  end
  if redis.call('EXISTS', KEYS[9]) == 0 then
    carry(function(base) return tonumber(redis.call('HGET', KEYS[base + 9], '#users')) == users end, 8, 9)
  end
end
for o = 1, replaced do  -- a replaced pool moved here, or never used: a replica serving that dump uses this one
  local base = o * n
  if redis.call('EXISTS', KEYS[base + 1]) == 0 and redis.call('EXISTS', KEYS[base + 9]) == 0 then
    redis.call('SET', KEYS[base + 7], ARGV[3], 'PX', idle)
  end
end
return 1
"""


class RedisStore:
    """Pools in one Redis database (``redis://HOST:PORT/DB``); keys expire ``idle_s`` after a pool's last call."""

    def __init__(self, url: str, *, idle_s: float = IDLE_S) -> None:
        self.url = url
        self.name = url.split("@")[-1] if "@" in url else url  # never a password in answers or logs
        self.idle_ms = max(1, round(idle_s * 1000))
        # At most MAX_CONNECTIONS to Redis per process; a request beyond waits for one (up to 5 s).
        connections = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=5.0, socket_connect_timeout=5.0, socket_timeout=5.0
        )
        self._connections = connections
        self._redis = aioredis.Redis(connection_pool=connections)
        # One call at a time per connection, in arrival order: the pool's own wait lets a newcomer take a
        # connection before one notified earlier, and 200 waiting leases on a saturated loop saw 5 s pass
        # ("No connection available"); queued here first (FIFO), a call never waits in the pool at all.
        self._turns = asyncio.Semaphore(MAX_CONNECTIONS)
        self._lease = self._redis.register_script(_LEASE)
        self._renew = self._redis.register_script(_RENEW)
        self._give_back = self._redis.register_script(_GIVE_BACK)
        self._release = self._redis.register_script(_RELEASE)
        self._quarantined = self._redis.register_script(_QUARANTINED)
        self._counts = self._redis.register_script(_COUNTS)
        self._adopt = self._redis.register_script(_ADOPT)
        self._expired: list[tuple[str, float]] = []
        self._profiles: set[tuple[str, str, str]] = set()  # (scenario, fingerprint, profile) sets known in Redis
        self._adopted: set[tuple[str, str]] = set()  # (scenario, fingerprint) of repaired dumps carried over
        self._moved: dict[tuple[str, str], str] = {}  # (scenario, fingerprint) → the fingerprint its pool moved to

    @staticmethod
    def key(scenario: str, fingerprint: str, part: str) -> str:
        """A key of the pool of ``scenario``'s dump of ``fingerprint``: every one shares the hash tag ``{scenario}``."""
        return f"seeding:pool:{{{scenario}}}:{fingerprint}:{part}"

    @classmethod
    def _keys(cls, scenario: str, fingerprint: str, profile: str = "") -> list[str]:
        return [cls.key(scenario, fingerprint, part) for part in (*_PARTS, f"profile:{profile}")]

    def script(self, text: str) -> Any:
        """A Lua script for ``call`` (sent by SHA, loaded again after a Redis restart)."""
        return self._redis.register_script(text)

    async def _profile(self, scenario: str, fingerprint: str, profile: Profile) -> None:
        """The profile's members as a set, written once (by whichever replica asks first; the same members)."""
        if (scenario, fingerprint, profile.name) in self._profiles:
            return
        members = self._keys(scenario, fingerprint, profile.name)[7]
        if profile.members and not await self._redis.exists(members):
            ordered = sorted(profile.members)
            async with self._redis.pipeline(transaction=True) as pipe:  # all or nothing: the set is whole
                for first in range(0, len(ordered), 1000):
                    pipe.sadd(members, *ordered[first : first + 1000])
                pipe.pexpire(members, self.idle_ms)
                await pipe.execute()
        self._profiles.add((scenario, fingerprint, profile.name))

    async def _home(self, key: PoolKey) -> str:
        """The fingerprint whose keys hold ``key``'s pool: a repaired dump's pool carried over first, moves followed."""
        if key.replaces and (key.scenario, key.fingerprint) not in self._adopted:
            keys = []
            for fingerprint in (key.fingerprint, *key.replaces[:16]):
                keys += [self.key(key.scenario, fingerprint, part) for part in (*_PARTS, *_HANDOUT_PARTS)]
            await self._adopt(keys=keys, args=[key.users, self.idle_ms, key.fingerprint])
            if len(self._adopted) > 10_000:
                self._adopted.clear()
            self._adopted.add((key.scenario, key.fingerprint))
        fingerprint = key.fingerprint
        for _ in range(_HOPS):
            fingerprint = self._moved.get((key.scenario, fingerprint), fingerprint)
        return fingerprint

    async def _run(self, script: Any, key: PoolKey, *args: object, profile: Profile | None = None) -> list[Any]:
        name = "" if profile is None else profile.name
        async with self._turns:
            answer = await self._run_now(script, key, lambda fp: self._keys(key.scenario, fp, name), args, profile)
        with self.reading(key):
            self._expired += [(key.scenario, int(held) / 1000) for held in answer[1]]
        return answer

    @contextlib.contextmanager
    def reading(self, key: PoolKey) -> Iterator[None]:
        """Reading a script's answer: one no script gives (a key of the pool holding what this service never
        wrote there, such as a free list of words) is one 503 line, not a 500 with a traceback."""
        try:
            yield
        except (ValueError, TypeError, IndexError, AttributeError, UnicodeDecodeError) as exc:
            message = (
                f"pool store {self.name}: the pool of scenario {key.scenario!r} holds data this service did not "
                f"write ({' '.join(str(exc).split())[:100]}); delete its keys (seeding:pool:{{{key.scenario}}}:*), "
                "or repair the dump for a new pool"
            )
            log.warning("%s", message)
            raise ApiError(503, message) from None

    async def call(self, script: Any, key: PoolKey, keys: Callable[[str], list[str]], *args: object) -> list[Any]:
        """``script`` on ``key``'s pool: KEYS ``keys(fingerprint)`` of the pool's home (a repair's carried over,
        moves followed), ARGV ``users, idle (ms), *args``. It answers ``{-1, fingerprint}`` when the pool moved
        there (``KEYS[1]`` is its ``moved``); Redis failing is one 503 line."""
        async with self._turns:
            return await self._run_now(script, key, keys, args, None)

    async def _run_now(
        self, script: Any, key: PoolKey, keys_of: Callable[[str], list[str]], args: tuple[object, ...],
        profile: Profile | None,
    ) -> list[Any]:  # fmt: skip
        try:
            fingerprint = await self._home(key)
            for _ in range(_HOPS):
                if profile is not None:
                    await self._profile(key.scenario, fingerprint, profile)
                keys = keys_of(fingerprint)
                answer: list[Any] = await script(keys=keys, args=[key.users, self.idle_ms, *args])
                if answer[0] == -1:  # its dump was repaired in place: the pool lives under the new fingerprint
                    moved = answer[1].decode() if isinstance(answer[1], bytes) else str(answer[1])
                    if len(self._moved) > 10_000:
                        self._moved.clear()
                    self._moved[(key.scenario, fingerprint)] = fingerprint = moved
                    continue
                if answer[0] == -2 and profile is not None:  # the profile's set expired: write it again
                    self._profiles.discard((key.scenario, fingerprint, profile.name))
                    continue
                break
            else:
                raise ApiError(503, f"pool store {self.name}: the pool of scenario {key.scenario!r} moved too often")
        except RedisError as exc:
            message = f"pool store {self.name}: unreachable or failing: {' '.join(str(exc).split())[:200]}"
            log.warning("%s", message)
            raise ApiError(503, message) from None
        return answer

    async def lease(self, key: PoolKey, ttl_ms: int, profile: Profile | None = None) -> Lease | PoolCounts:
        token = secrets.token_urlsafe(16)
        flag = "" if profile is None else "1"
        answer = await self._run(self._lease, key, ttl_ms, token, flag, profile=profile)
        with self.reading(key):
            if answer[0] == 0:
                leased, quarantined = int(answer[2]), int(answer[3])
                return PoolCounts(key.users, 0, leased, quarantined, None, 0)
            _, _, index, now, expires = answer
            return Lease(token, _index(index, key), int(now), int(expires))

    async def renew(self, key: PoolKey, token: str, ttl_ms: int) -> Lease | None:
        answer = await self._run(self._renew, key, ttl_ms, token)
        if answer[0] == 0:
            return None
        with self.reading(key):
            _, _, index, granted, expires = answer
            return Lease(token, _index(index, key), int(granted), int(expires))

    async def give_back(self, key: PoolKey, token: str) -> tuple[Lease, int] | None:
        answer = await self._run(self._give_back, key, token, "")
        if answer[0] == 0:
            return None
        with self.reading(key):
            _, _, index, granted, expires, now = answer
            return Lease(token, _index(index, key), int(granted), int(expires)), int(now)

    async def quarantine(self, key: PoolKey, token: str, reason: str) -> tuple[Lease, QuarantineEntry] | None:
        answer = await self._run(self._give_back, key, token, reason)
        if answer[0] == 0:
            return None
        with self.reading(key):
            _, _, index, granted, expires, now = answer
            index = _index(index, key)
            return Lease(token, index, int(granted), int(expires)), QuarantineEntry(index, reason, int(now))

    async def release(self, key: PoolKey, index: int) -> QuarantineEntry | None:
        answer = await self._run(self._release, key, index)
        if answer[0] == 0:
            return None
        with self.reading(key):
            return _entry(index, answer[2])

    async def quarantined(self, key: PoolKey) -> dict[int, QuarantineEntry]:
        answer = await self._run(self._quarantined, key)
        with self.reading(key):
            flat = answer[2]
            return {
                _index(at, key): _entry(_index(at, key), value) for at, value in zip(flat[::2], flat[1::2], strict=True)
            }

    async def counts(self, key: PoolKey) -> PoolCounts:
        answer = await self._run(self._counts, key)
        with self.reading(key):
            _, _, free, leased, quarantined, oldest, now = answer
            oldest_ms = None if int(float(oldest)) < 0 else int(float(oldest))
            return PoolCounts(key.users, int(free), int(leased), int(quarantined), oldest_ms, int(now))

    def drain_expired(self) -> list[tuple[str, float]]:
        expired, self._expired = self._expired, []
        return expired

    def sync(self) -> None:
        """Nothing to flush here: Redis keeps its own (``appendonly``)."""

    async def close(self) -> None:
        # A client given its pool leaves it open on close: its connections must go before the event loop does.
        await self._redis.aclose()
        await self._connections.disconnect()


def _index(value: Any, key: PoolKey) -> int:
    """A user's index from the pool's keys: one of the dump's, or ``ValueError`` (read as damage)."""
    index = int(value)
    if not 0 <= index < key.users:
        raise ValueError(f"user {index} is not one of the dump's {key.users}")
    return index


def _entry(index: int, value: bytes | str) -> QuarantineEntry:
    # redis-py types answers ``bytes | str`` (str under decode_responses, which this store does not set).
    at, _, reason = (value.decode() if isinstance(value, bytes) else value).partition(" ")
    return QuarantineEntry(index, reason, int(at))
