"""Locust strategy ``lease``: each virtual user holds its seeded user until it gives it back, across workers.

The runs use ``data/lease_locustfile.py`` (virtual users lease, hold a short random while, give
back and lease again, writing each hold down); the bad inputs use ``data/lease_driver.py``, a
local runner in one process. Locust is never imported into the test process.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from seeding import write_dump
from seeding.service import ServiceProcess

from .conftest import DATA, _free_port, locust_env, private_master_port
from .test_locust_runs import seeding_lines

pytestmark = pytest.mark.timeout(90)

Event = tuple[int, int, str, float]  # pid, index, start|end|quarantine, unix time


def events(directory: Path) -> list[Event]:
    rows = []
    for file in directory.glob("*.txt"):
        for line in file.read_text().splitlines():
            pid, index, event, at = line.split()
            rows.append((int(pid), int(index), event, float(at)))
    return sorted(rows, key=lambda row: row[3])


def holds(rows: list[Event], ended: dict[int, float]) -> dict[int, list[tuple[int, float, float]]]:
    """Index → its holds (pid, from, to); a hold still open ends at its process's death (``ended``) or never.

    A second start of one index in one process before its end is a double holder already.
    """
    open_: dict[tuple[int, int], float] = {}
    found: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for pid, index, event, at in rows:
        if event == "start":
            assert (pid, index) not in open_, f"seeded user {index} held twice in process {pid} at {at}"
            open_[(pid, index)] = at
        else:
            assert (pid, index) in open_, f"seeded user {index} given back by {pid} at {at} without a hold"
            found[index].append((pid, open_.pop((pid, index)), at))
    for (pid, index), began in open_.items():
        found[index].append((pid, began, ended.get(pid, math.inf)))
    return found


def assert_one_holder_at_a_time(found: dict[int, list[tuple[int, float, float]]]) -> None:
    for index, spans in found.items():
        spans.sort(key=lambda span: span[1])
        for before, after in itertools.pairwise(spans):
            assert after[1] >= before[2], f"seeded user {index} had two holders: {before} and {after}"


def ten_users(tmp_path: Path) -> Path:
    return write_dump(
        tmp_path / "dumps" / "s_seeds.json",
        {"scenario": "s"},
        [{"user_id": f"user-{i}", "debit_card_accounts": []} for i in range(10)],
    )


def run_and_kill_a_worker(
    tmp_path: Path, host: str, env: dict[str, str | Path]
) -> tuple[subprocess.CompletedProcess[str], list[Event], int, float]:
    """12 virtual users over 2 worker processes lease from 10 seeded users; one worker is killed -9 mid-run."""
    records = tmp_path / "records"
    records.mkdir()
    args = [
        "-f",
        str(DATA / "lease_locustfile.py"),
        "--headless",
        "-u",
        "12",
        "-r",
        "100",
        "-t",
        str(env.get("SEEDS_RUN_TIME", "10s")),
    ]
    args += ["--processes", "2", "--only-summary", "--exit-code-on-error", "1", "--host", host]
    master = subprocess.Popen(
        [sys.executable, "-m", "locust", *private_master_port(args, _free_port())],
        env=locust_env({"SEEDS_RECORDS": records, "SEEDS_QUARANTINE": "3", **env}),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # both workers lease, and have for a while
            workers = {pid for pid, *_ in events(records)}
            if len(workers) == 2 and len(events(records)) > 24:  # soon: most of the run is left after the kill
                break
            time.sleep(0.1)
        assert len(workers) == 2, events(records)
        victim = max(workers)
        killed_at = time.time()
        os.kill(victim, signal.SIGKILL)
        out, err = master.communicate(timeout=60)
    finally:
        if master.poll() is None:
            os.killpg(master.pid, signal.SIGKILL)
            master.wait()
    return subprocess.CompletedProcess(master.args, master.returncode, out, err), events(records), victim, killed_at


def assert_leases_came_back(rows: list[Event], victim: int, killed_at: float, bound: float) -> None:
    """No seeded user ever had two holders; those the killed worker held were leased again within ``bound`` s;
    user 3, quarantined by its first holder, was never leased again; every user was leased."""
    assert not [row for row in rows if row[0] == victim and row[3] > killed_at]
    found = holds(rows, {victim: killed_at})
    assert_one_holder_at_a_time(found)
    lost = {index for index, spans in found.items() for pid, _, to in spans if pid == victim and to == killed_at}
    assert lost, "the killed worker held seeded users when it died"
    back = {}
    for index in lost:
        taken = [
            at for pid, i, event, at in rows if i == index and event == "start" and pid != victim and at > killed_at
        ]
        assert taken, f"seeded user {index}, held by the killed worker, never came back"
        back[index] = min(taken) - killed_at
    assert max(back.values()) < bound, back
    print(f"killed worker's {len(lost)} seeded users back after {sorted(round(s, 2) for s in back.values())} s")
    quarantined = [at for _, index, event, at in rows if index == 3 and event == "quarantine"]
    assert len(quarantined) == 1, [row for row in rows if row[1] == 3]
    assert not [row for row in rows if row[1] == 3 and row[2] == "start" and row[3] > quarantined[0]]
    assert {index for _, index, *_ in rows} == set(range(10))


def test_a_killed_workers_leases_come_back_and_no_user_has_two_holders(
    stand_process, seed_dump, scenario_plan, tmp_path
):
    """Through the master: 2 of the 12 virtual users wait; the killed worker's users come back to the other."""
    dump = seed_dump(scenario_plan, stand_process, tmp_path / "dumps")
    done, rows, victim, killed_at = run_and_kill_a_worker(tmp_path, stand_process.http_url, {"SEEDS_DUMP": dump})
    assert done.returncode == 0, done.stderr[-3000:]
    # Locust marks a worker missing after HEARTBEAT_LIVENESS (3) silent 1 s intervals; the master
    # then gives its positions back at once. Generous: the machine is shared.
    assert_leases_came_back(rows, victim, killed_at, bound=12)
    lines = seeding_lines(done.stderr)
    assert any("quarantined for this test run" in line and "broken by the test" in line for line in lines)


