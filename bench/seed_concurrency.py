"""Benchmark: seeding with one call in flight vs the default pool, side by side in one run.

A stand runs in a separate process (``python -m seeding.stand``) with 20 ms latency per call, as a
real gateway would have; the plan is scenario 11.2 scaled to 30 users (450 calls). For each
transport it seeds the plan with ``--concurrency 1`` and with the default, and prints seconds,
calls per second and the ratio. Target: ratio ≥ 25×.

    python bench/seed_concurrency.py [--users 30] [--latency-ms 20] [--transports grpc http]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from seeding import BuildOptions, PlanRun, load_plan
from seeding._builder import DEFAULT_CONCURRENCY
from seeding.gateway import Transport, connect
from seeding.stand import StandProcess

PLAN = Path(__file__).resolve().parents[1] / "plans" / "scenario-11-2.yaml"


async def seed_once(transport: Transport, target: str, users: int, concurrency: int, dumps: Path) -> tuple[float, int]:
    plan = load_plan(PLAN)
    plan = plan.model_copy(update={"users": plan.users.model_copy(update={"count": users})})
    async with connect(transport, target) as client:
        await client.check_reachable()
        run = PlanRun(plan, client, dumps_dir=dumps, options=BuildOptions(concurrency=concurrency), seed=1)
        await run.execute()
    assert run.builder is not None and not run.missing
    return run.builder.stats.elapsed, run.builder.stats.calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--transports", nargs="+", default=["grpc", "http"], choices=["grpc", "http"])
    args = parser.parse_args()

    print(f"scenario 11.2 × {args.users} users, stand in a separate process with {args.latency_ms:g} ms latency")
    print(f"{'transport':<10}{'concurrency':>12}{'seconds':>10}{'calls':>8}{'calls/s':>10}")
    ratios = {}
    with StandProcess(latency_ms=args.latency_ms) as stand, tempfile.TemporaryDirectory() as tmp:
        for transport in args.transports:
            timings = {}
            for concurrency in (1, DEFAULT_CONCURRENCY):
                seconds, calls = asyncio.run(
                    seed_once(transport, stand.target(transport), args.users, concurrency, Path(tmp))
                )
                timings[concurrency] = seconds
                print(f"{transport:<10}{concurrency:>12}{seconds:>10.2f}{calls:>8}{calls / seconds:>10.0f}")
            ratios[transport] = timings[1] / timings[DEFAULT_CONCURRENCY]
    for transport, ratio in ratios.items():
        verdict = "meets" if ratio >= 25 else "MISSES"
        print(f"{transport}: default concurrency is {ratio:.1f}× faster than one call at a time ({verdict} ≥ 25×)")
    sys.exit(0 if all(r >= 25 for r in ratios.values()) else 1)


if __name__ == "__main__":
    main()
