"""Hand-outs: each user once under unique/shuffle, whoever asks at once, across restarts and kill -9."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from seeding.service import Service, ServiceProcess

from .conftest import write_dump


async def _next(http: httpx.AsyncClient, scenario: str, strategy: str = "unique") -> httpx.Response:
    return await http.post(f"/v1/dumps/{scenario}/next", params={"strategy": strategy})


async def test_200_concurrent_calls_on_30_users_hand_each_out_once(service: Service, http: httpx.AsyncClient) -> None:
    write_dump(service.dumps_dir, "thirty", 30)
    answers = await asyncio.gather(*(_next(http, "thirty") for _ in range(200)))
    ok = [a.json() for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 409]
    assert len(ok) == 30 and len(refused) == 170
    assert sorted(a["index"] for a in ok) == list(range(30))
    assert {a["user"]["user_id"] for a in ok} == {f"u-thirty-{i}" for i in range(30)}
    assert all(list(a.json()) == ["error"] and "reset" in a.json()["error"] for a in refused)
    metrics = (await http.get("/metrics")).text
    assert 'seeding_service_handouts_total{scenario="thirty",strategy="unique"} 30.0' in metrics
    assert 'seeding_service_users_left{scenario="thirty"} 0.0' in metrics


@pytest.mark.parametrize("strategy", ["unique", "shuffle"])
async def test_each_strategy_that_hands_out_once_mixes_with_the_other(
    service: Service, http: httpx.AsyncClient, strategy: str
) -> None:
    write_dump(service.dumps_dir, "mix", 40)
    other = "shuffle" if strategy == "unique" else "unique"
    answers = await asyncio.gather(*(_next(http, "mix", strategy if i % 2 else other) for i in range(60)))
    indices = [a.json()["index"] for a in answers if a.status_code == 200]
    assert sorted(indices) == list(range(40))
    assert [a.status_code for a in answers].count(409) == 20


async def test_shuffle_is_an_order_unlike_the_dump(service: Service, http: httpx.AsyncClient) -> None:
    write_dump(service.dumps_dir, "deck", 50)
    indices = [(await _next(http, "deck", "shuffle")).json()["index"] for _ in range(50)]
    assert sorted(indices) == list(range(50)) and indices != list(range(50))


async def test_cycle_wraps_and_random_never_runs_out(service: Service, http: httpx.AsyncClient) -> None:
    write_dump(service.dumps_dir, "few", 3)
    cycled = [(await _next(http, "few", "cycle")).json()["index"] for _ in range(7)]
    drawn = [(await _next(http, "few", "random")).json()["index"] for _ in range(20)]
    assert cycled == [0, 1, 2, 0, 1, 2, 0]
    assert set(drawn) <= {0, 1, 2}
    left = (await http.get("/v1/dumps/few")).json()["dump"]["left"]
    assert left == 3  # neither is recorded: unique still has every user


async def test_reset_starts_over_and_a_new_dump_starts_a_new_sequence(
    service: Service, http: httpx.AsyncClient
) -> None:
    write_dump(service.dumps_dir, "seq", 2)
    assert [(await _next(http, "seq")).json()["index"] for _ in range(2)] == [0, 1]
    assert (await _next(http, "seq")).status_code == 409
    reset = await http.post("/v1/dumps/seq/reset")
    assert reset.json() == {"scenario": "seq", "users": 2, "left": 2}
    assert (await _next(http, "seq")).json()["index"] == 0
    write_dump(service.dumps_dir, "seq", 3, created_at="2026-02-02T00:00:00+00:00")  # seeded again
    assert [(await _next(http, "seq")).json()["index"] for _ in range(3)] == [0, 1, 2]
    assert (await _next(http, "seq")).status_code == 409


async def test_hand_outs_survive_a_graceful_restart(dirs: tuple[Path, Path]) -> None:
    dumps, plans = dirs
    write_dump(dumps, "kept", 10)
    seen: list[int] = []
    for _ in range(3):
        async with Service(dumps_dir=dumps, plans_dir=plans) as service, httpx.AsyncClient(base_url=service.url) as h:
            seen += [(await _next(h, "kept", "shuffle")).json()["index"] for _ in range(3)]
    assert len(seen) == 9 and len(set(seen)) == 9


def test_hand_outs_survive_kill_9(dirs: tuple[Path, Path]) -> None:
    dumps, plans = dirs
    write_dump(dumps, "crash", 25)
    seen: list[int] = []
    for round_ in range(3):
        with ServiceProcess(dumps_dir=dumps, plans_dir=plans) as proc, httpx.Client(base_url=proc.url) as http:
            for _ in range(8):
                answer = http.post("/v1/dumps/crash/next", params={"strategy": "unique" if round_ % 2 else "shuffle"})
                seen.append(answer.json()["index"])
            assert proc.kill() == -9
    assert len(seen) == 24 and len(set(seen)) == 24
    with ServiceProcess(dumps_dir=dumps, plans_dir=plans) as proc, httpx.Client(base_url=proc.url) as http:
        last = http.post("/v1/dumps/crash/next").json()["index"]
        assert http.post("/v1/dumps/crash/next").status_code == 409
    assert last not in seen and sorted([*seen, last]) == list(range(25))


async def test_a_torn_or_damaged_log_costs_nothing_twice(dirs: tuple[Path, Path]) -> None:
    dumps, plans = dirs
    write_dump(dumps, "torn", 5)
    async with Service(dumps_dir=dumps, plans_dir=plans) as service, httpx.AsyncClient(base_url=service.url) as http:
        assert [(await _next(http, "torn")).json()["index"] for _ in range(2)] == [0, 1]
    log = dumps / "torn_seeds.handouts"
    log.write_bytes(log.read_bytes() + b"junk\n4")  # a damaged line, then a line torn by a kill
    async with Service(dumps_dir=dumps, plans_dir=plans) as service, httpx.AsyncClient(base_url=service.url) as http:
        rest = [(await _next(http, "torn")).json()["index"] for _ in range(3)]
        assert (await _next(http, "torn")).status_code == 409
    assert rest == [2, 3, 4]


async def test_users_by_index_meta_and_the_file_with_its_etag(service: Service, http: httpx.AsyncClient) -> None:
    path = write_dump(service.dumps_dir, "read", 4)
    user = (await http.get("/v1/dumps/read/users/3")).json()
    assert user == {"index": 3, "user": {"user_id": "u-read-3", "debit_card_accounts": [], "deposit_accounts": []}}
    meta = (await http.get("/v1/dumps/read")).json()["dump"]
    assert (meta["scenario"], meta["users"], meta["left"], meta["created_at"]) == (
        "read",
        4,
        4,
        "2026-01-01T00:00:00+00:00",
    )
    whole = await http.get("/v1/dumps/read/file")
    assert whole.content == path.read_bytes() and whole.headers["etag"]
    again = await http.get("/v1/dumps/read/file", headers={"If-None-Match": whole.headers["etag"]})
    assert again.status_code == 304


async def test_a_second_service_on_the_same_dumps_is_refused_not_repeating(dirs: tuple[Path, Path]) -> None:
    dumps, plans = dirs
    write_dump(dumps, "shared", 5)
    async with Service(dumps_dir=dumps, plans_dir=plans) as one, Service(dumps_dir=dumps, plans_dir=plans) as two:  # noqa: SIM117
        async with httpx.AsyncClient(base_url=one.url) as a, httpx.AsyncClient(base_url=two.url) as b:
            assert (await _next(a, "shared")).json()["index"] == 0
            refused = await _next(b, "shared")
            assert refused.status_code == 409 and "another process hands out this dump" in refused.json()["error"]
            assert (await _next(a, "shared")).json()["index"] == 1
