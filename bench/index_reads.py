"""Reading one user by position, ``users.raw(i)``: offsets from the ``.idx`` file next to offsets in memory.

    python bench/index_reads.py [--users 100000] [--reads 200000] [--repeats 3]

Writes a dump shaped like scenario 11.2 (``dump_scale.user_lines``, large enough for the writer to
leave its index), then, in this process, times ``raw(i)`` on two opens of it side by side: with
the index (offsets ``pread`` from the ``.idx`` file, as a service or a Locust worker reads a large
dump) and without it (the index hidden, so the open scans the dump and keeps its offsets in
memory, as for a small dump). Positions in order (``unique`` hand-outs) and at random
(``shuffle``, ``random``). Median of ``--repeats`` rounds, µs per read. Target: with the index
≤ 1.2× in memory for reads in order (issue 23: was 22 µs vs 10 µs).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dump_scale

from seeding import open_dump, write_dump
from seeding.dumps._files import LazyUsers
from seeding.dumps._index import IndexOffsets, index_path

TARGET_RATIO = 1.2


def per_read(users: LazyUsers, positions: list[int]) -> float:
    """µs per ``raw(i)`` over ``positions``."""
    raw = users.raw
    started = time.perf_counter()
    for position in positions:
        raw(position)
    return (time.perf_counter() - started) / len(positions) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="index-reads-") as scratch:
        dump = Path(scratch) / "b_seeds.json"
        write_dump(dump, dump_scale.meta(args.users), dump_scale.user_lines(args.users))
        if not index_path(dump).exists():
            sys.exit(f"{dump}: no index written ({dump.stat().st_size:,} bytes); pass a larger --users")
        hidden = index_path(dump).with_suffix(".hidden")
        os.rename(index_path(dump), hidden)  # (a rename changes the index's ctime: done before the indexed open)
        in_memory = open_dump(dump).users
        os.rename(hidden, index_path(dump))
        indexed = open_dump(dump).users
        assert isinstance(indexed, LazyUsers) and isinstance(in_memory, LazyUsers)
        assert indexed.raw(0) == in_memory.raw(0)
        assert isinstance(indexed._dump.starts, IndexOffsets) and not isinstance(in_memory._dump.starts, IndexOffsets)
        rng = random.Random(1)
        orders = {
            "in order": [i % args.users for i in range(args.reads)],
            "at random": [rng.randrange(args.users) for _ in range(args.reads)],
        }
        print(f"{args.users:,} users, {dump.stat().st_size / 2**20:.0f} MiB, {args.reads:,} reads per round")
        print(f"{'positions':<10} {'index file µs':>14} {'in memory µs':>13} {'ratio':>7}")
        for name, positions in orders.items():
            for users in (indexed, in_memory):  # warm both (page cache, code paths)
                per_read(users, positions[:10_000])
            index_us = statistics.median(per_read(indexed, positions) for _ in range(args.repeats))
            memory_us = statistics.median(per_read(in_memory, positions) for _ in range(args.repeats))
            ratio = index_us / memory_us
            verdict = f"(target ≤ {TARGET_RATIO}×)" if name == "in order" else ""
            print(f"{name:<10} {index_us:>14.1f} {memory_us:>13.1f} {ratio:>6.2f}× {verdict}")


if __name__ == "__main__":
    main()
