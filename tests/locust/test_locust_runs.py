"""Locust itself, headless, in subprocesses against a stand process: what virtual users really got.

Every virtual user of ``data/recording_locustfile.py`` appends ``pid index user_id`` to a file of
its process when it starts, then reads its seeded user from the stand for the rest of the run;
a 404 would fail the run (``--exit-code-on-error 1``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from seeding import open_dump
from seeding.locust import Assignment

pytestmark = pytest.mark.timeout(90)

RUN = ["--headless", "-r", "100", "-t", "3s", "--exit-code-on-error", "1", "--only-summary"]


def records(directory: Path) -> list[tuple[int, int, str]]:
    rows = []
    for file in directory.glob("*.txt"):
        for line in file.read_text().splitlines():
            pid, index, user_id = line.split()
            rows.append((int(pid), int(index), user_id))
    return rows


def assert_unique_and_true(rows: list[tuple[int, int, str]], dump: Path, users: int) -> None:
    """One record per virtual user, no seeded user twice, each the dump's user at that index."""
    seeds = open_dump(dump)
    assert len(rows) == users, rows
    indices = [index for _, index, _ in rows]
    assert len(set(indices)) == users, f"a seeded user was handed out twice: {sorted(indices)}"
    assert all(user_id == seeds.users[index].user_id for _, index, user_id in rows)
    assert len({pid for pid, _, _ in rows}) == 2, "both worker processes should have served users"


def seeding_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "/seeding.locust:" in line]


def test_processes_regenerate_once_and_hand_out_each_seeded_user_once(
    stand_process, seed_dump, run_locust, data_dir, scenario_plan, tmp_path
):
    # Yesterday's dump, of another plan, at the very path: the forked workers must never use it.
    dumps = tmp_path / "dumps"
    old_plan = tmp_path / "old" / "scenario-11-2.yaml"
    old_plan.parent.mkdir()
    old_plan.write_text("users: {count: 12, debit_card_accounts: 1, credit_card_accounts: 1}\n")
    dump = seed_dump(old_plan, stand_process, dumps)
    old_ids = {user.user_id for user in open_dump(dump).users}
    (tmp_path / "records").mkdir()

    done = run_locust(
        [
            "-f",
            str(data_dir / "recording_locustfile.py"),
            *RUN,
            "--processes",
            "2",
            "-u",
            "7",  # odd: one worker gets 4 users, so one comes from the master's pool
            "--host",
            stand_process.http_url,
        ],
        env={
            "SEEDS_DUMP": dump,
            "SEEDS_RECORDS": tmp_path / "records",
            "SEEDS_PLAN": scenario_plan,
            "SEEDS_TARGET": stand_process.http_url,
        },
    )

    assert done.returncode == 0, done.stderr[-3000:]
    lines = seeding_lines(done.stderr)
    assert sum("another shape" in line for line in lines) == 1, lines  # the master seeded, once
    assert len(open_dump(dump).users) == 10
    rows = records(tmp_path / "records")
    assert_unique_and_true(rows, dump, 7)
    assert not old_ids & {user_id for _, _, user_id in rows}


