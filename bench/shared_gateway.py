"""Benchmark: how the default limit behaves on a shared gateway, against fixed concurrencies.

Side by side in one run: for each capacity (the stand in its own process with ``--max-in-flight``
4, 8 and 32, and without a limit, all at ``--latency-ms`` 20), whole ``python -m seeding`` runs of
scenario 11.2 with the default limit, the previous default (``--latency-budget off``, for
before/after in the same run) and with ``--concurrency`` 8, 16, 64 and 400, each with
``--report``: wall, calls per second, peak calls in flight, and p50 / p95 of CreateUser and
OpenDebitCardAccount (the client's round trips, from the report). A run at ``--concurrency 1``
(fewer users) gives the unloaded p50. Goals (issue 27): on a capacity-bound stand the default's
calls/s ≥ 0.95 × the best fixed one's and its p50 ≤ 1.5 × the p50 at concurrency 1; without a
limit, the default's wall within 1.1 × the best fixed wall.

    python bench/shared_gateway.py [--users 60] [--baseline-users 5] [--latency-ms 20]
                                   [--capacities 4 8 32 0] [--fixed 8 16 64 400] [--transport grpc]

A capacity of 0 is the stand without a limit. One repeat: the figures of a loaded machine vary.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

from seeding.stand import StandProcess

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "plans" / "scenario-11-2.yaml"
RPCS = ("CreateUser", "OpenDebitCardAccount")
DEFAULT = "default"
OFF = "off"  # --latency-budget off: the previous default (AdaptiveLimit), for before/after in one run


def run(config: str, stand: StandProcess, transport: str, users: int, dumps: Path) -> dict:
    dumps = dumps / f"c{config}-{users}"  # a dump of its own: a run never reuses another's
    dumps.mkdir()
    report = dumps / "report.json"
    limit = [] if config == DEFAULT else ["--latency-budget", "off"] if config == OFF else ["--concurrency", config]
    flag = "--grpc-target" if transport == "grpc" else "--http-url"
    command = [sys.executable, "-m", "seeding", str(PLAN), "--users", str(users), "--transport", transport]
    command += [flag, stand.target(transport), "--dumps-dir", str(dumps), "--restart", "--no-progress"]
    command += ["--report", str(report), *limit]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=dumps)
    if done.returncode != 0:
        raise SystemExit(f"{config}: exit {done.returncode}: {done.stderr.strip()}")
    return orjson.loads(report.read_bytes())["plans"][0]


def row(name: str, plan: dict) -> tuple[str, float, float, list[str], dict]:
    wall = plan["duration_s"]
    rate = plan["calls"] / wall if wall else 0.0
    cells = []
    for rpc in RPCS:
        latency = plan["rpcs"][rpc]["latency_ms"]
        cells.append(f"{latency['p50']:.0f} / {latency['p95']:.0f} ms")
    return name, wall, rate, cells, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--baseline-users", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--capacities", type=int, nargs="+", default=[4, 8, 32, 0])
    parser.add_argument("--fixed", nargs="+", default=["8", "16", "64", "400"])
    parser.add_argument("--transport", choices=["grpc", "http"], default="grpc")
    args = parser.parse_args()
    print(f"scenario 11.2, {args.users} users (15 calls each), {args.transport}, stand at {args.latency_ms:g} ms")
    for capacity in args.capacities:
        limit = {"max_in_flight": capacity} if capacity else {}
        with StandProcess(latency_ms=args.latency_ms, **limit) as stand, tempfile.TemporaryDirectory() as tmp:
            dumps = Path(tmp)
            baseline = run("1", stand, args.transport, args.baseline_users, dumps)
            rows = [row(DEFAULT, run(DEFAULT, stand, args.transport, args.users, dumps))]
            rows.append(row(OFF, run(OFF, stand, args.transport, args.users, dumps)))
            rows += [row(fixed, run(fixed, stand, args.transport, args.users, dumps)) for fixed in args.fixed]
        unloaded = {rpc: baseline["rpcs"][rpc]["latency_ms"]["p50"] for rpc in RPCS}
        where = f"--max-in-flight {capacity}" if capacity else "no capacity limit"
        print(f"\n{where} (p50 at concurrency 1: " + ", ".join(f"{r} {unloaded[r]:.0f} ms" for r in RPCS) + ")\n")
        print(
            "| concurrency | wall | calls/s | in flight (peak) | " + " | ".join(f"{r} p50 / p95" for r in RPCS) + " |"
        )
        print("|---|---|---|---|" + "---|" * len(RPCS))
        for name, wall, rate, cells, plan in rows:
            shown = {DEFAULT: "default (latency budget 1.5)", OFF: "previous default (budget off)"}.get(name, name)
            print(f"| {shown} | {wall:.2f} s | {rate:.0f} | {plan['peak_in_flight']} | " + " | ".join(cells) + " |")
        fixed = rows[2:]
        best_rate = max(r[2] for r in fixed)
        best_wall = min(r[1] for r in fixed)
        print()
        for adaptive in rows[:2]:
            p50 = max(adaptive[4]["rpcs"][r]["latency_ms"]["p50"] / unloaded[r] for r in RPCS)
            if capacity:
                print(
                    f"{adaptive[0]}: {adaptive[2] / best_rate:.2f} × the best fixed calls/s (goal ≥ 0.95), "
                    f"p50 {p50:.2f} × the p50 at concurrency 1 (goal ≤ 1.5)"
                )
            else:
                print(f"{adaptive[0]}: wall {adaptive[1] / best_wall:.2f} × the best fixed wall (goal ≤ 1.1)")


if __name__ == "__main__":
    main()
