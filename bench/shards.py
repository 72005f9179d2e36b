"""Benchmark: ``python -m seeding PLAN --processes N`` for N = 1, 2, 4, side by side; 1 M users estimated.

Two measurements, both against a stand in its own process (``python -m seeding.stand``):

1. Scaling. The stand answers every call after ``--latency-ms`` (25 ms) and each process keeps
   ``--concurrency`` (5) calls in flight, so a process is latency-bound (≤ 200 calls/s) and the
   stand, sleeping rather than computing, is not the bottleneck. That is what a 2-core machine
   needs for this: at full speed four seeding processes and the stand would fight over two cores
   and measure the machine, not the sharding. Calls/s = the merged dump's calls / its longest shard's
   seeding time (process start-up aside; the wall time, start-up and merge included, is printed too).
2. Per-process rate when CPU-bound: one process (``--processes 1``), no latency, ``--concurrency 50``,
   and the client's own CPU time per call (``RUSAGE_CHILDREN``: parent and shard process, not the
   stand), marginal: the CPU of a 2-user run (start-up, pre-flight, merge) is subtracted, calls too.
   ``1 / CPU per call`` is what one core sustains; the estimate for 1 M users (scenario
   11.2: 15 calls each, 15 M calls) on 8 and 32 cores assumes one shard process per core and a
   gateway that keeps up.

Runs alternate (1, 2, 4, 1, 2, 4, …) and medians are printed.

    python bench/shards.py [--users 120] [--latency-ms 25] [--concurrency 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seeding import open_dump
from seeding.stand import StandProcess

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "plans" / "scenario-11-2.yaml"
CALLS_PER_USER = 15  # scenario 11.2: a user, 2 accounts, 4 cards, 8 operations
MILLION = 1_000_000


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def seed(stand: StandProcess, transport: str, processes: int, users: int, concurrency: int) -> dict[str, float]:
    """One ``--processes`` run; its calls/s over the seeding time, wall seconds and client CPU seconds."""
    with tempfile.TemporaryDirectory() as dumps:
        flag = f"--grpc-target={stand.grpc_target}" if transport == "grpc" else f"--http-url={stand.http_url}"
        command = [sys.executable, "-m", "seeding", str(PLAN), f"--transport={transport}", flag]
        command += [f"--users={users}", f"--processes={processes}", f"--concurrency={concurrency}"]
        command += [f"--dumps-dir={dumps}", "--no-progress", "--seed=1"]
        cpu, started = children_cpu(), time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        wall, cpu = time.perf_counter() - started, children_cpu() - cpu
        if done.returncode != 0:
            raise SystemExit(f"seeding failed: {done.stderr.strip()}")
        meta = open_dump(Path(dumps) / "scenario-11-2_seeds.json").users.meta  # type: ignore[attr-defined]
    calls, seconds = meta["calls"], meta["duration_s"]
    return {"calls": calls, "seconds": seconds, "calls_s": calls / seconds, "wall": wall, "cpu_per_call": cpu / calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--concurrency", type=int, default=5, help="per process, in the scaling runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpu-users", type=int, default=400, help="users of the CPU-bound run")
    parser.add_argument("--transports", nargs="+", default=["grpc", "http"], choices=["grpc", "http"])
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores (shared with other work: ratios are side by side, medians of {args.repeats})"
    )

    print(
        f"\n1. scaling: scenario 11.2 × {args.users} users, stand process with {args.latency_ms:g} ms latency, "
        f"--concurrency {args.concurrency} per process"
    )
    print(f"{'transport':<10}{'processes':>10}{'calls':>8}{'seeding s':>11}{'calls/s':>9}{'wall s':>8}{'speed-up':>10}")
    counts = (1, 2, 4)
    with StandProcess(latency_ms=args.latency_ms) as stand:
        for transport in args.transports:
            runs: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
            for _ in range(args.repeats):
                for n in counts:
                    runs[n].append(seed(stand, transport, n, args.users, args.concurrency))
            base = statistics.median(r["calls_s"] for r in runs[1])
            for n in counts:
                rate = statistics.median(r["calls_s"] for r in runs[n])
                seconds = statistics.median(r["seconds"] for r in runs[n])
                wall = statistics.median(r["wall"] for r in runs[n])
                calls = int(runs[n][0]["calls"])
                print(f"{transport:<10}{n:>10}{calls:>8}{seconds:>11.2f}{rate:>9.0f}{wall:>8.2f}{rate / base:>9.2f}×")

    print(f"\n2. one CPU-bound process: {args.cpu_users} users, stand process without latency, --concurrency 50")
    print(
        f"{'transport':<10}{'calls/s':>9}{'client CPU µs/call':>20}{'calls/s per core':>18}{'1 M users, 8 cores':>20}"
        f"{'32 cores':>10}"
    )
    with StandProcess() as stand:
        for transport in args.transports:
            rates, per_calls = [], []
            for _ in range(args.repeats):
                small, big = seed(stand, transport, 1, 2, 50), seed(stand, transport, 1, args.cpu_users, 50)
                rates.append(big["calls_s"])
                cpu = big["cpu_per_call"] * big["calls"] - small["cpu_per_call"] * small["calls"]
                per_calls.append(cpu / (big["calls"] - small["calls"]))
            rate, per_call = statistics.median(rates), statistics.median(per_calls)
            per_core = 1 / per_call
            total = MILLION * CALLS_PER_USER
            hours = [total / (per_core * cores) / 3600 for cores in (8, 32)]
            print(
                f"{transport:<10}{rate:>9.0f}{per_call * 1e6:>20.0f}{per_core:>18.0f}"
                f"{hours[0]:>18.2f} h{hours[1] * 60:>8.0f} min"
            )
    print(
        "\nestimate: 15 M calls (1 M users × 15) / (calls/s per core × cores), one shard process per core, "
        "the gateway keeping up; start-up and merge (seconds) left out."
    )


if __name__ == "__main__":
    main()
