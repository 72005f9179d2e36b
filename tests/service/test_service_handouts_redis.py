"""``/next`` under ``serve --store redis://…``: replicas on one real redis-server share one record of what
``unique``/``shuffle`` handed out (and ``cycle``'s cursor), over real sockets; then a table of bad inputs."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from seeding.dumps._strategies import shuffled
from seeding.service import Service
from seeding.service._dumps import Dumps
from seeding.service._handouts_redis import RedisHandOuts
from seeding.service._pool_redis import RedisStore

from .conftest import RedisServer, write_dump
from .test_service_pools_repair import _write
from .test_service_profiles import write_profile_dump


@asynccontextmanager
async def _replicas(
    dumps: Path, plans: Path, url: str, count: int = 2
) -> AsyncIterator[tuple[list[Service], list[httpx.AsyncClient]]]:
    """``count`` services on one Redis, each with its own copy of the dumps (replicas on other machines)."""
    async with AsyncExitStack() as stack:
        services, clients = [], []
        limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
        for number in range(count):
            own = dumps if number == 0 else dumps.with_name(f"{dumps.name}-{number}")
            if number:
                shutil.copytree(dumps, own, dirs_exist_ok=True)
            service = await stack.enter_async_context(Service(dumps_dir=own, plans_dir=plans, store=url))
            services.append(service)
            clients.append(
                await stack.enter_async_context(httpx.AsyncClient(base_url=service.url, timeout=20.0, limits=limits))
            )
        yield services, clients


async def _next(http: httpx.AsyncClient, scenario: str, **params: str) -> httpx.Response:
    return await http.post(f"/v1/dumps/{scenario}/next", params=params)


def _handed(answers: list[httpx.Response]) -> list[int]:
    for answer in answers:
        assert answer.status_code in (200, 409), answer.text
        assert "\n" not in answer.text
    return [answer.json()["index"] for answer in answers if answer.status_code == 200]


async def test_200_calls_spread_over_two_replicas_hand_each_user_out_once(
    dirs: tuple[Path, Path], redis_server: RedisServer
) -> None:
    dumps, plans = dirs
    write_dump(dumps, "spread", 30)
    async with _replicas(dumps, plans, redis_server.url) as (_, clients):
        strategies = ("unique", "shuffle")
        calls = [_next(clients[n % 2], "spread", strategy=strategies[(n // 2) % 2]) for n in range(200)]
        handed = _handed(await asyncio.gather(*calls))
        assert sorted(handed) == list(range(30))  # each once: 30 answered, 170 refused
        for http in clients:
            assert (await http.get("/v1/dumps/spread")).json()["dump"]["left"] == 0
            refused = await _next(http, "spread")
            assert refused.status_code == 409 and "handed out under unique/shuffle" in refused.json()["error"]
        state = (await clients[1].get("/v1/dumps/spread/pool")).json()["pool"]
        assert state["handed_out"] == 30


async def test_shuffle_is_one_order_for_every_replica_and_a_reset_on_one_starts_all_over(
    dirs: tuple[Path, Path], redis_server: RedisServer
) -> None:
    dumps, plans = dirs
    write_dump(dumps, "order", 40)
    async with _replicas(dumps, plans, redis_server.url) as (_, clients):
        handed = [(await _next(clients[n % 2], "order", strategy="shuffle")).json()["index"] for n in range(40)]
        with redis.Redis.from_url(redis_server.url) as client:
            seeds = [client.hget(key, "#seed") for key in client.scan_iter("seeding:pool:{order}:*:cursors")]
        assert len(seeds) == 1 and seeds[0] is not None
        assert handed == list(shuffled(40, int(seeds[0])))  # one order, taken in turn, whichever replica asked
        assert handed != list(range(40))
        reset = await clients[0].post("/v1/dumps/order/reset")
        assert reset.json() == {"scenario": "order", "users": 40, "left": 40}
        assert (await clients[1].get("/v1/dumps/order")).json()["dump"]["left"] == 40
        again = _handed(await asyncio.gather(*(_next(clients[n % 2], "order", strategy="shuffle") for n in range(45))))
        assert sorted(again) == list(range(40)) and again != handed  # a new seed: another order


@pytest.mark.parametrize("strategy", ["unique", "shuffle"])
async def test_replicas_finding_the_dump_handed_out_together_start_over_once(
    dirs: tuple[Path, Path], redis_server: RedisServer, strategy: str
) -> None:
    dumps, plans = dirs
    write_dump(dumps, "again", 12)
    async with _replicas(dumps, plans, redis_server.url, 3) as (_, clients):
        params = {"strategy": strategy, "when_empty": "cycle"}
        first = _handed([await _next(clients[n % 3], "again", **params) for n in range(12)])
        assert sorted(first) == list(range(12))  # the first round, one call at a time
        # Every replica finds it empty at once: one of them starts the next round, the others take from it.
        answers = await asyncio.gather(*(_next(clients[n % 3], "again", **params) for n in range(12)))
        second = _handed(answers)
        assert len(second) == 12 and Counter(second) == Counter(range(12)), Counter(second)


async def test_a_replica_late_to_find_the_round_over_does_not_start_over_the_next_one(
    dirs: tuple[Path, Path], redis_server: RedisServer
) -> None:
    # The race the test above leaves to chance, step by step: both replicas find the round over, one starts
    # the next and hands a user out of it, then the other, late, must not wipe that round (x would go twice).
    dumps, _ = dirs
    write_dump(dumps, "late", 3)
    store = RedisStore(redis_server.url)
    one, two = RedisHandOuts(store), RedisHandOuts(store)
    dump = Dumps(dumps).get("late")
    try:
        assert [await one.take(dump, "unique") for _ in range(3)] == [0, 1, 2]
        assert await one.take(dump, "unique") is None and await two.take(dump, "unique") is None
        await one.start_over(dump)
        x = await one.take(dump, "unique")
        await two.start_over(dump)  # late: the round it found over is over already
        rest = [await two.take(dump, "unique"), await two.take(dump, "unique")]
        assert sorted([x, *rest]) == [0, 1, 2]
        assert await one.reset(dump) == 3 and await two.take(dump, "unique") == 0  # reset: always, at once
    finally:
        await store.close()


async def test_cycle_shares_its_cursor_and_random_draws_in_each_replica(
    dirs: tuple[Path, Path], redis_server: RedisServer
) -> None:
    dumps, plans = dirs
    write_dump(dumps, "round", 5)
    async with _replicas(dumps, plans, redis_server.url) as (_, clients):
        cycled = [(await _next(clients[n % 2], "round", strategy="cycle")).json()["index"] for n in range(12)]
        assert cycled == [0, 1, 2, 3, 4] * 2 + [0, 1]
        drawn = _handed(await asyncio.gather(*(_next(clients[n % 2], "round", strategy="random") for n in range(50))))
        assert len(drawn) == 50 and set(drawn) <= set(range(5))
        assert (await clients[0].get("/v1/dumps/round")).json()["dump"]["left"] == 5  # neither is recorded


async def test_a_profile_and_a_quarantine_hold_on_every_replica(
    dirs: tuple[Path, Path], redis_server: RedisServer
) -> None:
    dumps, plans = dirs
    members = write_profile_dump(dumps, "mix", 40)
    async with _replicas(dumps, plans, redis_server.url) as (_, clients):
        leased = (await clients[0].post("/v1/dumps/mix/leases", params={"ttl": 60, "profile": "heavy"})).json()
        answer = await clients[1].post(f"/v1/leases/{leased['lease']}/quarantine", json={"reason": "card blocked"})
        assert answer.status_code == 200, answer.text
        calls = [_next(clients[n % 2], "mix", profile="heavy", strategy="shuffle") for n in range(30)]
        heavy = _handed(await asyncio.gather(*calls))
        assert sorted(heavy) == sorted(set(members["heavy"]) - {leased["index"]})
        light = _handed(await asyncio.gather(*(_next(clients[n % 2], "mix") for n in range(40))))
        assert sorted(light) == members["light"]  # unique over the dump: the heavy ones were handed out already
        released = await clients[1].delete(f"/v1/dumps/mix/quarantine/{leased['index']}")
        assert released.status_code == 200, released.text
        assert (await _next(clients[0], "mix")).json()["index"] == leased["index"]  # back, in its place


async def test_a_restart_of_every_replica_hands_out_nothing_twice(
    dirs: tuple[Path, Path], redis_server: RedisServer
) -> None:
    dumps, plans = dirs
    write_dump(dumps, "kept", 20)
    async with _replicas(dumps, plans, redis_server.url) as (_, clients):
        first = _handed(await asyncio.gather(*(_next(clients[n % 2], "kept", strategy="shuffle") for n in range(8))))
    redis_server.stop()
    redis_server.start()  # Redis restarted too: its append-only file keeps the record
    async with _replicas(dumps, plans, redis_server.url) as (_, clients):
        rest = _handed(await asyncio.gather(*(_next(clients[n % 2], "kept") for n in range(30))))
    assert len(first) == 8 and sorted(first + rest) == list(range(20))


async def test_a_repaired_dump_keeps_what_was_handed_out_a_reseeded_one_starts_afresh(
    dirs: tuple[Path, Path], redis_server: RedisServer
) -> None:
    dumps, plans = dirs
    first = _write(dumps, "fixed", 6)
    async with _replicas(dumps, plans, redis_server.url, 1) as (_, (http,)):
        assert [(await _next(http, "fixed")).json()["index"] for _ in range(3)] == [0, 1, 2]
        _write(dumps, "fixed", 6, changed=4, replaces=[first])  # repaired in place: same users, same indices
        assert (await http.get("/v1/dumps/fixed")).json()["dump"]["left"] == 3
        assert [(await _next(http, "fixed")).json()["index"] for _ in range(3)] == [3, 4, 5]
        _write(dumps, "fixed", 6, changed=1)  # seeded again: another dump
        assert (await _next(http, "fixed")).json()["index"] == 0


# --- bad inputs --------------------------------------------------------------------------------------------


def _break_order(client: redis.Redis) -> None:
    for key in client.scan_iter("seeding:pool:{bad}:*:order:*"):
        client.set(key, b"not an order at all")


def _break_seed(client: redis.Redis) -> None:
    for key in client.scan_iter("seeding:pool:{bad}:*:cursors"):
        client.hset(key, "#seed", "a seed?")


def _wrong_type(client: redis.Redis) -> None:
    for key in client.scan_iter("seeding:pool:{bad}:*:handed"):
        client.delete(key)
        client.rpush(key, "not", "a", "bitmap")


def _flushed(client: redis.Redis) -> None:
    client.flushdb()


# (what happens to Redis between two hand-outs, whether the service mends it, what a refused call says)
BAD_REDIS: list[tuple[str, Any, bool, str]] = [
    ("an order overwritten by hand", _break_order, True, ""),
    ("the shuffle seed not a number", _break_seed, False, "pool store redis://"),
    ("the record a list, not a bitmap", _wrong_type, False, "pool store redis://"),
    ("the database flushed", _flushed, True, ""),
]


@pytest.mark.parametrize(("what", "damage", "mended", "says"), BAD_REDIS, ids=[row[0] for row in BAD_REDIS])
async def test_a_record_damaged_in_redis_is_mended_or_refused_in_one_line(
    dirs: tuple[Path, Path], redis_server: RedisServer, what: str, damage: Any, mended: bool, says: str
) -> None:
    dumps, plans = dirs
    write_dump(dumps, "bad", 6)
    async with _replicas(dumps, plans, redis_server.url, 1) as (_, (http,)):
        before = [(await _next(http, "bad", strategy="shuffle")).json()["index"] for _ in range(2)]
        with redis.Redis.from_url(redis_server.url) as client:
            damage(client)
        answers = [await _next(http, "bad", strategy="shuffle") for _ in range(6)]
        if mended:
            after = _handed(answers)
            assert after, what
            if damage is not _flushed:  # a flushed record starts over: what it held is gone with it
                assert sorted(before + after) == list(range(6)), what
        else:
            for answer in answers:
                assert answer.status_code == 503, (what, answer.text)
                error = answer.json()["error"]
                assert error.startswith(says) and "\n" not in error, (what, error)
            with redis.Redis.from_url(redis_server.url) as client:
                client.flushdb()
            assert (await _next(http, "bad")).status_code == 200, what  # mended by hand: works again


async def test_redis_going_away_fails_each_hand_out_in_one_line_and_resumes_where_it_was(
    dirs: tuple[Path, Path], redis_server: RedisServer
) -> None:
    dumps, plans = dirs
    write_dump(dumps, "flaky", 4)
    async with _replicas(dumps, plans, redis_server.url, 1) as (_, (http,)):
        assert (await _next(http, "flaky")).json()["index"] == 0
        redis_server.stop()
        for answer in (await _next(http, "flaky"), await http.post("/v1/dumps/flaky/reset")):
            assert answer.status_code == 503, answer.text
            error = answer.json()["error"]
            assert error.startswith(f"pool store {redis_server.url}: unreachable") and "\n" not in error
        assert (await http.get("/metrics")).status_code == 200
        redis_server.start()
        assert Counter(_handed([await _next(http, "flaky") for _ in range(4)])) == Counter([1, 2, 3])
