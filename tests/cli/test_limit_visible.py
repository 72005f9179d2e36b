"""What the limit did is visible: the live line shows calls in flight and the round trip against the
unloaded one; the summary line and ``--report`` give both, and the pushbacks.

The CLI runs in a subprocess against a stand process with 4 workers at 30 ms (a capacity-bound
gateway), its output off a terminal (plain progress lines every 0.2 s).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson

from seeding.stand import StandProcess

PROJECT = Path(__file__).resolve().parents[2]
PLAN = str(PROJECT / "plans" / "scenario-11-2.yaml")


def test_progress_summary_and_report_show_in_flight_and_round_trips(tmp_path: Path) -> None:
    with StandProcess(latency_ms=30, max_in_flight=4) as stand:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "seeding",
                PLAN,
                "--users",
                "12",
                "--grpc-target",
                stand.grpc_target,
                "--dumps-dir",
                str(tmp_path),
                "--report",
                str(tmp_path / "r.json"),
                "--progress-interval",
                "0.2",
            ],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(PROJECT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    live = [line for line in lines if "entities (" in line]
    assert live and all(re.search(r"\d+ in flight", line) for line in live)
    assert any(re.search(r"round trip \d+/\d+ ms", line) for line in live)  # once the first probe is done
    summary = next(line for line in lines if "up to" in line)
    assert re.search(r"round trip \d+ ms \(unloaded \d+ ms\)", summary)
    plan = orjson.loads((tmp_path / "r.json").read_bytes())["plans"][0]
    assert plan["unloaded_round_trip_ms"] >= 30 and plan["round_trip_ms"] >= 30  # the stand's latency at least
    # Not the 16+ of `off` (a client short of CPU can take it a quarter past 8: see test_concurrency_limits).
    assert 1 <= plan["peak_in_flight"] <= 3 * 4 and plan["pushbacks"] == 0
