"""``RedisHandOuts``: ``/next``'s record in Redis (``serve --store redis://…``), one for every replica.

With the embedded store each service process keeps its own log of what ``unique`` and ``shuffle``
handed out, so two replicas behind one load balancer would each hand the same user out once. Under
``--store redis://`` the record is the pool's, in the same Redis and under the same hash tag, and a
hand-out is one Lua script: it steps the strategy's cursor past users already handed out (under any
strategy, by any replica), marks the user in a bitmap and answers it, atomically. The same rules as
the embedded log: each user once under ``unique``/``shuffle`` until ``reset``, whichever replica,
profile or strategy asked; a quarantined user is stepped over and keeps its place.

Keys, beside the pool's (``_pool_redis``)::

    seeding:pool:{scenario}:FINGERPRINT:handed   bitmap: bit i set once user i was handed out
    …:cursors   HASH "strategy|profile" → next position, "#seed" → the shuffle seed, "#users" → the count
    …:order:strategy|profile   the order, position → dump index: the seed (12 digits), then fixed-width
                               indices; written by the first replica that needs it (the script asks)

A shuffle order is Python's (``shuffled(count, seed)``), so the script cannot draw it: a replica
computes it from the seed every replica reads from ``#seed`` and hands it over once; a reset draws a
new seed, and an order of another seed is written again. ``cycle`` shares its cursor too; ``random``
and ``zipf`` draw in each replica (there is nothing to share). A repaired dump carries the record over
as it carries the pool (same users at the same indices). Keys expire a week after the pool's last call.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable

from ..dumps._strategies import Strategy, strategy_spec
from ._dumps import Dump
from ._errors import ApiError
from ._handouts import Quarantined, draw, no_quarantine
from ._pool import PoolKey
from ._pool_redis import RedisStore

__all__ = ["RedisHandOuts"]

_HEAD = 12  # digits of the seed at the head of an order (the scripts' 12 and '%012d')

# KEYS: moved, handed, cursors, order, quar (the pool's quarantine). ARGV: users, idle (ms), field, count
# (positions), width, exclusive ('1'/'0'), a seed should the pool have none, the order ('' unless the script asked).
# Answers {1, index, left}, {0, -1, left, generation} when none is left, {-2, seed} for the order,
# {-1, fingerprint} when the pool moved.
_TAKE = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local moved = redis.call('GET', KEYS[1])
if moved then return {-1, moved} end
local handed, cursors, order, quar = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local users, idle, field = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local count, width = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('HSETNX', cursors, '#users', users)
redis.call('HSETNX', cursors, '#seed', ARGV[7])
local seed = redis.call('HGET', cursors, '#seed')
local head = string.format('%012d', tonumber(seed))
if ARGV[8] ~= '' and string.sub(ARGV[8], 1, 12) == head then redis.call('SET', order, ARGV[8]) end
redis.call('PEXPIRE', cursors, idle)
if redis.call('GETRANGE', order, 0, 11) ~= head then return {-2, seed} end
local function at(p)
  local first = 12 + p * width
  return tonumber(redis.call('GETRANGE', order, first, first + width - 1))
end
local position = tonumber(redis.call('HGET', cursors, field) or '0')
local answer = -1
if ARGV[6] == '1' then
  while position < count and redis.call('GETBIT', handed, at(position)) == 1 do position = position + 1 end
  redis.call('HSET', cursors, field, position)  -- all before it handed out; a blocked user keeps its place
  for p = position, count - 1 do
    local index = at(p)
    if redis.call('GETBIT', handed, index) == 0 and redis.call('HEXISTS', quar, index) == 0 then
      redis.call('SETBIT', handed, index, 1)
      answer = index
      break
    end
  end
else
  for step = 0, count - 1 do
    local p = (position + step) % count
    local index = at(p)
    if redis.call('HEXISTS', quar, index) == 0 then
      redis.call('HSET', cursors, field, (p + 1) % count)
      answer = index
      break
    end
  end
end
redis.call('PEXPIRE', handed, idle)
redis.call('PEXPIRE', order, idle)
local left = users - redis.call('BITCOUNT', handed)
for _, index in ipairs(redis.call('HKEYS', quar)) do  -- quarantined, not handed out: no take gives them
  local i = tonumber(index)
  if i and i >= 0 and i < users and redis.call('GETBIT', handed, i) == 0 then left = left - 1 end
end
if answer < 0 then return {0, -1, left, tonumber(redis.call('HGET', cursors, '#gen') or '0')} end
return {1, answer, left}
"""

# KEYS: moved, handed, cursors. ARGV: users, idle (ms), the new seed, the generation to start over from ('': any).
# Answers {1, generation} started, {2, generation} when the record is past that generation already (started over).
_RESET = """
local moved = redis.call('GET', KEYS[1])
if moved then return {-1, moved} end
local generation = tonumber(redis.call('HGET', KEYS[3], '#gen') or '0')
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= generation then return {2, generation} end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[3], '#users', ARGV[1], '#seed', ARGV[3], '#gen', generation + 1)
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[2]))
return {1, generation + 1}
"""