def test_service_leases_renew_come_back_after_a_kill_and_quarantine_in_the_pool(
    stand_process, seed_dump, scenario_plan, tmp_path
):
    """Through a service: 3 s leases, renewed every third of it, held up to 4 s; a killed worker's expire."""
    dumps = tmp_path / "dumps"
    seed_dump(scenario_plan, stand_process, dumps)
    with ServiceProcess(dumps_dir=dumps, plans_dir=tmp_path) as service:
        url = f"{service.url}/v1/dumps/{scenario_plan.stem}"
        env = {
            "SEEDS_DUMP": url,
            "SEEDS_TTL": "3",
            "SEEDS_HOLD": "4",
            "SEEDS_RUN_TIME": "16s",  # after the kill: the 3 s TTL, a waiting lease's next look (≤ 0.8 s), load
            "SEEDS_WHEN_EMPTY": "wait:5",
        }
        done, rows, victim, killed_at = run_and_kill_a_worker(tmp_path, stand_process.http_url, env)
        deadline = time.monotonic() + 3 + 5  # a lease granted as the run stopped comes back by its TTL
        while (pool := httpx.get(f"{url}/pool").json()["pool"])["leased"] and time.monotonic() < deadline:
            time.sleep(0.2)
        listed = httpx.get(f"{url}/quarantine").json()["quarantined"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert_leases_came_back(rows, victim, killed_at, bound=10)  # the TTL, then the free ones before them
    assert [(entry["index"], entry["reason"]) for entry in listed] == [(3, "broken by the test")]
    assert (pool["leased"], pool["quarantined"], pool["free"]) == (0, 1, 9), pool  # nothing lost
    assert "expired before it was renewed" not in done.stderr


@pytest.mark.parametrize(
    ("source", "users", "hold", "warned"),
    [
        ("service", 8, "60", True),  # 8 of 10 leased in the first second, none given back: dry long before the end
        ("service", 1, "0.2", False),  # one user leasing and returning: the pool never runs dry
        ("master", 8, "60", True),  # the same through Locust's master (a dump file, 2 worker processes)
        ("local", 1, "0.2", False),
    ],
    ids=["service-runs-dry", "service-keeps-up", "master-runs-dry", "local-keeps-up"],
)
def test_a_timed_run_says_once_when_the_pool_will_run_dry_before_it_ends(
    stand_process, run_locust, tmp_path, source, users, hold, warned
):
    dump = ten_users(tmp_path)
    (tmp_path / "records").mkdir()
    # Every virtual user starts at once and the pool is looked at every second: a run whose workers start late on
    # a loaded machine (CI's coverage pass) still leases its 8 users early enough for a look to see them.
    args = ["-f", str(DATA / "lease_locustfile.py"), "--headless", "-u", str(users), "-r", str(users), "-t", "10s"]
    # The made-up users are not the stand's (its 422s are failures): only the run's own errors count.
    args += ["--only-summary", "--exit-code-on-error", "0", "--host", stand_process.http_url]
    args += ["--processes", "2"] if source == "master" else []
    env: dict[str, str | Path] = {"SEEDS_HOLD": hold, "SEEDS_PREDICT_EVERY": "1", "SEEDS_RECORDS": tmp_path / "records"}
    if source == "service":
        with ServiceProcess(dumps_dir=tmp_path / "dumps", plans_dir=tmp_path) as service:
            where = f"{service.url}/v1/dumps/s"
            done = run_locust(args, env={**env, "SEEDS_DUMP": where})
    else:
        where = str(dump)
        done = run_locust(args, env={**env, "SEEDS_DUMP": dump})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "will have no free user in about" in line]
    assert len(lines) == (1 if warned else 0), lines
    if warned:
        assert where in lines[0] and "before the run's remaining" in lines[0] and "taken/s" in lines[0], lines[0]


