"""What ``seeding serve`` tells a person on stderr: one line per run that starts or ends, and at start and stop.

A real service process and a real stand: the lines are read from the service's stderr as a person
would see them. Other libraries' INFO lines (httpx logs every request) stay out; ``--access-log``
adds one line per request.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from seeding.service import ServiceProcess
from seeding.stand import StandProcess

PLAN = "users:\n  count: 4\n  credit_card_accounts: {count: 1, top_up_operations: 1}\n"
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d seeding\.service: "


def _finish(http: httpx.Client, run_id: str, within: float = 60.0) -> dict:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        run = http.get(f"/v1/runs/{run_id}").json()["run"]
        if run["state"] not in ("queued", "running"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still live after {within} s")


def _plans(tmp_path: Path) -> Path:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "cards.yaml").write_text(PLAN)
    return plans


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_a_run_and_the_service_each_say_one_line(tmp_path: Path, transport: str) -> None:
    dumps = tmp_path / "dumps"
    with StandProcess() as stand:
        target = stand.grpc_target if transport == "grpc" else stand.http_url
        service = ServiceProcess(dumps_dir=dumps, plans_dir=_plans(tmp_path))
        with service, httpx.Client(base_url=service.url, timeout=30) as http:
            body = {"plan": "cards", "users": 3, "transport": transport, "target": target}
            ok = _finish(http, http.post("/v1/runs", json=body).json()["run"]["id"])
            assert ok["state"] == "succeeded" and ok["dump"] == str(dumps / "cards_seeds.json")
            assert ok["wall_s"] > 0
            bad = {"plan": "cards", "scenario": "nowhere", "transport": "grpc", "target": "127.0.0.1:1"}
            failed = _finish(http, http.post("/v1/runs", json=bad).json()["run"]["id"])
            assert failed["state"] == "failed" and failed["dump"] is None
        log = service.stderr
    lines = log.splitlines()
    assert re.fullmatch(rf"{STAMP}listening on {re.escape(service.url)}: dumps in .+, plans in .+, no token", lines[0])
    assert re.search(
        rf"^{STAMP}run {ok['id']} started: cards, 3 users \(3 to seed\) over {transport} at {re.escape(target)}$",
        log,
        re.MULTILINE,
    ), log
    # counts with the cards the accounts opened with, the wall, the calls and the dump
    assert re.search(
        rf"^{STAMP}run {ok['id']} succeeded: cards, 3 users, 3 accounts, 6 cards, 3 operations "
        rf"\(6 of the cards opened with the accounts\) in \d+\.\d\d s \(9 calls, 0 retries\) → "
        rf"{re.escape(str(dumps / 'cards_seeds.json'))}$",
        log,
        re.MULTILINE,
    ), log
    assert re.search(
        rf"^{STAMP}run {failed['id']} failed after \d+\.\d\d s: nowhere: cannot reach the gateway over grpc at "
        r"127\.0\.0\.1:1: ",
        log,
        re.MULTILINE,
    ), log
    assert re.fullmatch(rf"{STAMP}stopped", lines[-1]), log
    assert len(lines) == 6, log  # nothing else: no httpx "HTTP Request" lines, no access log, no tracebacks
    assert "httpx" not in log and "HTTP Request" not in log and "aiohttp" not in log


def test_a_run_interrupted_by_the_stop_says_so(tmp_path: Path) -> None:
    plans = _plans(tmp_path)
    (plans / "big.yaml").write_text("users:\n  count: 400\n  debit_card_accounts: {count: 1, top_up_operations: 3}\n")
    with StandProcess(latency_ms=30) as stand:
        service = ServiceProcess(dumps_dir=tmp_path / "dumps", plans_dir=plans)
        with service, httpx.Client(base_url=service.url, timeout=30) as http:
            run = http.post("/v1/runs", json={"plan": "big", "target": stand.grpc_target, "concurrency": 2}).json()
            run_id = run["run"]["id"]
            deadline = time.monotonic() + 30
            while http.get(f"/v1/runs/{run_id}").json()["run"]["done"] == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
        log = service.stderr
    assert re.search(
        rf"^{STAMP}run {run_id} interrupted after \d+\.\d\d s: big, \d+ of 400 users safe in the journal; "
        rf"resume: POST /v1/runs/{run_id}/resume$",
        log,
        re.MULTILINE,
    ), log
    assert re.search(rf"^{STAMP}stopped: 1 live run\(s\) interrupted, resumable$", log, re.MULTILINE), log


def test_the_access_log_comes_with_its_flag(tmp_path: Path) -> None:
    service = ServiceProcess(dumps_dir=tmp_path / "dumps", plans_dir=_plans(tmp_path), extra_args=["--access-log"])
    with service, httpx.Client(base_url=service.url, timeout=30) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/v1/nowhere").status_code == 404
    log = service.stderr
    assert re.search(r'aiohttp\.access: 127\.0\.0\.1 "GET /healthz HTTP/1\.1" 200 \d+ [\d.]+s$', log, re.MULTILINE), log
    assert re.search(r'"GET /v1/nowhere HTTP/1\.1" 404 ', log), log


@pytest.mark.parametrize(
    ("users", "message"),
    [
        (-1, "body.users: Input should be greater than or equal to 0"),
        ("3", "body.users: Input should be a valid integer"),
        (2.5, "body.users: Input should be a valid integer"),
        (True, "body.users: Input should be a valid integer"),
        (None, None),  # null: the plan's own count
    ],
)
def test_users_in_a_run_request(tmp_path: Path, users: object, message: str | None) -> None:
    dumps = tmp_path / "dumps"
    with StandProcess() as stand:
        service = ServiceProcess(dumps_dir=dumps, plans_dir=_plans(tmp_path))
        with service, httpx.Client(base_url=service.url, timeout=30) as http:
            answer = http.post("/v1/runs", json={"plan": "cards", "users": users, "target": stand.grpc_target})
            if message is not None:
                assert answer.status_code == 422 and answer.json() == {"error": message}
                assert not dumps.joinpath("cards_seeds.json").exists()
                return
            run = _finish(http, answer.json()["run"]["id"])
    assert run["state"] == "succeeded" and run["planned"] == 4 * 3  # the plan's 4 users, 3 entities each


def test_a_pool_that_empties_says_so_once(tmp_path: Path) -> None:
    from seeding import DumpWriter, dump_path

    dumps = tmp_path / "dumps"
    dumps.mkdir()
    with DumpWriter(dump_path("two", dumps), {"scenario": "two", "counts": {"users": 2}}) as writer:
        for i in range(2):
            writer.write({"user_id": f"u-{i}", "debit_card_accounts": []})
    service = ServiceProcess(dumps_dir=dumps, plans_dir=_plans(tmp_path))
    with service, httpx.Client(base_url=service.url, timeout=30) as http:
        leases = [http.post("/v1/dumps/two/leases", params={"ttl": 60}) for _ in range(2)]
        assert [lease.status_code for lease in leases] == [201, 201]
        for _ in range(3):  # three refusals, one line
            assert http.post("/v1/dumps/two/leases", params={"ttl": 60}).status_code == 409
        assert http.delete(f"/v1/leases/{leases[0].json()['lease']}").status_code == 200
        again = http.post("/v1/dumps/two/leases", params={"ttl": 60})
        assert again.status_code == 201
        assert http.post("/v1/dumps/two/leases", params={"ttl": 60}).status_code == 409  # empty again: a new line
    empties = [line for line in service.stderr.splitlines() if "is empty" in line]
    assert len(empties) == 2, service.stderr
    assert re.fullmatch(
        rf"{STAMP}pool two is empty: 2 leased, 0 quarantined, of 2 users; leases wait or are refused \(409\)",
        empties[0],
    )
