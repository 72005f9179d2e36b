"""Benchmark: while a run keeps many calls in flight, where does a round trip's rise go: the gateway, or the client?

The default limit keeps the round trip within a budget of the unloaded one. A round trip is the
gateway's time plus the client's: an answer that has arrived waits until the client's event loop
gets to it. On a machine short of CPU the second grows with the calls in flight, and the gateway
is not to blame. This bench tells the two apart on this machine: the stand in its own process
(``--latency-ms`` 20, no capacity limit, gRPC), the builder in this process, and beside each run a
task that sleeps 5 ms at a time and records how late it wakes (the event loop's lag: how long a
ready answer waits for the client). For fixed concurrencies and the default, side by side in each
of ``--repeats`` rounds: wall, calls per second, the round trip's p50 (every attempt, from the
client's call log) and the loop's mean / p95 lag. Where the lag is a small part of the round trip's
rise above the unloaded one, the calls wait at the gateway (here the stand, whose CPU the client
shares), and a latency budget is right to hold back.

    python bench/client_lag.py [--users 300] [--latency-ms 20] [--fixed 1 64 400] [--repeats 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from seeding import Builder, BuildOptions, parse_plan
from seeding.gateway import CallLog, RpcStats, connect
from seeding.stand import StandProcess

ROOT = Path(__file__).resolve().parents[1]
PLAN = parse_plan((ROOT / "plans" / "scenario-11-2.yaml").read_text())
TICK = 0.005


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU so far (Linux: /proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(stand: StandProcess, users: int, concurrency: int | None) -> dict[str, float]:
    plan = PLAN.model_copy(update={"users": PLAN.users.model_copy(update={"count": users})})
    lags: list[float] = []

    async def watch() -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(TICK)
            lags.append(loop.time() - asked - TICK)

    async with connect("grpc", stand.grpc_target) as client:
        client.call_log = CallLog()
        builder = Builder(plan, client, BuildOptions(concurrency=concurrency, seed=1))
        watcher = asyncio.ensure_future(watch())
        started, stand_cpu, own_cpu = time.monotonic(), cpu_seconds(stand.pid), time.process_time()
        try:
            await builder.run(range(users), lambda index, user: None)
        finally:
            wall = time.monotonic() - started
            stand_cpu, own_cpu = cpu_seconds(stand.pid) - stand_cpu, time.process_time() - own_cpu
            watcher.cancel()
        every = RpcStats()
        for stats in client.call_log.rpcs.values():
            every.add_stats(stats)
    lags.sort()
    return {
        "wall": wall,
        "rate": every.calls / wall,
        "peak": builder.stats.peak_in_flight,
        "p50": every.percentile(0.5) * 1000,
        "lag": statistics.fmean(lags) * 1000 if lags else 0.0,
        "lag95": lags[int(0.95 * (len(lags) - 1))] * 1000 if lags else 0.0,
        "stand": stand_cpu / wall,  # the share of one core the stand used
        "client": own_cpu / wall,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--fixed", type=int, nargs="+", default=[1, 64, 400])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    configs: list[int | None] = [*args.fixed, None]
    seen: dict[int | None, list[dict[str, float]]] = {config: [] for config in configs}
    with StandProcess(latency_ms=args.latency_ms) as stand:
        for _ in range(args.repeats):
            for config in configs:
                users = min(args.users, 20) if config == 1 else args.users  # one at a time: a few suffice
                seen[config].append(await run(stand, users, config))
    print(
        f"scenario 11.2, {args.users} users, gRPC, stand in its own process at {args.latency_ms:g} ms without a "
        f"capacity limit; {os.cpu_count()} CPUs; medians of {args.repeats}\n"
    )
    columns = (
        "concurrency | wall | calls/s | in flight (peak) | round trip p50 | loop lag mean / p95 | CPU: stand / client"
    )
    print(f"| {columns} |")
    print("|---|---|---|---|---|---|---|")
    for config in configs:
        runs = seen[config]

        def median(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(run[key] for run in runs)

        name = "default (latency budget 1.5)" if config is None else str(config)
        print(
            f"| {name} | {median('wall'):.2f} s | {median('rate'):,.0f} | {median('peak'):.0f} | "
            f"{median('p50'):.0f} ms | {median('lag'):.1f} / {median('lag95'):.1f} ms | "
            f"{median('stand'):.0%} / {median('client'):.0%} |"
        )
    unloaded = statistics.median(run["p50"] for run in seen[configs[0]])
    for config in configs[1:]:
        rise = statistics.median(run["p50"] for run in seen[config]) - unloaded
        lag = statistics.median(run["lag"] for run in seen[config])
        name = "default" if config is None else f"concurrency {config}"
        share = lag / rise if rise > 0 else 0.0
        print(
            f"{name}: the round trip rose {rise:.0f} ms above one call at a time; the client's lag is {share:.0%} of it"
        )


if __name__ == "__main__":
    asyncio.run(main())
