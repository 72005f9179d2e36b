"""``python -m seeding list``: the plans one can seed and the dumps one has, at a glance.

Plans (``plans/*.yaml|yml|json``): name, users, calls. Dumps (``dumps/*_seeds.json``): scenario,
users, age, transport and target, and how the plan of that name stands to the dump: "plan unchanged",
"shape changed" (the next run re-seeds it, keeping it as ``.previous``), or "N users, plan wants M"
(the next run grows it, or reuses it without a call). Shards (``--shard I/N``) are listed
by plan with the ones still missing before ``merge``. Unfinished runs (journals, shards' too) are listed
too, since they block a new run of their plan until ``--resume`` or ``--restart``. A plan or dump
that cannot be read is listed with its one-line error instead of stopping the listing.

Exit codes: 0 listed (even when nothing was found); 2 bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from .._exceptions import DumpError, PlanError, SeedingError
from ..dumps._files import open_dump, read_meta
from ..engine._shards import Shard, parse_shard
from ..files import open_regular
from ..plan._models import PLANS_DIR, SeedsPlan, load_plan
from ._arguments import EXIT_OK, PROG, OneLineParser

__all__ = ["main"]

NAME = f"{PROG} list"
_PLAN_SUFFIXES = (".yaml", ".yml", ".json")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=NAME, description="Show the plans one can seed and the dumps one has.")
    parser.add_argument("--plans-dir", type=Path, default=PLANS_DIR, help="default %(default)s")
    parser.add_argument("--dumps-dir", type=Path, default=Path("dumps"), help="default %(default)s")
    return parser


def main(argv: Sequence[str]) -> int:
    """Entry point of ``python -m seeding list``; returns the exit code."""
    args = build_parser().parse_args(argv)
    plans = _plans(args.plans_dir)
    print(f"plans in {args.plans_dir}/:" if plans else f"plans in {args.plans_dir}/: none")
    for line in _plan_lines(plans):
        print(f"  {line}")
    dumps = sorted(args.dumps_dir.glob("*_seeds.json")) if args.dumps_dir.is_dir() else []
    print(f"dumps in {args.dumps_dir}/:" if dumps else f"dumps in {args.dumps_dir}/: none")
    by_name = {plan.name: plan for _, plan in plans if isinstance(plan, SeedsPlan)}
    for path in dumps:
        print(f"  {_dump_line(path, by_name)}")
    shards = _shard_lines(args.dumps_dir) if args.dumps_dir.is_dir() else []
    if shards:
        print(f"shards in {args.dumps_dir}/ (join them with `{PROG} merge SCENARIO`):")
        for line in shards:
            print(f"  {line}")
    journals = sorted(args.dumps_dir.glob("*_seeds*.journal")) if args.dumps_dir.is_dir() else []
    if journals:
        print("unfinished runs (finish with --resume, or discard with --restart):")
        for path in journals:
            print(f"  {_journal_line(path)}")
    return EXIT_OK


def _plans(directory: Path) -> list[tuple[Path, SeedsPlan | PlanError]]:
    if not directory.is_dir():
        return []
    found: list[tuple[Path, SeedsPlan | PlanError]] = []
    for path in sorted(p for p in directory.iterdir() if p.suffix in _PLAN_SUFFIXES and p.is_file()):
        try:
            found.append((path, load_plan(path)))
        except PlanError as exc:
            found.append((path, exc))
    return found


def _plan_lines(plans: list[tuple[Path, SeedsPlan | PlanError]]) -> list[str]:
    lines = []
    width = max((len(path.stem) for path, _ in plans), default=0)
    for path, plan in plans:
        if isinstance(plan, PlanError):
            lines.append(f"{path.stem:<{width}}  invalid: {plan}")
            continue
        calls = sum(plan.totals().values())
        lines.append(f"{plan.name:<{width}}  {plan.users.count:>9,} users  {calls:>11,} calls  {path}")
    return lines


def _dump_line(path: Path, plans: dict[str, SeedsPlan]) -> str:
    scenario = path.name.removesuffix("_seeds.json")
    try:
        meta = read_meta(path)
        users = len(open_dump(path).users)
    except DumpError as exc:
        return f"{scenario}  unreadable: {exc}"
    if meta is None:
        return f"{scenario}  {users:,} users  (no meta: made by the course's builder)  {path}"
    age = _age(meta.get("created_at"))
    where = f"{meta.get('transport', '?')} {meta.get('target', '?')}"
    plan = plans.get(str(meta.get("scenario", scenario)))
    shape = meta.get("shape_hash")
    if plan is None:
        matches = "no plan of that name"
    elif shape is None:  # made before dumps recorded their shape: the next run re-seeds it (keeping it aside)
        matches = "plan unchanged" if plan.hash == meta.get("plan_hash") else "shape unknown (an older dump)"
    elif shape != plan.shape_hash:
        matches = "shape changed"
    elif users != plan.users.count:
        matches = f"{users:,} users, plan wants {plan.users.count:,}"
    else:
        matches = "plan unchanged"
    return f"{scenario}  {users:,} users  made {age}  on {where}  {matches}  {path}"


def _shard_lines(directory: Path) -> list[str]:
    """Per scenario and split: the shards there and the ones missing (``s  2 of 3 shards, missing 3/3``)."""
    found: dict[tuple[str, int], list[int]] = {}
    for path in directory.glob("*_seeds.shard-*-of-*.json"):
        shard = Shard.of_file(path)
        if shard is not None:
            scenario = path.name[: path.name.index("_seeds.shard-")]
            found.setdefault((scenario, shard.count), []).append(shard.index)
    lines = []
    for (scenario, count), indices in sorted(found.items()):
        missing = [f"{index}/{count}" for index in range(1, count + 1) if index not in indices]
        state = f"missing {', '.join(missing[:10])}{', …' if len(missing) > 10 else ''}" if missing else "all there"
        lines.append(f"{scenario}  {len(indices)} of {count} shards, {state}")
    return lines


def _journal_line(path: Path) -> str:
    try:
        with open(open_regular(path, what="a journal"), "rb") as journal:
            header = orjson.loads(journal.readline())
            complete: set[bytes] = set()  # a user line
            parts: set[bytes] = set()  # a part of a user being made (``_partial``)
            for line in journal:
                if line.startswith(b'{"index":'):
                    head, _, rest = line.partition(b",")
                    (complete if rest.startswith(b'"user":') else parts).add(head)
            done, begun = len(complete), len(parts - complete)
    except SeedingError as exc:  # names the file already
        return f"unreadable: {exc}"
    except (OSError, orjson.JSONDecodeError) as exc:
        return f"{path}: unreadable: {exc}"
    if not isinstance(header, dict):
        return f"{path}: no header"
    users = header.get("users", "?")
    started = _age(header.get("started_at"))
    name = header.get("scenario", path.name)
    with contextlib.suppress(ValueError, TypeError):
        if header.get("shard"):
            shard = parse_shard(str(header["shard"]))
            name = f"{name} shard {shard}"
            users = len(shard.indices(int(users)))
    more = f" (and {begun} begun)" if begun else ""
    return f"{name}  {done} of {users} users{more}  started {started}  {path}"


def _age(stamp: object) -> str:
    try:
        made = datetime.fromisoformat(str(stamp))
    except ValueError:
        return "at an unknown time"
    if made.tzinfo is None:
        made = made.replace(tzinfo=UTC)
    seconds = max(int((datetime.now(UTC) - made).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit} ago"
    return f"{seconds} s ago"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
