"""``--rate N``: a run sends at most N calls per second, counted on the stand over real sockets.

The CLI runs in a subprocess (the client's CPU on its own core) against a stand in the test's
process, which counts the calls it received between two instants five seconds apart: the rate is
the stand's count, not a timing assertion on the client.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import coverage
import pytest

from seeding.stand import Stand

PROJECT = Path(__file__).resolve().parents[2]
PLAN = str(PROJECT / "plans" / "scenario-11-2.yaml")


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_rate_200_holds_within_ten_per_cent_over_five_seconds(transport: str, tmp_path: Path) -> None:
    async with Stand(latency_ms=5) as stand:
        flag = "--grpc-target" if transport == "grpc" else "--http-url"
        seeding = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "seeding", PLAN, "--users", "100", "--transport", transport),  # 1,500 calls
            *(flag, stand.target(transport), "--rate", "200", "--dumps-dir", str(tmp_path), "--no-progress"),
            # A fixed limit well above 200/s × the round trip: the cap alone sets the pace.
            *("--concurrency", "50"),
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(PROJECT)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(600):  # the child's start-up: up to 30 s on a loaded machine
            if stand.faults.calls.total() > 0:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # past the first calls
        first, started = stand.faults.calls.total(), time.monotonic()
        await asyncio.sleep(5.0)
        second, seconds = stand.faults.calls.total(), time.monotonic() - started
        _, stderr = await asyncio.wait_for(seeding.communicate(), timeout=60)
    assert seeding.returncode == 0, stderr.decode()
    rate = (second - first) / seconds
    # Within 10 % of the cap, as calls per second counted on the stand. (A 2-core VM loaded to 10 by
    # other work gave 48/s once: the pace of a starved machine, not of the cap.) Under coverage's tracer
    # (CI's second pass traces this process, its stand, and the seeder too) the machine's own pace may
    # fall below the cap (175/s seen over HTTP): there the cap is checked from above only; the first,
    # untraced pass checks both bounds.
    traced = coverage.Coverage.current() is not None
    assert (traced or rate >= 180) and rate <= 220, f"{rate:.0f} calls/s"
    assert stand.faults.calls.total() == 1 + 1500  # the pre-flight call, then the run's
