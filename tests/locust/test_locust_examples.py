"""The shipped locustfiles run headless against the embedded stand, seeding their dump on the way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("example", ["get_operations_http", "make_purchase_grpc"])
def test_example_runs_clean(example, stand_process, run_locust, repo_root, tmp_path):
    folder = repo_root / "examples" / "locust"
    host = stand_process.http_url if example.endswith("http") else stand_process.grpc_target

    # The .conf names its plan relative to the repository root, where users run it; this runs elsewhere.
    plan = ["--seeds-plan", str(repo_root / "plans" / "get-operations.yaml")] if example.endswith("http") else []
    files = ["--config", str(folder / f"{example}.conf"), "-f", str(folder / f"{example}.py")]
    done = run_locust([*files, "--host", host, "-t", "3s", *plan], env={})

    assert done.returncode == 0, done.stderr[-3000:]
    dump = "get-operations" if example.endswith("http") else "make-purchase-operation"
    assert (tmp_path / "dumps" / f"{dump}_seeds.json").exists()  # seeded by the init hook, a dump of its own
    total = re.search(r"^\s+Aggregated\s+(\d+)\s+(\d+)\(", done.stderr, re.MULTILINE)
    assert total is not None, done.stderr[-3000:]
    requests, failures = map(int, total.groups())
    # Each virtual user calls once as it starts and then waits 0.5-1.5 s: at least one call each, however
    # loaded the machine (CI's coverage pass spawned late enough for exactly one each).
    assert requests >= 10 and failures == 0


def test_the_soak_example_runs_more_virtual_users_than_seeded_users_waiting_for_one(
    stand_process, run_locust, repo_root, tmp_path
):
    """14 virtual users on 10 seeded users under lease: 4 wait (--seeds-when-empty wait:30), none fails."""
    folder = repo_root / "examples" / "locust"
    files = ["--config", str(folder / "soak_leases.conf"), "-f", str(folder / "get_operations_http.py")]
    plan = ["--seeds-plan", str(repo_root / "plans" / "get-operations.yaml")]
    done = run_locust([*files, "--host", stand_process.http_url, "-t", "4s", "-u", "14", "-r", "14", *plan], env={})

    assert done.returncode == 0, done.stderr[-3000:]
    assert "holds 10 seeded users but the run asks for 14" not in done.stderr
    assert "strategy 'lease'" in done.stderr  # the feeder's start line: the conf's strategy is the one run
    total = re.search(r"^\s+Aggregated\s+(\d+)\s+(\d+)\(", done.stderr, re.MULTILINE)
    assert total is not None, done.stderr[-3000:]
    requests, failures = map(int, total.groups())
    assert requests >= 10 and failures == 0  # the 10 holding a user called at least once each


@pytest.mark.parametrize("example", ["get_operations_http", "make_purchase_grpc"])
def test_example_without_a_gateway_stops_before_seeding(example, run_locust, repo_root, tmp_path):
    """No --host: one line and exit 2, nothing seeded (a shared machine's localhost:8003/9003 is not ours)."""
    folder = repo_root / "examples" / "locust"
    plan = ["--seeds-plan", str(repo_root / "plans" / "get-operations.yaml")] if example.endswith("http") else []
    files = ["--config", str(folder / f"{example}.conf"), "-f", str(folder / f"{example}.py")]
    done = run_locust([*files, "-t", "3s", *plan], env={"LOCUST_HOST": ""})

    assert done.returncode == 2, done.stderr[-3000:]
    assert f"{example}: no gateway: give --host" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "dumps").exists() or not any((tmp_path / "dumps").iterdir())


@pytest.mark.parametrize(
    "conf", sorted(path.name for path in (Path(__file__).resolve().parents[2] / "examples" / "locust").glob("*.conf"))
)
def test_example_confs_name_no_gateway_and_bind_the_master_to_loopback(conf, repo_root):
    keys = {}
    for line in (repo_root / "examples" / "locust" / conf).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            keys[key.strip()] = value.strip()
    assert "host" not in keys
    assert keys["master-bind-host"] == "127.0.0.1"
