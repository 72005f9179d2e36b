"""Benchmark: how fast whole seeding runs go with one call in flight, the default, and fixed pools.

Side by side in one run, whole processes (``python -m seeding PLAN --grpc-target …``, start-up
included), each against a stand in its own process (``python -m seeding.stand``), scenario 11.2
for ``--users`` users (15 calls each). Configurations are run in turn within each repeat, so a
busy spell on the machine falls on all of them alike; the figures are medians. The checkout's
bytecode is compiled first, as an install leaves it (``client_cpu.compile_bytecode``).

Latency-bound gateway (the stand with ``--latency-ms``, default 20, no capacity limit):
``--concurrency 1``, the default, ``--concurrency 100 / 200 / 400``, and a raw grpc.aio stub loop
making the same calls with 200 in flight (``client_cpu.RAW``). Ratios against ``--concurrency 1``;
target: the default ≥ 40×. In the same rounds, two processes that only import libraries: those a
gRPC run loads (pydantic, pydantic-settings, PyYAML, Faker, grpc, protobuf, orjson) and those the
raw loop loads (grpc and its generated stubs). Their difference is start-up no client built on
these libraries avoids; the raw loop's wall plus it is where such a client lands when all its own
work costs what the raw loop's does, and the bench says how far the default is from that.

Capacity-bound gateway (the stand with ``--max-in-flight``, default 8, and the same latency): the
default against fixed concurrencies; target: the default within 1.1× of the best fixed one.

    python bench/seed_concurrency.py [--users 100] [--repeats 5] [--serial-repeats 1]
                                     [--latency-ms 20] [--max-in-flight 8] [--fixed 4 8 16 32 64 200]
                                     [--transport grpc]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from client_cpu import IMPORTS, IN_FLIGHT, RAW, RAW_IMPORTS, RUN_IMPORTS, compile_bytecode

from seeding.stand import StandProcess

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "plans" / "scenario-11-2.yaml"
CALLS_PER_USER = 15
DEFAULT = "default"
RAW_LOOP = f"raw grpc.aio, {IN_FLIGHT} in flight"
_LEVEL = re.compile(rb"up to (\d+) in flight")


def timed(command: list[str]) -> tuple[float, str]:
    """Run ``command`` to its end: wall seconds (start-up included) and what it said about its in-flight level."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[1:4])} …: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    level = _LEVEL.findall(done.stdout + done.stderr)
    return seconds, level[-1].decode() if level else ""


def command(config: str, stand: StandProcess, transport: str, users: int, dumps: Path) -> list[str]:
    if config == RAW_LOOP:
        return [sys.executable, "-c", RAW, stand.grpc_target, str(users), str(IN_FLIGHT)]
    if config in IMPORTS:
        return [sys.executable, "-c", IMPORTS[config]]
    address = f"--grpc-target={stand.grpc_target}" if transport == "grpc" else f"--http-url={stand.http_url}"
    fixed = [] if config == DEFAULT else [f"--concurrency={config}"]
    run_dumps = tempfile.mkdtemp(dir=dumps)  # a fresh dumps directory: no journal, no dump to resume
    return [
        sys.executable,
        "-m",
        "seeding",
        str(PLAN),
        f"--transport={transport}",
        address,
        f"--users={users}",
        f"--dumps-dir={run_dumps}",
        "--no-progress",
        *fixed,
    ]


def measure(
    configs: Sequence[str], stand: StandProcess, args: argparse.Namespace, repeats: dict[str, int]
) -> dict[str, tuple[float, str]]:
    """Median wall seconds of each configuration (and the last in-flight level it reported)."""
    seconds: dict[str, list[float]] = {c: [] for c in configs}
    levels: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as dumps:
        for round_ in range(max(repeats.get(c, args.repeats) for c in configs)):
            for config in configs:
                if round_ < repeats.get(config, args.repeats):
                    wall, level = timed(command(config, stand, args.transport, args.users, Path(dumps)))
                    seconds[config].append(wall)
                    levels[config] = level or levels.get(config, "")
    return {c: (statistics.median(s), levels.get(c, "")) for c, s in seconds.items()}


