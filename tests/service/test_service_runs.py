"""Runs through the service into the embedded stand, both transports, over real loopback sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from seeding import open_dump
from seeding.gateway import Transport
from seeding.service import Service
from seeding.stand import Stand

from .conftest import PLAN, wait_run

TOTALS = {"users": 6, "accounts": 12, "cards": 6, "operations": 12}
PLANNED = sum(TOTALS.values())


async def _events(http: httpx.AsyncClient, run_id: str) -> list[tuple[str, dict]]:
    """Every Server-Sent Event of the run until the stream ends."""
    events: list[tuple[str, dict]] = []
    async with http.stream("GET", f"/v1/runs/{run_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, orjson.loads(line.removeprefix("data: "))))
    return events


async def test_a_run_over_each_transport_seeds_the_stand_exactly(
    service: Service, http: httpx.AsyncClient, transport: Transport
) -> None:
    async with Stand() as stand:
        body = {"plan": PLAN, "scenario": f"svc-{transport}", "transport": transport, "target": stand.target(transport)}
        answer = await http.post("/v1/runs", json=body)
        assert answer.status_code == 202, answer.text
        run = answer.json()["run"]
        assert answer.headers["location"] == f"/v1/runs/{run['id']}"
        assert run["state"] in ("queued", "running") and run["planned"] == PLANNED
        events = await _events(http, run["id"])
        final = await wait_run(http, run["id"])

        assert events[-1][0] == "end" and events[-1][1]["state"] == "succeeded"
        assert final["state"] == "succeeded" and final["error"] is None
        assert (final["planned"], final["done"], final["missing"]) == (PLANNED, PLANNED, 0)
        assert (final["calls"], final["retries"]) == (PLANNED, 0)  # no faults: one call per entity
        assert (final["transport"], final["target"]) == (transport, stand.target(transport))
        assert final["finished_at"] >= final["started_at"]
        dump = open_dump(service.dumps_dir / f"svc-{transport}_seeds.json")
        assert len(dump.users) == 6 and len({u.user_id for u in dump.users}) == 6
        assert {u.user_id for u in dump.users} == set(stand.bank.users)
        assert len(stand.bank.accounts) == TOTALS["accounts"]
        assert len(stand.bank.operations) == TOTALS["operations"]
        assert len(stand.bank.cards) == TOTALS["cards"] + 2 * 6  # a debit card account opens with two
        assert not (service.dumps_dir / f"svc-{transport}_seeds.journal").exists()

        listed = (await http.get("/v1/dumps")).json()["dumps"]
        assert [(d["scenario"], d["users"], d["transport"]) for d in listed] == [(f"svc-{transport}", 6, transport)]
        metrics = (await http.get("/metrics")).text
        assert f'seeding_service_entities_done_total{{scenario="svc-{transport}"}} {float(PLANNED)}' in metrics
        assert 'seeding_service_calls_total{rpc="CreateUser",status="OK"} 6.0' in metrics
        assert 'seeding_service_runs{state="succeeded"} 1.0' in metrics


async def test_a_plan_named_from_the_plans_dir(service: Service, http: httpx.AsyncClient) -> None:
    (service.plans_dir / "small.yaml").write_text(yaml.safe_dump(PLAN))
    async with Stand() as stand:
        answer = await http.post("/v1/runs", json={"plan": "small", "transport": "http", "target": stand.http_url})
        assert answer.status_code == 202, answer.text
        final = await wait_run(http, answer.json()["run"]["id"])
    assert (final["scenario"], final["state"], final["done"]) == ("small", "succeeded", PLANNED)
    assert len(open_dump(service.dumps_dir / "small_seeds.json").users) == 6


async def test_a_live_scenario_refuses_a_second_run_then_cancel_and_resume_finish_it(
    service: Service, http: httpx.AsyncClient
) -> None:
    plan = {"scenario": "slow", "users": {"count": 30, "deposit_accounts": 2}}
    async with Stand(latency_ms=20) as stand:
        body = {"plan": plan, "transport": "grpc", "target": stand.grpc_target, "concurrency": 3}
        run = (await http.post("/v1/runs", json=body)).json()["run"]
        second = await http.post("/v1/runs", json=body)
        assert second.status_code == 409
        assert run["id"] in second.json()["error"] and "live run" in second.json()["error"]

        cancelled = await http.delete(f"/v1/runs/{run['id']}")
        assert cancelled.status_code == 200 and cancelled.json()["run"]["state"] == "cancelled"
        record = (await http.get(f"/v1/runs/{run['id']}")).json()["run"]
        journal = service.dumps_dir / "slow_seeds.journal"
        assert record["missing"] > 0 and journal.exists() == (record["missing"] < 30)
        assert (await http.delete(f"/v1/runs/{run['id']}")).status_code == 409  # not live any more

        resumed = await http.post(f"/v1/runs/{run['id']}/resume")
        assert resumed.status_code == 202 and resumed.json()["run"]["id"] == run["id"]
        final = await wait_run(http, run["id"])
        again = await http.post(f"/v1/runs/{run['id']}/resume")
    assert final["state"] == "succeeded" and final["done"] == final["planned"] == 90
    assert again.status_code == 409 and "succeeded" in again.json()["error"]
    users = open_dump(service.dumps_dir / "slow_seeds.json").users
    assert len(users) == 30 and len({u.user_id for u in users}) == 30
    assert {u.user_id for u in users} <= set(stand.bank.users)
    assert all(len(u.deposit_accounts) == 2 for u in users)


async def test_a_resumed_runs_calls_per_second_are_its_last_attempts_own(
    service: Service, http: httpx.AsyncClient
) -> None:
    plan = {"scenario": "rate", "users": {"count": 40, "deposit_accounts": 2}}
    async with Stand(latency_ms=20) as stand:
        body = {"plan": plan, "transport": "grpc", "target": stand.grpc_target, "concurrency": 3}
        run_id = (await http.post("/v1/runs", json=body)).json()["run"]["id"]
        for _ in range(400):  # at most ~20 s: let the first attempt make calls, then cancel it
            if (await http.get(f"/v1/runs/{run_id}")).json()["run"]["calls"] >= 20:
                break
            await asyncio.sleep(0.05)
        first = (await http.delete(f"/v1/runs/{run_id}")).json()["run"]
        assert first["state"] == "cancelled" and first["calls"] >= 20
        assert first["calls_per_s"] == round(first["calls"] / first["wall_s"], 1)
        assert (await http.post(f"/v1/runs/{run_id}/resume")).status_code == 202
        final = await wait_run(http, run_id)
    assert final["state"] == "succeeded" and final["calls"] >= 120  # both attempts' calls
    own = final["calls"] - first["calls"]
    assert 0 < own < final["calls"]
    assert final["calls_per_s"] == round(own / final["wall_s"], 1)  # not 120 over the last attempt's wall


async def test_an_unreachable_gateway_fails_the_run_with_one_line(service: Service, http: httpx.AsyncClient) -> None:
    body = {"plan": PLAN, "scenario": "nowhere", "transport": "http", "target": "http://127.0.0.1:9"}
    run = (await http.post("/v1/runs", json=body)).json()["run"]
    final = await wait_run(http, run["id"])
    assert final["state"] == "failed"
    assert final["error"].startswith("cannot reach the gateway over http at http://127.0.0.1:9")
    assert "\n" not in final["error"] and final["calls"] == 0


async def test_runs_are_listed_and_survive_a_restart(dirs: tuple[Path, Path]) -> None:
    async with Stand() as stand, Service(dumps_dir=dirs[0], plans_dir=dirs[1]) as first:  # noqa: SIM117
        async with httpx.AsyncClient(base_url=first.url) as http:
            body = {"plan": PLAN, "scenario": "kept", "transport": "grpc", "target": stand.grpc_target}
            run_id = (await http.post("/v1/runs", json=body)).json()["run"]["id"]
            before = await wait_run(http, run_id)
    async with Service(dumps_dir=dirs[0], plans_dir=dirs[1]) as second, httpx.AsyncClient(base_url=second.url) as http:
        runs = (await http.get("/v1/runs")).json()["runs"]
    assert runs == [before]


@pytest.mark.parametrize("state", ["queued", "running"])
async def test_a_record_left_live_by_a_dead_service_is_interrupted(dirs: tuple[Path, Path], state: str) -> None:
    runs = dirs[0] / "runs"
    runs.mkdir()
    record = {
        "id": "0123456789abcdef",
        "scenario": "s",
        "transport": "grpc",
        "target": "127.0.0.1:1",
        "plan": {"scenario": "s", "users": {"count": 1}},
        "seed": 1,
        "concurrency": 2,
        "planned": 1,
        "missing": 1,
        "state": state,
    }
    (runs / "0123456789abcdef.json").write_bytes(orjson.dumps(record))
    (runs / "fedcba9876543210.json").write_text("{not json")  # skipped with a warning, not fatal
    async with (
        Service(dumps_dir=dirs[0], plans_dir=dirs[1]) as service,
        httpx.AsyncClient(base_url=service.url) as http,
    ):
        run = (await http.get("/v1/runs/0123456789abcdef")).json()["run"]
        assert len((await http.get("/v1/runs")).json()["runs"]) == 1
    assert run["state"] == "interrupted" and "resume" in run["error"]


async def test_a_service_stopped_mid_run_leaves_it_interrupted_and_resumable(dirs: tuple[Path, Path]) -> None:
    plan = {"scenario": "stopped", "users": {"count": 30, "deposit_accounts": 1}}
    async with Stand(latency_ms=20) as stand:
        async with Service(dumps_dir=dirs[0], plans_dir=dirs[1]) as first:  # noqa: SIM117
            async with httpx.AsyncClient(base_url=first.url) as http:
                body = {"plan": plan, "transport": "http", "target": stand.http_url, "concurrency": 2}
                run_id = (await http.post("/v1/runs", json=body)).json()["run"]["id"]
                while (await http.get(f"/v1/runs/{run_id}")).json()["run"]["state"] == "queued":
                    await asyncio.sleep(0.02)
        async with Service(dumps_dir=dirs[0], plans_dir=dirs[1]) as second:  # noqa: SIM117
            async with httpx.AsyncClient(base_url=second.url) as http:
                stopped = (await http.get(f"/v1/runs/{run_id}")).json()["run"]
                assert (await http.post(f"/v1/runs/{run_id}/resume")).status_code == 202
                final = await wait_run(http, run_id)
    assert stopped["state"] == "interrupted" and stopped["missing"] > 0
    assert (final["state"], final["done"], final["missing"]) == ("succeeded", 60, 0)
    users = open_dump(dirs[0] / "stopped_seeds.json").users
    assert len({u.user_id for u in users}) == 30
