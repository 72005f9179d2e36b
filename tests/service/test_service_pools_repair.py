"""Pools across a repair, against both stores (embedded files, a real redis-server): a dump repaired in place
(``meta.repaired.replaces``) keeps its pool — a live lease stays held, a quarantined user stays out —, through a
restart, through replicas that still serve the old copy; anything else (a reseed, a bad ``replaces``) starts afresh."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis

from seeding import DumpWriter, dump_path
from seeding.dumps._index import dump_fingerprint
from seeding.service import Service

from .conftest import RedisServer
from .test_service_profiles import write_profile_dump

PROJECT = Path(__file__).resolve().parents[2]


def _write(dumps: Path, scenario: str, users: int, *, changed: int | None = None, replaces: Any = None) -> str:
    """A dump of ``users`` made-up users (user ``changed`` rewritten, as a repair does); its fingerprint."""
    meta: dict[str, Any] = {"scenario": scenario, "created_at": "2026-01-01T00:00:00+00:00", "plan_hash": "x"}
    if replaces is not None:
        meta["repaired"] = {"users": 1, "at": "2026-01-02T00:00:00+00:00", "replaces": replaces}
    with DumpWriter(dump_path(scenario, dumps), meta) as writer:
        for i in range(users):
            name = f"u-{scenario}-{i}" + ("-repaired" if i == changed else "")
            writer.write({"user_id": name, "debit_card_accounts": [], "deposit_accounts": []})
    fingerprint = dump_fingerprint(writer.path)
    assert fingerprint is not None
    return fingerprint


async def _lease(http: httpx.AsyncClient, scenario: str, ttl: float = 60) -> dict[str, Any]:
    answer = await http.post(f"/v1/dumps/{scenario}/leases", params={"ttl": ttl})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _state(http: httpx.AsyncClient, scenario: str) -> tuple[int, int, int]:
    pool = (await http.get(f"/v1/dumps/{scenario}/pool")).json()["pool"]
    return pool["free"], pool["leased"], pool["quarantined"]


async def _held_then_broken(http: httpx.AsyncClient, scenario: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """User 0 leased and kept, user 1 quarantined, user 2 leased and returned (last in line now)."""
    kept, broken, returned = [await _lease(http, scenario) for _ in range(3)]
    assert [kept["index"], broken["index"], returned["index"]] == [0, 1, 2]
    answer = await http.post(f"/v1/leases/{broken['lease']}/quarantine", json={"reason": "card blocked"})
    assert answer.status_code == 200, answer.text
    assert (await http.delete(f"/v1/leases/{returned['lease']}")).status_code == 200
    return kept, broken


async def test_a_repair_keeps_the_live_lease_and_the_quarantine(dirs: tuple[Path, Path], store: str) -> None:
    dumps, plans = dirs
    first = _write(dumps, "fix", 6)
    async with Service(dumps_dir=dumps, plans_dir=plans, store=store) as one, httpx.AsyncClient(base_url=one.url) as h:
        kept, _ = await _held_then_broken(h, "fix")
        second = _write(dumps, "fix", 6, changed=4, replaces=[first])
        assert second != first
        assert await _state(h, "fix") == (4, 1, 1)
        renewed = await h.post(f"/v1/leases/{kept['lease']}/renew", params={"ttl": 60})
        assert renewed.status_code == 200 and renewed.json()["index"] == 0  # the live lease stays held
        quarantined = (await h.get("/v1/dumps/fix/quarantine")).json()["quarantined"]
        assert [(q["index"], q["reason"]) for q in quarantined] == [(1, "card blocked")]
        handed = [(await h.post("/v1/dumps/fix/next")).json()["index"] for _ in range(4)]
        assert handed == [0, 2, 3, 4]  # hand-outs never give the quarantined user either
        third = _write(dumps, "fix", 6, changed=5, replaces=[second, first])  # repaired again
        got = [(await _lease(h, "fix"))["index"] for _ in range(4)]
        assert got == [3, 4, 5, 2]  # least recently used first, the repaired user 4 included
        refused = await h.post("/v1/dumps/fix/leases", params={"ttl": 60})
        assert refused.status_code == 409 and "5 leased, 1 quarantined, of 6" in refused.json()["error"]
    async with Service(dumps_dir=dumps, plans_dir=plans, store=store) as two, httpx.AsyncClient(base_url=two.url) as h:
        assert await _state(h, "fix") == (0, 5, 1)  # a restart after the repair keeps it all
        assert (await h.delete(f"/v1/leases/{kept['lease']}")).status_code == 200
        assert (await _lease(h, "fix"))["user"]["user_id"] == "u-fix-0"
        assert dump_fingerprint(dump_path("fix", dumps)) == third
        _write(dumps, "fix", 6, changed=3)  # seeded again, not repaired: a new pool
        assert await _state(h, "fix") == (6, 0, 0)
        assert (await h.get("/v1/dumps/fix/quarantine")).json()["quarantined"] == []


async def test_export_exclude_quarantined_after_a_repair(dirs: tuple[Path, Path]) -> None:
    dumps, plans = dirs
    first = _write(dumps, "out", 4)
    async with Service(dumps_dir=dumps, plans_dir=plans) as service, httpx.AsyncClient(base_url=service.url) as h:
        await _held_then_broken(h, "out")
    _write(dumps, "out", 4, changed=3, replaces=[first])  # repaired while no service ran: the file is the old dump's
    command = [sys.executable, "-m", "seeding", "export", "out", f"--dumps-dir={dumps}", "--format=jsonl"]
    kept = subprocess.run([*command, "--exclude-quarantined"], capture_output=True, text=True, timeout=60, cwd=PROJECT)
    assert kept.returncode == 0, kept.stderr
    assert [orjson.loads(line)["index"] for line in kept.stdout.splitlines()] == [0, 2, 3]


async def test_a_replica_still_serving_the_old_copy_uses_the_repaired_pool(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """Two replicas, each with its own copy of the dump, one Redis: one copy is repaired, the other not yet.
    Both lease from the one pool (the old copy's replica follows it), so no user has two holders."""
    plans = tmp_path / "plans"
    plans.mkdir()
    new_dir, old_dir = tmp_path / "a", tmp_path / "b"
    new_dir.mkdir()
    first = _write(new_dir, "two", 8)
    shutil.copytree(new_dir, old_dir, dirs_exist_ok=True)
    assert dump_fingerprint(dump_path("two", old_dir)) == first
    async with (
        Service(dumps_dir=new_dir, plans_dir=plans, store=redis_server.url) as one,
        Service(dumps_dir=old_dir, plans_dir=plans, store=redis_server.url) as two,
        httpx.AsyncClient(base_url=one.url) as a,
        httpx.AsyncClient(base_url=two.url) as b,
    ):
        kept, broken = await _held_then_broken(b, "two")  # on the old copy's replica
        _write(new_dir, "two", 8, changed=5, replaces=[first])  # replica a's copy is repaired
        indices = []
        for turn in range(20):
            answer = await (a if turn % 2 else b).post("/v1/dumps/two/leases", params={"ttl": 60})
            if answer.status_code == 409:
                break
            assert answer.status_code == 201, answer.text
            indices.append(answer.json()["index"])
        assert sorted(indices) == [2, 3, 4, 5, 6, 7]  # every free user once, across both replicas
        assert (await a.delete(f"/v1/leases/{kept['lease']}")).status_code == 200  # granted by b, before the repair
        assert (await b.get("/v1/dumps/two/quarantine")).json()["quarantined"][0]["index"] == broken["index"]
        assert await _state(a, "two") == await _state(b, "two") == (1, 6, 1)


@pytest.mark.parametrize(
    ("replaces", "users", "why"),
    [
        ("not a list", 6, "replaces is a string"),
        ([1, None, {"f": 2}], 6, "replaces holds no fingerprint"),
        (["0" * 32], 6, "a fingerprint the pool never had"),
        ([], 6, "an empty list"),
        ("FIRST", 7, "the old dump's fingerprint but another user count"),
    ],
)
async def test_a_bad_or_foreign_replaces_starts_a_new_pool(
    dirs: tuple[Path, Path], store: str, replaces: Any, users: int, why: str
) -> None:
    dumps, plans = dirs
    first = _write(dumps, "odd", 6)
    async with (
        Service(dumps_dir=dumps, plans_dir=plans, store=store) as service,
        httpx.AsyncClient(base_url=service.url) as h,
    ):
        kept, _ = await _held_then_broken(h, "odd")
        _write(dumps, "odd", users, changed=4, replaces=[first] if replaces == "FIRST" else replaces)
        assert await _state(h, "odd") == (users, 0, 0), why
        assert (await h.get("/v1/dumps/odd/quarantine")).json()["quarantined"] == [], why
        gone = await h.post(f"/v1/leases/{kept['lease']}/renew", params={"ttl": 60})
        assert gone.status_code == 404 and "\n" not in gone.json()["error"], why
        assert [(await _lease(h, "odd"))["index"] for _ in range(users)] == list(range(users)), why


# --- Redis keys expire when a pool is idle --------------------------------------------------------------


def _pool_keys(redis_server: RedisServer) -> dict[str, int]:
    """Every pool key in the test's Redis, with its time to live in ms (-1: none)."""
    with redis.Redis.from_url(redis_server.url) as client:
        return {key.decode(): int(client.pttl(key)) for key in client.scan_iter("seeding:pool:*")}


async def _op_lease(h: httpx.AsyncClient) -> None:
    await _lease(h, "idle")


async def _op_renew(h: httpx.AsyncClient) -> None:
    assert (await h.post(f"/v1/leases/{(await _lease(h, 'idle'))['lease']}/renew", params={"ttl": 9})).is_success


async def _op_return(h: httpx.AsyncClient) -> None:
    assert (await h.delete(f"/v1/leases/{(await _lease(h, 'idle'))['lease']}")).is_success


async def _op_quarantine_and_release(h: httpx.AsyncClient) -> None:
    got = await _lease(h, "idle")
    assert (await h.post(f"/v1/leases/{got['lease']}/quarantine", json={"reason": "r"})).is_success
    assert (await h.delete(f"/v1/dumps/idle/quarantine/{got['index']}")).is_success


async def _op_list(h: httpx.AsyncClient) -> None:
    assert (await h.get("/v1/dumps/idle/quarantine")).is_success
    assert (await h.get("/v1/dumps/idle/pool")).is_success


async def _op_next(h: httpx.AsyncClient) -> None:
    assert (await h.post("/v1/dumps/idle/next")).is_success


async def _op_profile(h: httpx.AsyncClient) -> None:
    answer = await h.post("/v1/dumps/idle/leases", params={"ttl": 9, "profile": "heavy"})
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "operation",
    [_op_lease, _op_renew, _op_return, _op_quarantine_and_release, _op_list, _op_next, _op_profile],
    ids=lambda op: op.__name__.removeprefix("_op_"),
)
async def test_every_redis_key_a_pool_call_leaves_expires_when_idle(
    dirs: tuple[Path, Path], redis_server: RedisServer, operation: Any
) -> None:
    dumps, plans = dirs
    write_profile_dump(dumps, "idle", 8)
    async with (
        Service(dumps_dir=dumps, plans_dir=plans, store=redis_server.url) as service,
        httpx.AsyncClient(base_url=service.url) as h,
    ):
        await operation(h)
        keys = _pool_keys(redis_server)
        assert keys, operation.__name__
        week = 7 * 86_400_000
        assert all(week - 60_000 < ttl <= week for ttl in keys.values()), keys  # IDLE_S after this call


