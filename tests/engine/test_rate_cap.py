"""``--rate N``: the builder sends at most N calls per second, counted on the stand over real sockets.

The count is the stand's (calls it received between two instants five seconds apart), not a
timing assertion on the client: a loaded machine can only make the run slower than its cap (the
stand at 5 ms per call, uncapped, takes several times 200 calls per second).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from seeding import parse_plan
from seeding.engine._builder import Builder, BuildOptions
from seeding.gateway import connect
from seeding.stand import Stand

PROJECT = Path(__file__).resolve().parents[2]
PLAN = parse_plan((PROJECT / "plans" / "scenario-11-2.yaml").read_text())


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_rate_200_holds_within_ten_per_cent_over_five_seconds(transport: str) -> None:
    users = 100  # 1,500 calls: 7.5 s at 200 calls/s
    plan = PLAN.model_copy(update={"users": PLAN.users.model_copy(update={"count": users})})
    async with Stand(latency_ms=5) as stand, connect(transport, stand.target(transport)) as client:
        builder = Builder(plan, client, BuildOptions(rate=200, seed=1))
        run = asyncio.create_task(builder.run(range(users), lambda index, user: None))
        await asyncio.sleep(1.0)  # past the start
        first, started = stand.faults.calls.total(), time.monotonic()
        await asyncio.sleep(5.0)
        second, seconds = stand.faults.calls.total(), time.monotonic() - started
        await run
    rate = (second - first) / seconds
    assert 180 <= rate <= 220, f"{rate:.0f} calls/s"
    assert builder.stats.calls == users * 15