# KEYS: moved, handed, quar. ARGV: users, idle (ms), '1' to leave the quarantined out. Answers {1, left}.
_LEFT = """
local moved = redis.call('GET', KEYS[1])
if moved then return {-1, moved} end
local users = tonumber(ARGV[1])
local left = users - redis.call('BITCOUNT', KEYS[2])
if ARGV[3] ~= '1' then return {1, left} end
for _, index in ipairs(redis.call('HKEYS', KEYS[3])) do
  local i = tonumber(index)
  if i and i >= 0 and i < users and redis.call('GETBIT', KEYS[2], i) == 0 then left = left - 1 end
end
return {1, left}
"""


class RedisHandOuts:
    """The ``HandOutBook`` of a service whose pools are in Redis: the store's connections, one record for all."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self._take = store.script(_TAKE)
        self._reset = store.script(_RESET)
        self._left = store.script(_LEFT)
        self._random = random.Random()
        self._seen: dict[str, int] = {}  # scenario → users left, as last answered (the metrics' gauge)
        self._emptied: dict[str, int] = {}  # scenario → the record's generation a take last found with none left

    def _keys(self, scenario: str, *parts: str) -> Callable[[str], list[str]]:
        """The script's KEYS under a fingerprint: the pool's ``moved`` first, then ``parts``."""
        return lambda fingerprint: [self.store.key(scenario, fingerprint, part) for part in ("moved", *parts)]

    async def take(
        self,
        dump: Dump,
        strategy: Strategy,
        profile: str | None = None,
        members: list[int] | None = None,
        quarantined: Quarantined = no_quarantine,
    ) -> int | None:
        count = dump.count if members is None else len(members)
        if count == 0:
            return None
        spec = strategy_spec(strategy)
        if spec.order is None:  # drawn: nothing to share
            return draw(spec, dump.count, members, await quarantined(), self._random)
        field = f"{spec.name}|{profile or ''}"
        keys = self._keys(dump.scenario, "handed", "cursors", f"order:{field}", "quar")  # quarantine read there
        width = len(str(max(dump.count - 1, 0)))
        order = b""
        for _ in range(3):  # the order is written at most once per seed; a reset meanwhile asks again
            answer = await self.store.call(
                self._take, dump.pool_key, keys, field, count, width, int(spec.exclusive),
                self._random.randrange(2**31), order,  # a seed, used only by a record that has none yet
            )  # fmt: skip
            if answer[0] != -2:
                break
            order = _order(spec.name, count, int(answer[1]), members, width)
        else:
            raise ApiError(503, f"pool store {self.store.name}: scenario {dump.scenario!r} was reset over and over")
        self._seen[dump.scenario] = int(answer[2])
        if answer[0] == 1:
            return int(answer[1])
        self._emptied[dump.scenario] = int(answer[3])
        return None

    async def reset(self, dump: Dump, quarantined: Quarantined = no_quarantine) -> int:
        """``quarantined`` unread: the scripts read the pool's quarantine themselves."""
        await self._start(dump, "")
        return await self._count(dump.pool_key)

    async def start_over(self, dump: Dump) -> None:
        """Only the generation a take of this replica found empty: replicas finding it empty together start over
        once, not once each (each reset would hand the users of the round just begun out again)."""
        await self._start(dump, str(self._emptied.get(dump.scenario, "")))  # kept: calls alongside find it too

    async def _start(self, dump: Dump, generation: str) -> None:
        keys = self._keys(dump.scenario, "handed", "cursors")
        await self.store.call(self._reset, dump.pool_key, keys, secrets.randbelow(2**31), generation)
        self._seen.pop(dump.scenario, None)  # the next answer says how many are left

    async def left(self, dump: Dump, quarantined: Quarantined = no_quarantine) -> int:
        return await self._count(dump.pool_key)

    async def handed_out(self, key: PoolKey) -> int:
        answer = await self.store.call(self._left, key, self._keys(key.scenario, "handed", "quar"), "0")
        return key.users - int(answer[1])

    async def _count(self, key: PoolKey) -> int:
        answer = await self.store.call(self._left, key, self._keys(key.scenario, "handed", "quar"), "1")
        self._seen[key.scenario] = left = int(answer[1])
        return left

    def left_all(self) -> dict[str, int]:
        return dict(self._seen)

    def sync(self) -> None:
        """Nothing to flush: Redis keeps its own (``appendonly``)."""

    def close(self) -> None:
        """Nothing to close: the connections are the pool store's."""


def _order(strategy: str, count: int, seed: int, members: list[int] | None, width: int) -> bytes:
    """``strategy``'s order under ``seed`` as the script reads it: the seed, then each position's dump index."""
    make = strategy_spec(strategy).order
    assert make is not None, f"{strategy}: a drawn strategy has no order"
    order = make(count, seed)
    indices = (order[p] for p in range(count)) if members is None else (members[order[p]] for p in range(count))
    return b"%0*d" % (_HEAD, seed) + b"".join(b"%0*d" % (width, index) for index in indices)
