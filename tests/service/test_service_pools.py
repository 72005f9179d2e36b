"""Pools over real sockets, against both stores (embedded files, a real redis-server): lease, return, expire,
quarantine, wait; never two holders of one user, not under 200 clients, not across restarts, kill -9 or replicas."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from seeding.service import Service, ServiceProcess

from .conftest import RedisServer, write_dump
from .test_service_profiles import write_profile_dump

PROJECT = Path(__file__).resolve().parents[2]


async def _lease(http: httpx.AsyncClient, scenario: str, ttl: float = 30, **params: object) -> httpx.Response:
    return await http.post(f"/v1/dumps/{scenario}/leases", params={"ttl": ttl, **params})


class Holders:
    """The log of every grant and return, in the order this event loop saw them: a grant of a user someone
    holds is a double holder. A grant is logged when its answer arrives, a return before it is sent, so the
    client's view of each hold lies inside the service's: an overlap here is an overlap there."""

    def __init__(self) -> None:
        self.held: dict[int, str] = {}
        self.ever: set[int] = set()
        self.doubles: list[tuple[int, str, str]] = []
        self.grants = 0

    def granted(self, index: int, lease: str) -> None:
        if index in self.held:
            self.doubles.append((index, self.held[index], lease))
        self.held[index] = lease
        self.ever.add(index)
        self.grants += 1

    def returning(self, index: int, lease: str) -> None:
        if self.held.get(index) == lease:
            del self.held[index]


async def _churn(urls: list[str], scenario: str, holders: Holders, clients: int, seconds: float) -> None:
    """``clients`` clients lease (waiting up to 1 s), hold 0–20 ms and return, for ``seconds``."""
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    https = [httpx.AsyncClient(base_url=url, timeout=20.0, limits=limits) for url in urls]
    deadline = time.monotonic() + seconds

    async def client(number: int) -> None:
        rng = random.Random(number)
        while time.monotonic() < deadline:
            http = https[rng.randrange(len(https))]
            answer = await _lease(http, scenario, 120, wait=1)  # a TTL no loaded machine reaches
            if answer.status_code == 409:
                continue
            assert answer.status_code == 201, answer.text
            got = answer.json()
            holders.granted(got["index"], got["lease"])
            await asyncio.sleep(rng.uniform(0, 0.02))
            holders.returning(got["index"], got["lease"])
            back = await https[rng.randrange(len(https))].delete(f"/v1/leases/{got['lease']}")
            assert back.status_code == 200, back.text

    try:
        await asyncio.gather(*(client(n) for n in range(clients)))
    finally:
        for http in https:
            await http.aclose()


async def test_200_clients_on_30_users_never_two_holders_and_every_user_goes_round(
    pool_service: Service, pool_http: httpx.AsyncClient
) -> None:
    write_dump(pool_service.dumps_dir, "thirty", 30)
    holders = Holders()
    await _churn([pool_service.url], "thirty", holders, clients=200, seconds=5.0)
    assert holders.doubles == []
    assert holders.ever == set(range(30))
    assert holders.grants > 30  # and round again
    pool = (await pool_http.get("/v1/dumps/thirty/pool")).json()["pool"]
    assert (pool["users"], pool["free"], pool["leased"], pool["quarantined"]) == (30, 30, 0, 0)
    assert pool["take_per_s"] > 0 and pool["return_per_s"] > 0


async def test_least_recently_used_first_and_the_answer_names_the_lease(
    pool_service: Service, pool_http: httpx.AsyncClient
) -> None:
    write_dump(pool_service.dumps_dir, "lru", 3)
    leases = [(await _lease(pool_http, "lru")).json() for _ in range(3)]
    assert [lease["index"] for lease in leases] == [0, 1, 2]
    assert leases[1]["user"] == {"user_id": "u-lru-1", "debit_card_accounts": [], "deposit_accounts": []}
    assert len({lease["lease"] for lease in leases}) == 3 and all(lease["lease"].endswith(".lru") for lease in leases)
    assert leases[0]["expires_at"].endswith("Z")
    refused = await _lease(pool_http, "lru")
    assert refused.status_code == 409
    assert refused.json()["error"] == (
        "scenario 'lru': no user free; ?wait=SECONDS waits for one: 3 leased, 0 quarantined, of 3"
    )
    for index in (2, 0):
        assert (await pool_http.delete(f"/v1/leases/{leases[index]['lease']}")).status_code == 200
    assert [(await _lease(pool_http, "lru")).json()["index"] for _ in range(2)] == [2, 0]


async def test_a_lease_not_renewed_comes_back_by_itself(pool_service: Service, pool_http: httpx.AsyncClient) -> None:
    write_dump(pool_service.dumps_dir, "ttl", 1)
    # TTLs of seconds: a worker's first test on a loaded machine took over 0.3 s from lease to renew.
    lost = (await _lease(pool_http, "ttl", 1.5)).json()
    kept = await _lease(pool_http, "ttl", 1.5)
    assert kept.status_code == 409
    renewed = await pool_http.post(f"/v1/leases/{lost['lease']}/renew", params={"ttl": 2})
    assert renewed.status_code == 200 and renewed.json()["expires_at"] > lost["expires_at"]
    started = time.monotonic()
    again = await _lease(pool_http, "ttl", 30, wait=10)
    assert again.status_code == 201 and again.json()["index"] == 0 and again.json()["lease"] != lost["lease"]
    assert 1.0 < time.monotonic() - started < 8.0  # the renewed TTL, then a waiting lease's next look
    for late in (
        await pool_http.post(f"/v1/leases/{lost['lease']}/renew", params={"ttl": 5}),
        await pool_http.delete(f"/v1/leases/{lost['lease']}"),
    ):
        assert late.status_code == 404 and "unknown, already returned, or expired" in late.json()["error"]
    metrics = (await pool_http.get("/metrics")).text
    assert 'seeding_pool_ended_total{how="expired",scenario="ttl"} 1.0' in metrics


async def test_wait_gets_a_user_as_soon_as_one_is_returned(pool_service: Service, pool_http: httpx.AsyncClient) -> None:
    write_dump(pool_service.dumps_dir, "waits", 2)
    held = [(await _lease(pool_http, "waits")).json() for _ in range(2)]
    waiting = asyncio.create_task(_lease(pool_http, "waits", 30, wait=10))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    returned_at = time.monotonic()
    assert (await pool_http.delete(f"/v1/leases/{held[1]['lease']}")).status_code == 200
    answer = await asyncio.wait_for(waiting, 5)
    assert answer.status_code == 201 and answer.json()["index"] == 1
    assert time.monotonic() - returned_at < 0.5  # at once, not at the end of its wait
    timed_out = time.monotonic()
    assert (await _lease(pool_http, "waits", 30, wait=0.3)).status_code == 409
    assert 0.25 < time.monotonic() - timed_out < 3.0


async def test_quarantine_takes_a_user_out_of_every_strategy_until_released(
    pool_service: Service, pool_http: httpx.AsyncClient
) -> None:
    write_dump(pool_service.dumps_dir, "q", 3)
    first = (await _lease(pool_http, "q")).json()
    assert first["index"] == 0
    out = await pool_http.post(f"/v1/leases/{first['lease']}/quarantine", json={"reason": "card  blocked\nby test"})
    assert out.status_code == 200 and out.json()["reason"] == "card blocked by test"
    listed = (await pool_http.get("/v1/dumps/q/quarantine")).json()
    assert [(e["index"], e["reason"]) for e in listed["quarantined"]] == [(0, "card blocked by test")]
    assert listed["quarantined"][0]["at"].endswith("Z")
    others = [(await _lease(pool_http, "q", 5)).json()["index"] for _ in range(2)]
    refused = await _lease(pool_http, "q")
    assert sorted(others) == [1, 2] and refused.json()["error"].endswith("2 leased, 1 quarantined, of 3")
    for strategy in ("cycle", "random"):
        drawn = [(await pool_http.post("/v1/dumps/q/next", params={"strategy": strategy})).json() for _ in range(12)]
        assert {d["index"] for d in drawn} == {1, 2}, strategy
    unique = [await pool_http.post("/v1/dumps/q/next", params={"strategy": s}) for s in ("shuffle", "unique", "unique")]
    assert sorted(a.json()["index"] for a in unique[:2]) == [1, 2]
    assert (
        unique[2].status_code == 409 and "or are quarantined (1 of the dump's users are)" in unique[2].json()["error"]
    )
    pool = (await pool_http.get("/v1/dumps/q/pool")).json()["pool"]
    assert (pool["quarantined"], pool["handed_out"]) == (1, 2)
    released = await pool_http.delete("/v1/dumps/q/quarantine/0")
    assert released.json() == {"scenario": "q", "index": 0, "reason": "card blocked by test", "released": True}
    assert (await pool_http.post("/v1/dumps/q/next")).json()["index"] == 0
    assert (await _lease(pool_http, "q", 30, wait=2)).json()["index"] in (0, 1, 2)
    assert (await pool_http.get("/v1/dumps/q/quarantine")).json()["quarantined"] == []


async def test_left_counts_only_the_users_next_can_still_hand_out(
    pool_service: Service, pool_http: httpx.AsyncClient
) -> None:
    """A quarantined user no /next gives is not "left"; one handed out before its quarantine is counted once."""
    write_dump(pool_service.dumps_dir, "lq", 6)

    async def left() -> int:
        return int((await pool_http.get("/v1/dumps/lq")).json()["dump"]["left"])

    assert (await pool_http.post("/v1/dumps/lq/next")).json()["index"] == 0  # handed out, then quarantined below
    leases = [(await _lease(pool_http, "lq")).json() for _ in range(3)]
    assert [lease["index"] for lease in leases] == [0, 1, 2]
    assert await left() == 5
    for lease in leases[:2]:  # users 0 (handed out already) and 1 (not yet)
        await pool_http.post(f"/v1/leases/{lease['lease']}/quarantine", json={"reason": "broken"})
    assert await left() == 4  # 2, 3, 4, 5
    handed = [(await pool_http.post("/v1/dumps/lq/next")).json()["index"] for _ in range(4)]
    assert sorted(handed) == [2, 3, 4, 5] and await left() == 0
    assert (await pool_http.post("/v1/dumps/lq/next")).status_code == 409
    assert (await pool_http.post("/v1/dumps/lq/reset")).json() == {"scenario": "lq", "users": 6, "left": 4}
    assert (await pool_http.delete("/v1/dumps/lq/quarantine/1")).status_code == 200
    assert await left() == 5
    gauge = 'seeding_service_users_left{scenario="lq"} 5.0'
    assert gauge in (await pool_http.get("/metrics")).text


async def test_pool_state_and_its_metrics(pool_service: Service, pool_http: httpx.AsyncClient) -> None:
    write_dump(pool_service.dumps_dir, "gauge", 10)
    leases = [(await _lease(pool_http, "gauge")).json() for _ in range(4)]
    await pool_http.delete(f"/v1/leases/{leases[0]['lease']}")
    await pool_http.post(f"/v1/leases/{leases[1]['lease']}/quarantine", json={"reason": "broken"})
    pool = (await pool_http.get("/v1/dumps/gauge/pool")).json()["pool"]
    assert {k: pool[k] for k in ("users", "free", "leased", "quarantined", "handed_out")} == {
        "users": 10, "free": 7, "leased": 2, "quarantined": 1, "handed_out": 0,
    }  # fmt: skip
    assert pool["oldest_lease_s"] >= 0 and pool["take_per_s"] > pool["return_per_s"] > 0
    assert pool["empty_in_s"] > 0
    metrics = (await pool_http.get("/metrics")).text
    for line in (
        'seeding_pool_users{scenario="gauge"} 10.0',
        'seeding_pool_free{scenario="gauge"} 7.0',
        'seeding_pool_leased{scenario="gauge"} 2.0',
        'seeding_pool_quarantined{scenario="gauge"} 1.0',
        'seeding_pool_leases_total{scenario="gauge"} 4.0',
        'seeding_pool_ended_total{how="returned",scenario="gauge"} 1.0',
        'seeding_pool_ended_total{how="quarantined",scenario="gauge"} 1.0',
        'seeding_pool_lease_age_seconds_count{scenario="gauge"} 2.0',
    ):
        assert line in metrics, line
    assert 'seeding_pool_seconds_until_empty{scenario="gauge"}' in metrics


async def test_a_restart_keeps_leases_returns_and_quarantine(dirs: tuple[Path, Path], store: str) -> None:
    dumps, plans = dirs
    write_dump(dumps, "kept", 5)
    async with Service(dumps_dir=dumps, plans_dir=plans, store=store) as one, httpx.AsyncClient(base_url=one.url) as h:
        leases = [(await _lease(h, "kept")).json() for _ in range(4)]
        await h.delete(f"/v1/leases/{leases[0]['lease']}")
        await h.post(f"/v1/leases/{leases[1]['lease']}/quarantine", json={"reason": "kept out"})
    async with Service(dumps_dir=dumps, plans_dir=plans, store=store) as two, httpx.AsyncClient(base_url=two.url) as h:
        pool = (await h.get("/v1/dumps/kept/pool")).json()["pool"]
        assert (pool["free"], pool["leased"], pool["quarantined"]) == (2, 2, 1)
        assert [(await _lease(h, "kept")).json()["index"] for _ in range(2)] == [4, 0]  # least recently used first
        assert (await _lease(h, "kept")).status_code == 409
        assert (await h.post(f"/v1/leases/{leases[2]['lease']}/renew", params={"ttl": 5})).status_code == 200
        assert (await h.delete(f"/v1/leases/{leases[3]['lease']}")).status_code == 200
        assert (await h.get("/v1/dumps/kept/quarantine")).json()["quarantined"][0]["reason"] == "kept out"


def test_kill_9_mid_churn_then_restart_never_gives_a_held_user_again(dirs: tuple[Path, Path], store: str) -> None:
    dumps, plans = dirs
    write_dump(dumps, "crash", 12)
    extra = [f"--store={store}"]
    with ServiceProcess(dumps_dir=dumps, plans_dir=plans, extra_args=extra) as proc:
        holders = Holders()
        unsure: set[str] = set()

        async def churn() -> None:
            async with httpx.AsyncClient(base_url=proc.url, timeout=5.0) as http:

                async def client(number: int) -> None:
                    rng = random.Random(number)
                    while True:
                        try:
                            answer = await _lease(http, "crash", 60)
                        except httpx.TransportError:
                            return
                        if answer.status_code != 201:
                            await asyncio.sleep(0.01)
                            continue
                        got = answer.json()
                        holders.granted(got["index"], got["lease"])
                        await asyncio.sleep(rng.uniform(0, 0.01))
                        if rng.random() < 0.5:
                            continue  # keeps it: held across the crash
                        holders.returning(got["index"], got["lease"])
                        unsure.add(got["lease"])
                        try:
                            await http.delete(f"/v1/leases/{got['lease']}")
                        except httpx.TransportError:
                            return
                        unsure.discard(got["lease"])

                async def killer() -> None:
                    await asyncio.sleep(0.4)
                    deadline = time.monotonic() + 20  # a loaded machine may not have granted any yet
                    while len(holders.held) < 3 and time.monotonic() < deadline:
                        await asyncio.sleep(0.01)
                    await asyncio.to_thread(proc.kill)

                await asyncio.gather(killer(), *(client(n) for n in range(20)))

        asyncio.run(churn())
    held = dict(holders.held)
    assert holders.doubles == [] and held  # some users were held at the crash
    with (
        ServiceProcess(dumps_dir=dumps, plans_dir=plans, extra_args=extra) as proc,
        httpx.Client(base_url=proc.url) as h,
    ):
        again = []
        while (answer := h.post("/v1/dumps/crash/leases", params={"ttl": 60})).status_code == 201:
            again.append(answer.json()["index"])
        assert not set(again) & set(held)  # a lease held at the crash stays held
        assert len(again) <= 12 - len(held)  # (a grant whose answer the kill cut off stays held too, unseen)
        for index, lease in held.items():
            assert h.post(f"/v1/leases/{lease}/renew", params={"ttl": 5}).json()["index"] == index


async def test_two_service_processes_on_one_redis_share_one_pool(
    dirs: tuple[Path, Path], redis_server: RedisServer
) -> None:
    dumps, plans = dirs
    write_dump(dumps, "shared", 10)
    extra = [f"--store={redis_server.url}"]
    with (
        ServiceProcess(dumps_dir=dumps, plans_dir=plans, extra_args=extra) as one,
        ServiceProcess(dumps_dir=dumps, plans_dir=plans, extra_args=extra) as two,
    ):
        holders = Holders()
        await _churn([one.url, two.url], "shared", holders, clients=40, seconds=2.0)
        assert holders.doubles == [] and holders.ever == set(range(10))
        async with httpx.AsyncClient(base_url=one.url) as a, httpx.AsyncClient(base_url=two.url) as b:
            got = (await _lease(a, "shared")).json()
            assert (
                await b.post(f"/v1/leases/{got['lease']}/quarantine", json={"reason": "seen by both"})
            ).status_code == 200
            assert (await a.get("/v1/dumps/shared/quarantine")).json()["quarantined"][0]["index"] == got["index"]
            assert (await b.get("/v1/dumps/shared/pool")).json()["pool"]["quarantined"] == 1


async def test_redis_going_away_fails_each_request_in_one_line_and_recovers(
    dirs: tuple[Path, Path], redis_server: RedisServer
) -> None:
    dumps, plans = dirs
    write_dump(dumps, "flaky", 3)
    async with (
        Service(dumps_dir=dumps, plans_dir=plans, store=redis_server.url) as service,
        httpx.AsyncClient(base_url=service.url, timeout=20.0) as http,
    ):
        kept = (await _lease(http, "flaky")).json()
        redis_server.stop()
        for answer in (await _lease(http, "flaky"), await http.get("/v1/dumps/flaky/quarantine")):
            assert answer.status_code == 503
            error = answer.json()["error"]
            assert error.startswith(f"pool store {redis_server.url}: unreachable") and "\n" not in error
        assert (await http.get("/metrics")).status_code == 200  # the pool's gauges are left out, once
        redis_server.start()  # same port, same append-only file
        assert (await _lease(http, "flaky")).json()["index"] == 1
        assert (await http.delete(f"/v1/leases/{kept['lease']}")).status_code == 200


async def test_export_exclude_quarantined_leaves_them_out(dirs: tuple[Path, Path]) -> None:
    dumps, plans = dirs
    write_dump(dumps, "out", 4)
    async with Service(dumps_dir=dumps, plans_dir=plans) as service, httpx.AsyncClient(base_url=service.url) as h:
        for _ in range(2):
            got = (await _lease(h, "out")).json()
            await h.post(f"/v1/leases/{got['lease']}/quarantine", json={"reason": "broken"})

        def export(*flags: str) -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-m", "seeding", "export", "out", f"--dumps-dir={dumps}", "--format=jsonl"]
            return subprocess.run([*command, *flags], capture_output=True, text=True, timeout=60, cwd=PROJECT)

        every, kept = export(), export("--exclude-quarantined")  # while the service holds the pool: read, no lock
    assert kept.returncode == 0, kept.stderr
    assert [orjson.loads(line)["index"] for line in every.stdout.splitlines()] == [0, 1, 2, 3]
    assert [orjson.loads(line)["index"] for line in kept.stdout.splitlines()] == [2, 3]


async def test_a_profile_leases_only_its_users(pool_service: Service, pool_http: httpx.AsyncClient) -> None:
    members = write_profile_dump(pool_service.dumps_dir, "prof", 12)
    heavy = [(await _lease(pool_http, "prof", profile="heavy")).json() for _ in range(len(members["heavy"]))]
    assert sorted(lease["index"] for lease in heavy) == members["heavy"]
    assert all(lease["user"]["profile"] == "heavy" for lease in heavy)
    refused = await _lease(pool_http, "prof", profile="heavy")
    assert refused.status_code == 409 and "no user of profile 'heavy' free" in refused.json()["error"]
    await pool_http.delete(f"/v1/leases/{heavy[-1]['lease']}")
    assert (await _lease(pool_http, "prof", profile="heavy", wait=1)).json()["index"] == heavy[-1]["index"]
    light = (await _lease(pool_http, "prof", profile="light")).json()
    assert light["index"] == members["light"][0]
    unknown = await _lease(pool_http, "prof", profile="gold")
    assert unknown.status_code == 404 and "gold" in unknown.json()["error"]
