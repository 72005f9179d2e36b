"""``SeedsFeeder`` given a seeding service's URL: Locust processes take their users from the service."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from seeding.service import ServiceProcess

from .test_locust_runs import RUN, assert_unique_and_true, records, seeding_lines

pytestmark = pytest.mark.timeout(90)


def test_processes_take_each_seeded_user_once_from_the_service(
    stand_process, seed_dump, run_locust, data_dir, scenario_plan, tmp_path: Path
) -> None:
    dumps = tmp_path / "dumps"
    dump = seed_dump(scenario_plan, stand_process, dumps)
    (tmp_path / "records").mkdir()
    with ServiceProcess(dumps_dir=dumps, plans_dir=tmp_path, token="t0k") as service:
        url = f"{service.url}/v1/dumps/{scenario_plan.stem}"
        args = ["-f", str(data_dir / "recording_locustfile.py"), *RUN, "--processes", "2", "-u", "7"]
        done = run_locust(
            [*args, "--host", stand_process.http_url],
            env={"SEEDS_DUMP": url, "SEEDS_RECORDS": tmp_path / "records", "SEEDING.SERVICE_TOKEN": "t0k"},
        )
        assert done.returncode == 0, done.stderr[-3000:]
        left = httpx.get(url, headers={"Authorization": "Bearer t0k"}).json()["dump"]["left"]
        users = httpx.get(url, headers={"Authorization": "Bearer t0k"}).json()["dump"]["users"]

        # More virtual users than the service has left: the run stops at start with one line.
        short = run_locust(
            [*args[:-1], str(left + 1), "--host", stand_process.http_url],
            env={"SEEDS_DUMP": url, "SEEDS_RECORDS": tmp_path / "records", "SEEDING.SERVICE_TOKEN": "t0k"},
        )
        wrong_token = run_locust(
            [*args, "--host", stand_process.http_url],
            env={"SEEDS_DUMP": url, "SEEDS_RECORDS": tmp_path / "records", "SEEDING.SERVICE_TOKEN": "nope"},
        )
    assert_unique_and_true(records(tmp_path / "records"), dump, 7)
    assert left == users - 7
    assert short.returncode == 1
    (line,) = seeding_lines(short.stderr)
    assert f"holds {left} seeded users but the run asks for {left + 1} virtual users" in line
    assert wrong_token.returncode == 1
    assert any("401" in line and "wrong bearer token" in line for line in seeding_lines(wrong_token.stderr))