async def test_an_idle_pool_leaves_redis_a_busy_one_stays(dirs: tuple[Path, Path], redis_server: RedisServer) -> None:
    dumps, plans = dirs
    first = _write(dumps, "gone", 5)
    async with (
        Service(dumps_dir=dumps, plans_dir=plans, store=redis_server.url) as service,
        httpx.AsyncClient(base_url=service.url) as h,
    ):
        service.pools.store.idle_ms = 1500  # type: ignore[attr-defined]  # a week, shortened for the test
        kept, _ = await _held_then_broken(h, "gone")
        _write(dumps, "gone", 5, changed=2, replaces=[first])
        assert await _state(h, "gone") == (3, 1, 1)  # carried over: the old fingerprint's keys moved
        keys = _pool_keys(redis_server)
        assert any(key.endswith(f"{first}:moved") for key in keys) and all(0 < t <= 1500 for t in keys.values()), keys
        busy_until = time.monotonic() + 2.5  # busy: a call every 0.3 s for longer than idle_ms
        while time.monotonic() < busy_until:
            assert (await h.post(f"/v1/leases/{kept['lease']}/renew", params={"ttl": 60})).status_code == 200
            await asyncio.sleep(0.3)
        assert await _state(h, "gone") == (3, 1, 1)
        deadline = time.monotonic() + 10
        while _pool_keys(redis_server) and time.monotonic() < deadline:  # idle now: every key leaves
            await asyncio.sleep(0.2)
        assert _pool_keys(redis_server) == {}
        assert await _state(h, "gone") == (5, 0, 0)  # a pool forgotten starts afresh
