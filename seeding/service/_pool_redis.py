"""``RedisStore``: pools in Redis (``serve --store redis://HOST:PORT/DB``), shared by every service process.

Why Lua scripts and not ``LMOVE`` + a sorted set driven from Python: a lease is three steps that
must not interleave with another replica's (bring back what expired, take the least recently used
free user, record its holder and expiry). Client-side that is ``WATCH``/``MULTI`` with retries
that multiply under contention (200 clients on 30 users); one script is one round trip, atomic
on the server, and reads the server's clock (``TIME``), so replicas on machines whose clocks
differ still agree on when a lease expires. redis-py's ``register_script`` sends each by SHA
(``EVALSHA``) and loads it again after a Redis restart.

One pool's keys share the hash tag ``{scenario:fingerprint}`` (one cluster slot)::

    …:init   the user count, set once: the first call fills ``free``
    …:free   LIST of free indices, least recently used at the head
    …:exp    ZSET token → expires (ms)
    …:held   HASH token → "index granted"
    …:born   ZSET token → granted (ms): the oldest lease
    …:quar   HASH index → "at reason"
    …:profile:NAME  SET of a profile's indices (written once, from the dump), for ``?profile=``

Durability is Redis's own (``appendonly yes`` keeps every change; the tests run it so). When
Redis cannot be reached, each call fails with one 503 line naming it, and works again as soon as
it is back (redis-py reconnects by itself).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ._errors import ApiError
from ._pool import Lease, PoolCounts, PoolKey, Profile, QuarantineEntry

__all__ = ["RedisStore"]

log = logging.getLogger("seeding.service")

MAX_CONNECTIONS = 64

_PRELUDE = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local init, free, exp, held, born, quar = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local users = tonumber(ARGV[1])
if redis.call('SETNX', init, users) == 1 then
  for first = 0, users - 1, 1000 do
    local batch = {}
    for i = first, math.min(first + 999, users - 1) do batch[#batch + 1] = i end
    redis.call('RPUSH', free, unpack(batch))
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
"""

_LEASE = (
    _PRELUDE
    + """
local index
if ARGV[4] == '' then
  index = redis.call('LPOP', free)
else  -- the least recently used member of the profile's set (KEYS[7]): a scan, as the embedded store does
  local length, position = redis.call('LLEN', free), 0
  while position < length and not index do
    for _, candidate in ipairs(redis.call('LRANGE', free, position, position + 199)) do
      if redis.call('SISMEMBER', KEYS[7], candidate) == 1 then index = candidate break end
    end
    position = position + 200
  end
  if index then redis.call('LREM', free, 1, index) end
end
if not index then
  return {0, reaped, redis.call('HLEN', held), redis.call('HLEN', quar)}
end
local expires = now + tonumber(ARGV[2])
redis.call('HSET', held, ARGV[3], index .. ' ' .. now)
redis.call('ZADD', exp, expires, ARGV[3])
redis.call('ZADD', born, now, ARGV[3])
return {1, reaped, tonumber(index), now, expires}
"""
)

_RENEW = (
    _PRELUDE
    + """
local entry = redis.call('HGET', held, ARGV[3])
if not entry then return {0, reaped} end
local index, granted = string.match(entry, '(%d+) (%d+)')
local expires = now + tonumber(ARGV[2])
redis.call('ZADD', exp, expires, ARGV[3])
return {1, reaped, tonumber(index), tonumber(granted), expires}
"""
)

_GIVE_BACK = (
    _PRELUDE
    + """
local entry = redis.call('HGET', held, ARGV[2])
if not entry then return {0, reaped} end
local index, granted = string.match(entry, '(%d+) (%d+)')
local expires = redis.call('ZSCORE', exp, ARGV[2])
redis.call('HDEL', held, ARGV[2])
redis.call('ZREM', exp, ARGV[2])
redis.call('ZREM', born, ARGV[2])
if ARGV[3] == '' then
  redis.call('RPUSH', free, index)
else
  redis.call('HSET', quar, index, now .. ' ' .. ARGV[3])
end
return {1, reaped, tonumber(index), tonumber(granted), tonumber(expires), now}
"""
)

_RELEASE = (
    _PRELUDE
    + """
local entry = redis.call('HGET', quar, ARGV[2])
if not entry then return {0, reaped} end
redis.call('HDEL', quar, ARGV[2])
redis.call('RPUSH', free, ARGV[2])
return {1, reaped, entry}
"""
)

_COUNTS = (
    _PRELUDE
    + """
local oldest = redis.call('ZRANGE', born, 0, 0, 'WITHSCORES')
return {1, reaped, redis.call('LLEN', free), redis.call('HLEN', held), redis.call('HLEN', quar), oldest[2] or -1, now}
"""
)