def test_the_master_regenerates_a_dump_over_two_processes(stand_process, run_locust, data_dir, scenario_plan, tmp_path):
    dump = tmp_path / "dumps" / "scenario-11-2_seeds.json"
    (tmp_path / "records").mkdir()
    done = run_locust(
        ["-f", str(data_dir / "recording_locustfile.py"), *RUN, "-u", "3", "--host", stand_process.http_url],
        env={
            "SEEDS_DUMP": dump,
            "SEEDS_RECORDS": tmp_path / "records",
            "SEEDS_PLAN": scenario_plan,
            "SEEDS_TARGET": stand_process.http_url,
            "SEEDS_PROCESSES": "2",
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert any("2 processes" in line for line in seeding_lines(done.stderr)), seeding_lines(done.stderr)
    assert len(open_dump(dump).users) == 10
    assert not list(dump.parent.glob("*.shard-*")), "the shards were merged and removed"
    rows, seeds = records(tmp_path / "records"), open_dump(dump)
    assert len(rows) == 3 and len({index for _, index, _ in rows}) == 3, rows
    assert all(user_id == seeds.users[index].user_id for _, index, user_id in rows)


def test_workers_without_the_dump_get_it_from_the_master_course_style(
    stand_process, seed_dump, run_locust, start_locust, data_dir, scenario_plan, free_port, tmp_path
):
    dump = seed_dump(scenario_plan, stand_process, tmp_path / "dumps")
    (tmp_path / "records").mkdir()
    locustfile = ["-f", str(data_dir / "recording_locustfile.py")]
    env = {
        "SEEDS_DUMP": dump,
        "SEEDS_RECORDS": tmp_path / "records",
        "SEEDS_STRATEGY": "shuffle",
        "SEEDS_SEED": "11",
        "SEEDS_COURSE_STYLE": "1",  # environment.seeds.get_next_user(), unique across workers all the same
    }
    worker_env = {**env, "SEEDS_DUMP": tmp_path / "elsewhere" / dump.name}  # a machine without the file
    worker_args = [*locustfile, "--worker", "--master-host=127.0.0.1", f"--master-port={free_port}"]
    workers = [start_locust(worker_args, worker_env) for _ in range(2)]

    master = run_locust(
        [
            *locustfile,
            *RUN,
            "--master",
            "--master-bind-host=127.0.0.1",
            f"--master-bind-port={free_port}",
            "--expect-workers=2",
            "-u",
            "9",
            "--host",
            stand_process.http_url,
        ],
        env=env,
    )

    assert master.returncode == 0, master.stderr[-3000:]
    worker_logs = [worker.communicate(timeout=30)[1] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), worker_logs
    assert sum("sending 10 seeded users" in line for line in seeding_lines(master.stderr)) == 2
    assert all("receiving its 10 seeded users" in log for log in worker_logs)
    assert not (tmp_path / "elsewhere").exists()  # nothing shipped as a file into their dumps dir
    rows = records(tmp_path / "records")
    assert_unique_and_true(rows, dump, 9)
    # 9 virtual users hold positions 0-8 of the one permutation seeded by SEEDS_SEED, whichever worker they are on.
    shuffled = {Assignment("shuffle", seeds=10, seed=11).index(position) for position in range(9)}
    assert shuffled != set(range(9))
    assert {index for _, index, _ in rows} == shuffled


@pytest.mark.parametrize(
    ("processes", "env", "expected"),
    [
        (["--processes", "2"], {}, "holds 10 seeded users but the run asks for 12 virtual users"),
        ([], {"SEEDS_REQUIRES": "deposit_accounts"}, "requires deposit_accounts but the dump's users have none"),
    ],
    ids=["more-users-than-seeds", "account-kind-missing"],
)
def test_a_dump_that_cannot_serve_the_run_stops_it_at_start(
    stand_process, seed_dump, run_locust, data_dir, scenario_plan, tmp_path, processes, env, expected
):
    dump = seed_dump(scenario_plan, stand_process, tmp_path / "dumps")
    (tmp_path / "records").mkdir()

    done = run_locust(
        [
            "-f",
            str(data_dir / "recording_locustfile.py"),
            *RUN,
            *processes,
            "-u",
            "12",
            "--host",
            stand_process.http_url,
        ],
        env={"SEEDS_DUMP": dump, "SEEDS_RECORDS": tmp_path / "records", **env},
    )

    assert done.returncode == 1, done.stderr[-3000:]
    errors = [line for line in seeding_lines(done.stderr) if "/ERROR/" in line]
    assert len(errors) == 1 and expected in errors[0], done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert records(tmp_path / "records") == []  # no virtual user ever started


def test_failed_regeneration_is_one_line_and_exit_1(run_locust, data_dir, scenario_plan, free_port, tmp_path):
    dead = f"http://127.0.0.1:{free_port}"

    done = run_locust(
        ["-f", str(data_dir / "recording_locustfile.py"), *RUN, "-u", "1", "--host", dead],
        env={
            "SEEDS_DUMP": tmp_path / "dumps" / "scenario-11-2_seeds.json",
            "SEEDS_RECORDS": tmp_path,
            "SEEDS_PLAN": scenario_plan,
            "SEEDS_TARGET": dead,
        },
    )

    assert done.returncode == 1, done.stderr[-3000:]
    errors = [line for line in seeding_lines(done.stderr) if "/ERROR/" in line]
    assert len(errors) == 1 and "failed (exit 1): python -m seeding: error: cannot reach the gateway" in errors[0]
    assert "Traceback" not in done.stderr


def test_a_worker_joining_a_running_test_takes_seeded_users_from_the_masters_pool(
    stand_process, seed_dump, run_locust, start_locust, data_dir, scenario_plan, free_port, tmp_path
):
    dump = seed_dump(scenario_plan, stand_process, tmp_path / "dumps")
    (tmp_path / "records").mkdir()
    locustfile = ["-f", str(data_dir / "recording_locustfile.py")]
    env = {"SEEDS_DUMP": dump, "SEEDS_RECORDS": tmp_path / "records"}
    worker_args = [*locustfile, "--worker", "--master-host=127.0.0.1", f"--master-port={free_port}"]
    master_args = [*locustfile, *RUN, "--master", "--master-bind-host=127.0.0.1", f"--master-bind-port={free_port}"]
    master = start_locust(
        [
            *master_args,
            "--expect-workers=1",
            "--enable-rebalancing",
            "-u",
            "6",
            "-t",
            "10s",  # the late worker joins after the first's 6 users run (seconds on a loaded machine): time to move
            "--host",
            stand_process.http_url,
        ],
        env,
    )
    first = start_locust(worker_args, env)
    deadline = time.monotonic() + 20
    while len(records(tmp_path / "records")) < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    late = start_locust(worker_args, env)  # Locust rebalances: some users move to it

    _, master_log = master.communicate(timeout=60)
    worker_logs = [worker.communicate(timeout=30)[1] for worker in (first, late)]

    assert master.returncode == 0, master_log[-3000:]
    rows = records(tmp_path / "records")
    indices = [index for _, index, _ in rows]
    assert len(indices) == len(set(indices)), f"a seeded user was handed out twice: {sorted(indices)}"
    moved = [index for pid, index, _ in rows if pid == late.pid]
    assert moved and all(index >= 6 for index in moved), worker_logs[1][-3000:]  # from the pool, past the stripe
