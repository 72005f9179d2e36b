"""Benchmark: growing a dump by 10 % vs seeding the bigger plan anew, side by side (calls and wall).

Against a stand in its own process (``python -m seeding.stand``), plan scenario 11.2 (15 calls a user):

1. setup: seed ``--users`` N users (not compared);
2. grow: the same plan with ``--users`` 1.1·N on that dump: only the 0.1·N missing users are seeded, the N old ones
   are copied byte for byte;
3. re-seed: 1.1·N users into an empty dumps directory: what every change of count cost before shapes;
4. reuse: the plan with ``--users`` N again on the grown dump: no call at all.

Calls are the builder's (the dump's ``meta.calls``: the pre-flight call aside); wall is the whole command, start-up,
the copy of the old users and the write included. The goal: calls ∝ the added users only (ratio ≈ 1/11).
Rounds alternate (grow, re-seed, grow, …) and medians are printed.

    python bench/grow.py [--users 10000] [--repeats 1] [--transport grpc] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seeding import read_meta
from seeding.stand import StandProcess

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "plans" / "scenario-11-2.yaml"
DUMP = "scenario-11-2_seeds.json"


def run(stand: StandProcess, transport: str, users: int, dumps: Path) -> dict[str, float]:
    """One ``python -m seeding`` run; its calls (from the dump's meta) and wall seconds."""
    flag = f"--grpc-target={stand.grpc_target}" if transport == "grpc" else f"--http-url={stand.http_url}"
    command = [sys.executable, "-m", "seeding", str(PLAN), f"--transport={transport}", flag, f"--users={users}"]
    command += [f"--dumps-dir={dumps}", "--no-progress", "--summary=line"]
    before = (dumps / DUMP).stat().st_mtime_ns if (dumps / DUMP).exists() else None
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"seeding failed: {done.stderr.strip()}")
    written = (dumps / DUMP).stat().st_mtime_ns != before
    meta = read_meta(dumps / DUMP) or {}
    return {"calls": float(meta.get("calls", 0)) if written else 0.0, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000, help="the dump's users before it grows by 10 %%")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--transport", default="grpc", choices=["grpc", "http"])
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the stand's latency per call")
    args = parser.parse_args()
    grown_users = args.users + args.users // 10
    print(
        f"machine: {os.cpu_count()} cores (shared with other work: figures are side by side, medians of "
        f"{args.repeats}); scenario 11.2, {args.users:,} → {grown_users:,} users over {args.transport}, "
        f"stand latency {args.latency_ms:g} ms"
    )
    grows, reseeds, reuses = [], [], []
    with StandProcess(latency_ms=args.latency_ms) as stand, tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "base"
        setup = run(stand, args.transport, args.users, base)
        print(f"setup: {args.users:,} users seeded in {setup['wall']:.1f} s ({setup['calls']:,.0f} calls)")
        for round_ in range(args.repeats):
            grown = Path(scratch) / f"grow-{round_}"
            shutil.copytree(base, grown)
            grows.append(run(stand, args.transport, grown_users, grown))
            reseeds.append(run(stand, args.transport, grown_users, Path(scratch) / f"anew-{round_}"))
            reuses.append(run(stand, args.transport, args.users, grown))

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    rows = [("grow +10 %", grows), ("re-seed all", reseeds), ("reuse (fewer)", reuses)]
    print(f"\n{'':<14}{'users seeded':>14}{'calls':>12}{'wall s':>10}")
    seeded = {"grow +10 %": grown_users - args.users, "re-seed all": grown_users, "reuse (fewer)": 0}
    for name, runs in rows:
        print(f"{name:<14}{seeded[name]:>14,}{median(runs, 'calls'):>12,.0f}{median(runs, 'wall'):>10.2f}")
    calls_ratio = median(grows, "calls") / max(median(reseeds, "calls"), 1)
    wall_ratio = median(grows, "wall") / max(median(reseeds, "wall"), 1e-9)
    print(
        f"\ngrow / re-seed: calls {calls_ratio:.3f} (goal {1 / 11:.3f}: the added users only), "
        f"wall {wall_ratio:.3f} ({1 / wall_ratio:.1f}× faster)"
    )


if __name__ == "__main__":
    main()
