"""The shipped locustfiles run headless against the embedded stand, seeding their dump on the way."""

from __future__ import annotations

import re

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
    assert requests > 10 and failures == 0
