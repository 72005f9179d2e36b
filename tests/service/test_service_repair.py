"""``POST /v1/dumps/{scenario}/repair``: a run that re-seeds the stale users at their own indices, over real sockets."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from seeding import DumpWriter, SeedsPlan, dump_path
from seeding.gateway import Transport
from seeding.service import Service
from seeding.stand import Stand

from .conftest import PLAN, wait_run

PER_USER = 6  # calls a user of PLAN costs (one per entity)
USERS = 8


def _lines(path: Path) -> list[bytes]:
    return [line.rstrip(b",") for line in path.read_bytes().splitlines() if line.startswith(b'{"user_id":')]


async def _seed(http: httpx.AsyncClient, stand: Stand, transport: Transport, scenario: str) -> dict[str, Any]:
    body = {"plan": PLAN, "scenario": scenario, "transport": transport, "target": stand.target(transport)}
    answer = await http.post("/v1/runs", json={**body, "users": USERS})
    assert answer.status_code == 202, answer.text
    return await wait_run(http, answer.json()["run"]["id"])


async def test_a_repair_reseeds_only_the_deleted_users_and_keeps_the_handouts(
    service: Service, http: httpx.AsyncClient, transport: Transport
) -> None:
    dump = service.dumps_dir / "fix_seeds.json"
    async with Stand() as stand:
        assert (await _seed(http, stand, transport, "fix"))["state"] == "succeeded"
        before = _lines(dump)
        handed = [(await http.post("/v1/dumps/fix/next")).json()["index"] for _ in range(3)]
        ids = [orjson_id(line) for line in before]
        for index in (2, 5):
            stand.bank.delete_user(ids[index])
        answer = await http.post("/v1/dumps/fix/repair")
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["run"]["id"]
        final = await wait_run(http, run_id)
        assert final["state"] == "succeeded" and final["kind"] == "repair", final
        assert final["repair"] == [2, 5] and final["calls"] == 2 * PER_USER, final
        events = (await http.get(f"/v1/runs/{run_id}/events")).text
        assert "event: end" in events and '"kind":"repair"' in events
        after = _lines(dump)
        assert len(after) == USERS and len(stand.bank.users) == USERS
        for index in range(USERS):
            assert (after[index] == before[index]) == (index not in (2, 5)), index
        assert set(stand.bank.users) == {orjson_id(line) for line in after}
        meta = (await http.get("/v1/dumps/fix")).json()["dump"]
        assert meta["meta"]["repaired"]["users"] == 2 and meta["left"] == USERS - 3, meta  # hand-outs kept
        assert (await http.post("/v1/dumps/fix/next")).json()["index"] not in handed
        again = await wait_run(http, (await http.post("/v1/dumps/fix/repair", json={"sample": 0})).json()["run"]["id"])
        assert again["state"] == "succeeded" and again["repair"] == [] and again["calls"] == 0, again
        assert _lines(dump) == after


def orjson_id(line: bytes) -> str:
    import orjson

    return str(orjson.loads(line)["user_id"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dump(dumps: Path, scenario: str, transport: str, target: str, *, plan: bool = True) -> Path:
    """A dump of 3 made-up users whose meta records ``plan`` (or not) and a gateway."""
    shaped = SeedsPlan.model_validate({**PLAN, "scenario": scenario}).with_users(3)
    meta: dict[str, Any] = {"scenario": scenario, "counts": {"users": 3}, "transport": transport, "target": target}
    if plan:
        meta |= {"plan": shaped.model_dump(mode="json"), "shape_hash": shaped.shape_hash, "seed": 7}
    with DumpWriter(dump_path(scenario, dumps), meta) as writer:
        for i in range(3):
            writer.write({"user_id": f"u-{i}", "debit_card_accounts": [], "deposit_accounts": []})
    return writer.path


@pytest.mark.parametrize(
    ("case", "request_kw", "status", "words"),
    [
        ("unknown scenario", {"url": "/v1/dumps/nope/repair"}, 404, "no dump for scenario 'nope'"),
        ("bad scenario name", {"url": "/v1/dumps/..%2Fx/repair"}, 400, "is not a scenario name"),
        ("no meta plan", {"url": "/v1/dumps/bare/repair"}, 409, "records no plan and shape"),
        ("embedded gateway", {"url": "/v1/dumps/embedded/repair"}, 409, "no gateway to check it on"),
        ("negative sample", {"url": "/v1/dumps/ok/repair", "json": {"sample": -1}}, 422, "body.sample"),
        ("float sample", {"url": "/v1/dumps/ok/repair", "json": {"sample": 1.5}}, 422, "body.sample"),
        ("text sample", {"url": "/v1/dumps/ok/repair", "json": {"sample": "all"}}, 422, "body.sample"),
        ("query sample", {"url": "/v1/dumps/ok/repair?sample=x"}, 422, "sample: 'x'"),
        ("unknown field", {"url": "/v1/dumps/ok/repair", "json": {"users": 3}}, 422, "body.users"),
        ("not an object", {"url": "/v1/dumps/ok/repair", "json": [1]}, 422, "expected a JSON object"),
        ("not JSON", {"url": "/v1/dumps/ok/repair", "content": b"{"}, 400, "not JSON"),
    ],
)
async def test_bad_repair_requests_are_refused_in_one_line(
    service: Service, http: httpx.AsyncClient, case: str, request_kw: dict[str, Any], status: int, words: str
) -> None:
    dumps = service.dumps_dir
    _dump(dumps, "bare", "grpc", "127.0.0.1:1", plan=False)
    _dump(dumps, "embedded", "grpc", "embedded")
    _dump(dumps, "ok", "grpc", f"127.0.0.1:{_free_port()}")
    files = {path: path.read_bytes() for path in dumps.glob("*_seeds.json")}
    answer = await http.post(request_kw.pop("url"), **request_kw)
    assert answer.status_code == status, (case, answer.text)
    error = answer.json()["error"]
    assert words in error and "\n" not in error, (case, error)
    assert {path: path.read_bytes() for path in dumps.glob("*_seeds.json")} == files
    assert (await http.get("/v1/runs")).json()["runs"] == []


async def test_a_repair_of_a_dump_whose_gateway_is_unreachable_fails_in_one_line_rewriting_nothing(
    service: Service, http: httpx.AsyncClient, transport: Transport
) -> None:
    port = _free_port()
    target = f"127.0.0.1:{port}" if transport == "grpc" else f"http://127.0.0.1:{port}"
    dump = _dump(service.dumps_dir, "gone", transport, target)
    before = dump.read_bytes()
    answer = await http.post("/v1/dumps/gone/repair", params={"sample": "2"})
    assert answer.status_code == 202, answer.text
    final = await wait_run(http, answer.json()["run"]["id"])
    assert final["state"] == "failed" and final["kind"] == "repair", final
    assert "cannot reach the gateway" in final["error"] and "nothing rewritten" in final["error"], final
    assert "\n" not in final["error"]
    assert dump.read_bytes() == before
    assert not list(service.dumps_dir.glob("*journal*")) and not list(service.dumps_dir.glob("*.previous*"))


async def test_a_repair_while_a_run_of_the_plan_is_live_is_a_409(service: Service, http: httpx.AsyncClient) -> None:
    async with Stand(latency_ms=50) as stand:
        assert (await _seed(http, stand, "grpc", "busy"))["state"] == "succeeded"
        body = {"plan": PLAN, "scenario": "busy", "transport": "grpc", "target": stand.target("grpc")}
        live = await http.post("/v1/runs", json={**body, "users": 40, "concurrency": 1})
        assert live.status_code == 202, live.text
        run_id = live.json()["run"]["id"]
        refused = await http.post("/v1/dumps/busy/repair")
        assert refused.status_code == 409 and f"has a live run, {run_id}" in refused.json()["error"], refused.text
        assert (await http.delete(f"/v1/runs/{run_id}")).status_code == 200
        repair = await http.post("/v1/dumps/busy/repair")
        assert repair.status_code == 202, repair.text
        second = await http.post("/v1/dumps/busy/repair")  # the first one checks 8 users at 50 ms a read: live
        assert second.status_code == 409 and "has a live run" in second.json()["error"], second.text
        assert (await wait_run(http, repair.json()["run"]["id"]))["state"] == "succeeded"


async def test_handouts_given_before_a_restart_survive_a_repair_made_by_the_next_service(
    dirs: tuple[Path, Path],
) -> None:
    async with Stand() as stand:
        async with (
            Service(dumps_dir=dirs[0], plans_dir=dirs[1]) as first,
            httpx.AsyncClient(base_url=first.url) as http,
        ):
            assert (await _seed(http, stand, "grpc", "kept"))["state"] == "succeeded"
            handed = {(await http.post("/v1/dumps/kept/next")).json()["index"] for _ in range(3)}
        stand.bank.delete_user(orjson_id(_lines(dirs[0] / "kept_seeds.json")[6]))
        async with (
            Service(dumps_dir=dirs[0], plans_dir=dirs[1]) as second,
            httpx.AsyncClient(base_url=second.url) as http,
        ):
            final = await wait_run(http, (await http.post("/v1/dumps/kept/repair")).json()["run"]["id"])
            assert final["state"] == "succeeded" and final["repair"] == [6], final
            assert (await http.get("/v1/dumps/kept")).json()["dump"]["left"] == USERS - 3  # the log continued
            rest = {(await http.post("/v1/dumps/kept/next")).json()["index"] for _ in range(USERS - 3)}
            assert rest == set(range(USERS)) - handed


async def test_a_repair_cancelled_while_it_reseeds_resumes_from_its_journal(
    service: Service, http: httpx.AsyncClient
) -> None:
    dump = service.dumps_dir / "slow_seeds.json"
    async with Stand(latency_ms=300) as stand:  # a user takes 6 calls of 300 ms: the re-seeding is cancelled midway
        assert (await _seed(http, stand, "grpc", "slow"))["state"] == "succeeded"
        before = _lines(dump)
        for index in (1, 4, 7):
            stand.bank.delete_user(orjson_id(before[index]))
        run_id = (await http.post("/v1/dumps/slow/repair")).json()["run"]["id"]
        for _ in range(400):  # bounded: 20 s
            run = (await http.get(f"/v1/runs/{run_id}")).json()["run"]
            if run["repair"] is not None or run["state"] not in ("queued", "running"):
                break
            await asyncio.sleep(0.05)
        assert run["repair"] == [1, 4, 7] and run["state"] == "running", run
        assert (await http.delete(f"/v1/runs/{run_id}")).status_code == 200
        cancelled = await wait_run(http, run_id)
        assert cancelled["state"] == "cancelled" and _lines(dump) == before, cancelled
        resumed = await http.post(f"/v1/runs/{run_id}/resume")
        assert resumed.status_code == 202, resumed.text
        final = await wait_run(http, run_id)
        assert final["state"] == "succeeded" and final["repair"] == [1, 4, 7], final
        after = _lines(dump)
        assert [after[i] == before[i] for i in range(USERS)] == [i not in (1, 4, 7) for i in range(USERS)]
        assert len(stand.bank.users) >= USERS and {orjson_id(line) for line in after} <= set(stand.bank.users)