class RedisStore:
    """Pools in one Redis database; ``url`` as ``redis://HOST:PORT/DB``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = url.split("@")[-1] if "@" in url else url  # never a password in answers or logs
        # At most MAX_CONNECTIONS to Redis per process; a request beyond waits for one (up to 5 s).
        connections = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=5.0, socket_connect_timeout=2.0, socket_timeout=5.0
        )
        self._redis = aioredis.Redis(connection_pool=connections)
        self._lease = self._redis.register_script(_LEASE)
        self._renew = self._redis.register_script(_RENEW)
        self._give_back = self._redis.register_script(_GIVE_BACK)
        self._release = self._redis.register_script(_RELEASE)
        self._counts = self._redis.register_script(_COUNTS)
        self._expired: list[tuple[str, float]] = []
        self._profiles: set[tuple[PoolKey, str]] = set()  # profile sets known to be in Redis

    @staticmethod
    def _keys(key: PoolKey, profile: str = "") -> list[str]:
        tag = f"seeding:pool:{{{key.scenario}:{key.fingerprint}}}:"
        return [tag + part for part in ("init", "free", "exp", "held", "born", "quar", f"profile:{profile}")]

    async def _profile(self, key: PoolKey, profile: Profile) -> None:
        """The profile's members as a set, written once (by whichever replica asks first; the same members)."""
        members, ready = self._keys(key, profile.name)[6], self._keys(key, profile.name)[6] + ":ready"
        if (key, profile.name) in self._profiles:
            return
        if not await self._redis.exists(ready):
            ordered = sorted(profile.members)
            async with self._redis.pipeline(transaction=False) as pipe:
                for first in range(0, len(ordered), 1000):
                    pipe.sadd(members, *ordered[first : first + 1000])
                pipe.set(ready, 1)
                await pipe.execute()
        self._profiles.add((key, profile.name))

    async def _run(self, script: Any, key: PoolKey, *args: object, profile: Profile | None = None) -> list[Any]:
        try:
            if profile is not None:
                await self._profile(key, profile)
            keys = self._keys(key, "" if profile is None else profile.name)
            answer: list[Any] = await script(keys=keys, args=[key.users, *args])
        except RedisError as exc:
            message = f"pool store {self.name}: unreachable or failing: {' '.join(str(exc).split())[:200]}"
            log.warning("%s", message)
            raise ApiError(503, message) from None
        self._expired += [(key.scenario, held / 1000) for held in answer[1]]
        return answer

    async def lease(self, key: PoolKey, ttl_ms: int, profile: Profile | None = None) -> Lease | PoolCounts:
        token = secrets.token_urlsafe(16)
        flag = "" if profile is None else "1"
        answer = await self._run(self._lease, key, ttl_ms, token, flag, profile=profile)
        if answer[0] == 0:
            leased, quarantined = int(answer[2]), int(answer[3])
            return PoolCounts(key.users, 0, leased, quarantined, None, 0)
        _, _, index, now, expires = answer
        return Lease(token, int(index), int(now), int(expires))

    async def renew(self, key: PoolKey, token: str, ttl_ms: int) -> Lease | None:
        answer = await self._run(self._renew, key, ttl_ms, token)
        if answer[0] == 0:
            return None
        _, _, index, granted, expires = answer
        return Lease(token, int(index), int(granted), int(expires))

    async def give_back(self, key: PoolKey, token: str) -> tuple[Lease, int] | None:
        answer = await self._run(self._give_back, key, token, "")
        if answer[0] == 0:
            return None
        _, _, index, granted, expires, now = answer
        return Lease(token, int(index), int(granted), int(expires)), int(now)

    async def quarantine(self, key: PoolKey, token: str, reason: str) -> tuple[Lease, QuarantineEntry] | None:
        answer = await self._run(self._give_back, key, token, reason)
        if answer[0] == 0:
            return None
        _, _, index, granted, expires, now = answer
        return Lease(token, int(index), int(granted), int(expires)), QuarantineEntry(int(index), reason, int(now))

    async def release(self, key: PoolKey, index: int) -> QuarantineEntry | None:
        answer = await self._run(self._release, key, index)
        if answer[0] == 0:
            return None
        return _entry(index, answer[2])

    async def quarantined(self, key: PoolKey) -> dict[int, QuarantineEntry]:
        try:
            found = await self._redis.hgetall(self._keys(key)[5])
        except RedisError as exc:
            message = f"pool store {self.name}: unreachable or failing: {' '.join(str(exc).split())[:200]}"
            log.warning("%s", message)
            raise ApiError(503, message) from None
        return {int(index): _entry(int(index), value) for index, value in found.items()}

    async def counts(self, key: PoolKey) -> PoolCounts:
        _, _, free, leased, quarantined, oldest, now = await self._run(self._counts, key)
        oldest_ms = None if int(float(oldest)) < 0 else int(float(oldest))
        return PoolCounts(key.users, int(free), int(leased), int(quarantined), oldest_ms, int(now))

    def drain_expired(self) -> list[tuple[str, float]]:
        expired, self._expired = self._expired, []
        return expired

    def sync(self) -> None:
        """Nothing to flush here: Redis keeps its own (``appendonly``)."""

    async def close(self) -> None:
        await self._redis.aclose() if hasattr(self._redis, "aclose") else await self._redis.close()


def _entry(index: int, value: bytes | str) -> QuarantineEntry:
    # redis-py types answers ``bytes | str`` (str under decode_responses, which this store does not set).
    at, _, reason = (value.decode() if isinstance(value, bytes) else value).partition(" ")
    return QuarantineEntry(index, reason, int(at))