def drive_all(directory: Path, scenarios: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Run each named scenario (``steps`` and ``feeder`` arguments) in one driver process, one after another,
    each on ten seeded users of its own; name → its report."""
    given = []
    for number, scenario in enumerate(scenarios.values()):
        dump = ten_users(directory / str(number))
        given.append(
            {"dump": str(dump), "feeder": {"strategy": "lease", **scenario["feeder"]}, "steps": scenario["steps"]}
        )
    done = subprocess.run(
        [sys.executable, str(DATA / "lease_driver.py"), json.dumps(given)],
        env=locust_env({}),
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(zip(scenarios, json.loads(done.stdout.splitlines()[-1]), strict=True))


def drive(tmp_path: Path, steps: list[list[Any]], **feeder: Any) -> dict[str, Any]:
    return drive_all(tmp_path, {"only": {"steps": steps, "feeder": feeder}})["only"]


ALL = [["claim", u] for u in range(10)]


NOT_HELD = "SeedingError: seeding.locust.{}: Idle holds no seeded user; call it after user_for(self), once"
REASON = "ValueError: seeding.locust.quarantine: the reason must be text of 1 to 500 characters, not "


BAD_CALLS = [
    pytest.param({}, [["release", 0]], NOT_HELD.format("release"), 10, id="release-unleased"),
    pytest.param({}, [["claim", 0], ["release", 0], ["release", 0]], NOT_HELD.format("release"), 10, id="twice"),
    pytest.param({}, [["quarantine", 0, "why"]], NOT_HELD.format("quarantine"), 10, id="quarantine-unleased"),
    pytest.param({}, [["claim", 0], ["quarantine", 0, ""]], REASON + "''", 9, id="reason-empty"),
    pytest.param({}, [["claim", 0], ["quarantine", 0, "  "]], REASON + "'  '", 9, id="reason-blank"),
    pytest.param({}, [["claim", 0], ["quarantine", 0, "x" * 501]], REASON + "'xxxx", 9, id="reason-too-long"),
    pytest.param({}, [["claim", 0], ["quarantine", 0, 7]], REASON + "7", 9, id="reason-not-text"),
    pytest.param({}, [["claim", 0], ["quarantine", 0, None]], REASON + "None", 9, id="reason-none"),
    pytest.param({}, [*ALL, ["claim", 10]], "SeedsExhaustedError: ", 0, id="exhausted-stop"),
    pytest.param({"when_empty": "wait:0.5"}, [*ALL, ["claim", 10]], "SeedsExhaustedError: ", 0, id="exhausted-wait"),
]
POLICIES = ["cycle", "warn", "sometimes", "wait:0", "wait:x"]
TTLS = [0, -1, 1e-300, 86401, math.nan]  # 1e-300: renewed every third of it, a busy loop


def _bad_call_steps(steps: list[list[Any]], free_after: int) -> list[list[Any]]:
    """After the bad call, exactly the users not held can be leased, then the pool is dry."""
    return [*steps, *(["claim", 100 + k] for k in range(free_after + 1))]


@pytest.fixture(scope="module")
def driven(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every row of the three tables below, run in one driver process (a Locust start each would cost seconds)."""
    scenarios: dict[str, dict[str, Any]] = {}
    for row in BAD_CALLS:
        feeder, steps, _, free_after = row.values
        scenarios[f"call-{row.id}"] = {"feeder": feeder, "steps": _bad_call_steps(steps, free_after)}
    scenarios.update({f"policy-{policy}": {"feeder": {"when_empty": policy}, "steps": []} for policy in POLICIES})
    scenarios.update({f"ttl-{ttl}": {"feeder": {"lease_ttl": ttl}, "steps": []} for ttl in TTLS})
    return drive_all(tmp_path_factory.mktemp("lease-tables"), scenarios)


@pytest.mark.parametrize(("feeder", "steps", "expected", "free_after"), BAD_CALLS)
def test_bad_lease_calls_are_one_line_and_lose_nothing(driven, request, feeder, steps, expected, free_after):
    report = driven[f"call-{request.node.callspec.id}"]
    assert report["made"] is None
    bad, after = report["steps"][len(steps) - 1], report["steps"][len(steps) :]
    assert bad[0] == "error" and f"{bad[1]}: {bad[2]}".startswith(expected), report
    assert "\n" not in bad[2] and len(bad[2]) < 300 and report["tracebacks"] == 0
    assert all(step[0] == "ok" for step in report["steps"][: len(steps) - 1]), report
    if feeder.get("when_empty", "").startswith("wait"):
        assert bad[3] >= 0.45, bad  # it waited its bound before it gave up
    assert [step[0] for step in after] == ["ok"] * free_after + ["error"], after
    assert after[-1][1] == "SeedsExhaustedError"
    if free_after == 9:  # user 0 still holds seeded user 0: no one else gets it
        assert 0 not in {step[1] for step in after[:-1]}, after


@pytest.mark.parametrize("policy", POLICIES)
def test_lease_refuses_a_policy_that_would_share_a_user(driven, policy):
    report = driven[f"policy-{policy}"]
    assert report["made"] is not None and report["made"].startswith("ValueError: ") and "\n" not in report["made"]
    if policy in ("cycle", "warn"):
        assert f"holds each user exclusively: when_empty takes stop or wait:SECONDS, not '{policy}'" in report["made"]


@pytest.mark.parametrize("ttl", TTLS)
def test_lease_ttl_out_of_bounds_is_refused(driven, ttl):
    report = driven[f"ttl-{ttl}"]
    assert report["made"] is not None and "lease_ttl must be at least 0.1 and at most 86400 seconds" in report["made"]


def test_a_waiting_claim_gets_a_user_as_soon_as_one_is_released_and_a_quarantined_one_never_comes_back(tmp_path):
    steps = [*ALL, ["quarantine", 4, "card blocked"], ["release_in", 0, 0.3], ["claim", 10], ["claim", 11]]
    report = drive(tmp_path, steps, when_empty="wait:2")
    *_, quarantine, _, waited, none_left = report["steps"]
    assert quarantine[0] == "ok"
    assert waited[:2] == ["ok", 0] and 0.2 <= waited[2] < 1.5, waited  # user 0, once released
    assert none_left[1] == "SeedsExhaustedError" and none_left[3] >= 1.9, none_left  # never user 4
    assert any("seeded user 4 quarantined for this test run: card blocked" in line for _, line in report["logs"])
