"""``python -m seeding merge SCENARIO``: join the shards of one plan into ``dumps/<scenario>_seeds.json``.

The checks and the merge are the engine's (``seeding.engine._merge``); this is the command around them.

Exit codes: 0 merged; 1 the merged dump could not be written (the shards are untouched: merge
again); 2 bad usage, or a shard missing, unfinished, foreign or damaged (named).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .._exceptions import SeedingError
from ..dumps._files import dump_path
from ..engine._merge import MergeError, merge_shards
from ..engine._plan_lock import PlanHeld, PlanLock
from ._arguments import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PROG, OneLineParser

__all__ = ["build_parser", "main"]

NAME = f"{PROG} merge"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=NAME,
        description="Join the shards of one plan (dumps/<scenario>_seeds.shard-I-of-N.json, seeded with "
        "--shard I/N) into dumps/<scenario>_seeds.json, in plan order. The shards stay.",
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="the plan's scenario (its dump's name)")
    parser.add_argument("--dumps-dir", type=Path, help="where the shards are and the dump goes (default: dumps)")
    return parser


def _plan_lock(dump: Path) -> PlanLock | None:
    """The plan's lock while the merged dump is written: a live run of the plan refuses the merge.

    None when the dumps directory is missing, or the lock file cannot be made (the merged dump cannot
    be written there either, and ``merge_shards`` says why in its own words).
    """
    if not dump.parent.is_dir():
        return None
    try:
        return PlanLock.take(dump)
    except PlanHeld:
        raise
    except SeedingError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m seeding merge``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        dumps_dir = args.dumps_dir
        if dumps_dir is None:
            from .._settings import load_settings

            dumps_dir = Path(load_settings().seeding.dumps_dir)
        scenario = args.scenario
        if not scenario or "/" in scenario or scenario in (".", ".."):
            raise MergeError(f"{scenario!r}: give the plan's scenario name (its dump's name without _seeds.json)")
        lock = _plan_lock(dump_path(scenario, dumps_dir))
        try:
            merged = merge_shards(scenario, dumps_dir)
        finally:
            if lock is not None:
                lock.release()
    except SeedingError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        where = exc.filename or Path(args.dumps_dir or "dumps") / f"{args.scenario}_seeds.json"
        print(
            f"{NAME}: error: {where}: cannot write the merged dump: {exc.strerror or exc}; "
            "the shards are untouched, merge again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{NAME}: error: interrupted; no merged dump written, the shards are untouched", file=sys.stderr)
        return EXIT_FAILED
    meta = merged.meta
    grown = f"reused {meta['grown_from']}, seeded {meta['seeded_users']}, " if meta.get("grown_from") else ""
    print(
        f"{scenario}: merged {len(merged.shards)} shards, {merged.users} users ({grown}plan {meta.get('plan_hash')}, "
        f"seed {meta.get('seed')}) → {merged.path}"
    )
    if merged.kept is not None:
        print(f"{scenario}: the dump it replaced is kept as {merged.kept}")
    return EXIT_OK