def label(config: str) -> str:
    if config in (DEFAULT, RAW_LOOP):
        return config
    return f"--concurrency {config}"


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5, help="runs of each configuration (median)")
    parser.add_argument("--serial-repeats", type=int, default=1, help="runs of --concurrency 1 (slow, steady)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--max-in-flight", type=int, default=8, help="capacity of the capacity-bound stand")
    parser.add_argument("--fixed", type=int, nargs="+", default=[4, 8, 12, 16, 32, 64, 200])
    parser.add_argument("--transport", choices=["grpc", "http"], default="grpc")
    parser.add_argument("--skip", choices=["latency", "capacity"], help="leave one of the two parts out")
    args = parser.parse_args()
    calls = args.users * CALLS_PER_USER
    print(
        f"scenario 11.2 × {args.users} users ({calls:,} calls) over {args.transport}, whole processes, "
        f"medians of {args.repeats} runs; {os.cpu_count()} CPUs (shared: note what else runs)"
    )
    print(compile_bytecode())
    ok = True

    if args.skip != "latency":
        print(f"\nlatency-bound: stand in its own process, {args.latency_ms:g} ms per call, no capacity limit")
        on_grpc = args.transport == "grpc"
        configs = ["1", DEFAULT, "100", "200", "400"] + ([RAW_LOOP, RUN_IMPORTS, RAW_IMPORTS] if on_grpc else [])
        with StandProcess(latency_ms=args.latency_ms) as stand:
            results = measure(configs, stand, args, {"1": args.serial_repeats})
        serial = results["1"][0]
        print(f"  {'run':<28}{'wall s':>8}{'calls/s':>9}{'vs 1':>8}  in flight reached")
        for config, (wall, level) in results.items():
            if config not in IMPORTS:
                print(f"  {label(config):<28}{wall:>8.2f}{calls / wall:>9.0f}{serial / wall:>7.1f}×  {level}")
        speedup = serial / results[DEFAULT][0]
        ok &= speedup >= 40
        print(f"  default: {speedup:.1f}× one call at a time ({verdict(speedup >= 40)} ≥ 40×)")
        if on_grpc:
            run_ms, raw_ms = results[RUN_IMPORTS][0] * 1e3, results[RAW_IMPORTS][0] * 1e3
            floor = results[RAW_LOOP][0] + (run_ms - raw_ms) / 1e3
            default = results[DEFAULT][0]
            print(
                f"  processes that only import: a run's libraries {run_ms:.0f} ms, the raw loop's {raw_ms:.0f} ms; "
                f"the raw loop + {run_ms - raw_ms:.0f} ms = {floor:.2f} s, {serial / floor:.1f}×: a client on these "
                f"libraries whose own work costs what the raw loop's does (the default: {default - floor:+.2f} s)"
            )

    if args.skip != "capacity":
        print(
            f"\ncapacity-bound: stand in its own process, --max-in-flight {args.max_in_flight}, "
            f"{args.latency_ms:g} ms per call (at most {args.max_in_flight / args.latency_ms * 1000:.0f} calls/s)"
        )
        configs = [DEFAULT, *map(str, args.fixed)]
        with StandProcess(latency_ms=args.latency_ms, max_in_flight=args.max_in_flight) as stand:
            results = measure(configs, stand, args, {})
        best = min((c for c in configs if c != DEFAULT), key=lambda c: results[c][0])
        print(f"  {'run':<28}{'wall s':>8}{'calls/s':>9}{'vs best':>9}  in flight reached")
        for config, (wall, level) in results.items():
            print(f"  {label(config):<28}{wall:>8.2f}{calls / wall:>9.0f}{wall / results[best][0]:>8.2f}×  {level}")
        ratio = results[DEFAULT][0] / results[best][0]
        ok &= ratio <= 1.1
        print(f"  default: {ratio:.2f}× the best fixed ({label(best)}) ({verdict(ratio <= 1.1)} ≤ 1.1×)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
