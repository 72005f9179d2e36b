"""The shipped locustfiles run headless against the embedded stand, seeding their dump on the way."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("example", ["get_operations_http", "make_purchase_grpc"])
def test_example_runs_clean(example, stand_process, run_locust, repo_root, tmp_path):
    folder = repo_root / "examples" / "locust"
    host = stand_process.http_url if example.endswith("http") else stand_process.grpc_target

    done = run_locust(
        ["--config", str(folder / f"{example}.conf"), "-f", str(folder / f"{example}.py"), "--host", host, "-t", "3s"],
        env={},
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "dumps" / "scenario-11-2_seeds.json").exists()  # seeded by the init hook
    total = re.search(r"^\s+Aggregated\s+(\d+)\s+(\d+)\(", done.stderr, re.MULTILINE)
    assert total is not None, done.stderr[-3000:]
    requests, failures = map(int, total.groups())
    assert requests > 10 and failures == 0
