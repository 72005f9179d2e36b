"""Join the shards of one plan into ``dumps/<scenario>_seeds.json`` (``python -m seeding merge``, ``--processes``).

The shards (``<scenario>_seeds.shard-I-of-N.json``, from ``--shard I/N``) are checked before a byte
is written: all ``N`` present and finished (no journal left beside one), each the shard its name
says, every one of the same plan (hash) and seed, each holding exactly its part of the fixed split
(so no plan index is missing or there twice), each readable. Then their users are copied in plan
order, shard after shard and one user at a time (memory stays flat for a million users), into a
dump written atomically: it appears complete or not at all. The shard files are left as they are.

Its ``meta`` is an unsharded run's (plan, hash, seed, counts, target), so readers and Locust's
regeneration treat the merged dump like any other, plus ``merged_from`` naming the shards.
"""

from __future__ import annotations

import glob
import math
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .._exceptions import DumpError, SeedingError
from ..command._arguments import PROG
from ..dumps._files import (
    DumpWriter,
    LazyUsers,
    dump_path,
    open_dump,
    read_meta,
    remove_stale_temporaries,
    user_bytes,
)
from ..dumps._previous import keep_previous
from ._journal import journal_path
from ._shards import Shard, shard_of_meta

if TYPE_CHECKING:
    from ..dumps._result import SeedUserResult

__all__ = ["MergeError", "Merged", "ShardFile", "find_shards", "merge_shards"]


class MergeError(SeedingError):
    """The shards cannot be merged (missing, unfinished, foreign, damaged): nothing was written."""


@dataclass(frozen=True)
class ShardFile:
    """One finished shard dump, checked: which shard, its meta, how many users."""

    path: Path
    shard: Shard
    meta: dict[str, Any]
    users: int


@dataclass(frozen=True)
class Merged:
    """What ``merge_shards`` wrote."""

    path: Path
    users: int
    shards: list[ShardFile]
    meta: dict[str, Any]
    kept: Path | None = None  # where the dump it replaced went (``.previous``)


def find_shards(scenario: str, dumps_dir: str | Path, count: int | None = None) -> list[ShardFile]:
    """The ``count`` (default: as the files say) finished shards of ``scenario``, checked, in shard order.

    Raises ``MergeError`` naming the first shard that is missing, unfinished, foreign or damaged.
    """
    directory = Path(dumps_dir)
    if not directory.is_dir():
        raise MergeError(f"{directory}: no such dumps directory")
    whole = dump_path(scenario, directory)
    pattern = f"{glob.escape(whole.stem)}.shard-*-of-*"
    found = sorted(directory.glob(f"{pattern}.json")) + sorted(directory.glob(f"{pattern}.journal"))
    named = {path: shard for path in found if (shard := Shard.of_file(path.with_suffix(".json"))) is not None}
    if count is None:
        counts = sorted({shard.count for shard in named.values()})
        if not counts:
            raise MergeError(
                f"{directory}: no shards of {scenario} ({whole.stem}.shard-I-of-N.json); "
                f"seed them with `{PROG} PLAN --shard I/N`"
            )
        if len(counts) > 1:
            first, other = (next(p for p, s in named.items() if s.count == n) for n in counts[:2])
            raise MergeError(
                f"{directory}: shards of two splits of {scenario}: {first.name} is one of {counts[0]}, "
                f"{other.name} one of {counts[1]}; remove the split you do not want"
            )
        count = counts[0]
    shards = [_check_file(Shard(index, count), whole) for index in range(1, count + 1)]
    _check_same_run(shards)
    _check_split(shards)
    return shards


def _check_file(shard: Shard, whole: Path) -> ShardFile:
    path = shard.dump_path(whole)
    journal = journal_path(path)
    if journal.exists():
        raise MergeError(
            f"{journal}: shard {shard} is unfinished (its journal is still there); "
            f"finish it with `{PROG} PLAN --shard {shard} --resume`"
        )
    if not path.exists():
        raise MergeError(f"{path}: shard {shard} is missing; seed it with `{PROG} PLAN --shard {shard}`")
    try:
        meta = read_meta(path)
        users = len(open_dump(path).users)
    except DumpError as exc:
        raise MergeError(f"shard {shard} is damaged: {exc}") from None
    held = shard_of_meta(meta)
    if meta is None or held is None:
        raise MergeError(f"{path}: not a shard dump (its meta records no shard); seed shard {shard} again")
    if held != shard:
        raise MergeError(
            f"{path}: holds shard {held} by its meta, not {shard} as its name says; "
            f"its users would be merged twice or not at all: seed shard {shard} again"
        )
    return ShardFile(path, shard, meta, users)


def _check_same_run(shards: list[ShardFile]) -> None:
    """One plan, one seed: a shard that differs from the others (the most, else shard 1) is foreign."""

    def key(item: ShardFile) -> tuple[Any, Any, Any, Any]:
        record = item.meta["shard"]
        return item.meta.get("plan_hash"), item.meta.get("seed"), record.get("users"), record.get("base", 0)

    votes = Counter(key(item) for item in shards)
    expected = max(votes, key=lambda k: (votes[k], k == key(shards[0])))
    for item in shards:
        plan_hash, seed, users, base = key(item)
        if (plan_hash, seed, users, base) != expected:
            raise MergeError(
                f"{item.path}: a shard of another run (plan hash {plan_hash}, seed {seed}, {users} users from "
                f"{base}; the others: plan hash {expected[0]}, seed {expected[1]}, {expected[2]} users from "
                f"{expected[3]}); remove it or seed shard {item.shard} of this plan again"
            )


def _check_split(shards: list[ShardFile]) -> None:
    """Each shard holds exactly its part of the fixed split: every plan index once, in order."""
    for item in shards:
        record = item.meta["shard"]
        users, base = record.get("users"), record.get("base", 0)
        if not isinstance(users, int) or users < 0 or not isinstance(base, int) or not 0 <= base <= users:
            raise MergeError(f"{item.path}: its meta.shard records no plan size; seed shard {item.shard} again")
        span = item.shard.indices(users, base)
        held = (record.get("start"), record.get("stop"))
        if held != (span.start, span.stop):
            raise MergeError(
                f"{item.path}: holds plan indices [{held[0]}, {held[1]}), shard {item.shard} of {users} users is "
                f"[{span.start}, {span.stop}): indices would be missing or there twice; seed it again"
            )
        if item.users != len(span):
            raise MergeError(
                f"{item.path}: holds {item.users} users, shard {item.shard} of {users} is {len(span)}; seed it again"
            )


def merge_shards(
    scenario: str, dumps_dir: str | Path, *, count: int | None = None, expect: dict[str, Any] | None = None
) -> Merged:
    """Check the shards of ``scenario`` and write their merged dump; returns what was written.

    ``expect`` (``plan_hash``, ``seed``) refuses shards of any other run, as ``--processes`` does.
    Raises ``MergeError`` (nothing written) or ``OSError`` (the dump could not be written).
    """
    shards = find_shards(scenario, dumps_dir, count)
    for key, value in (expect or {}).items():
        if shards[0].meta.get(key) != value:
            raise MergeError(f"{shards[0].path}: a shard of another run ({key} {shards[0].meta.get(key)}, not {value})")
    target = dump_path(scenario, dumps_dir)
    if target.is_dir():
        raise MergeError(f"{target}: is a directory; the merged dump cannot be written there")
    if not os.access(target.parent, os.W_OK):
        raise MergeError(f"{target.parent}: cannot write the merged dump there (permission denied)")
    remove_stale_temporaries(target)
    base = int(shards[0].meta["shard"].get("base", 0))
    old = _base_dump(target, shards[0], base) if base else None
    meta = _merged_meta(shards, old)
    with DumpWriter(target, meta) as writer:
        if old is not None:
            for index in range(base):
                writer.write(user_bytes(old[0], index))
        for user in _users(shards):
            writer.write(user)
        kept = keep_previous(target) if old is None else None  # never lose a dump silently
    return Merged(target, writer.count, shards, meta, kept)


def _base_dump(target: Path, first: ShardFile, base: int) -> tuple[Sequence[SeedUserResult], dict[str, Any]]:
    """The dump the shards grow: still the one they were seeded after (its shape, seed, size, fingerprint)."""
    try:
        old = open_dump(target)
        meta = read_meta(target) or {}
    except DumpError as exc:
        raise MergeError(f"the shards grow {target} from {base} users, but it cannot be read: {exc}") from None
    fingerprint = old.users.fingerprint() if isinstance(old.users, LazyUsers) else None
    same = (meta.get("shape_hash"), meta.get("seed")) == (first.meta.get("shape_hash"), first.meta.get("seed"))
    if not same or len(old.users) != base or fingerprint != first.meta.get("base_fingerprint"):
        raise MergeError(
            f"{target}: the shards grow it from {base} users of shape {first.meta.get('shape_hash')} and seed "
            f"{first.meta.get('seed')}, but it holds {len(old.users)} users of shape {meta.get('shape_hash')} and seed "
            f"{meta.get('seed')}: it changed since; put it back, or seed the shards again"
        )
    return old.users, meta


def _users(shards: list[ShardFile]) -> Iterator[bytes]:
    """Every user of every shard in plan order, one at a time, each checked to parse."""
    for item in shards:
        users = open_dump(item.path).users  # one shard open at a time
        start = item.meta["shard"]["start"]
        for position in range(len(users)):
            try:
                raw = user_bytes(users, position)
                if not isinstance(orjson.loads(raw), dict):
                    raise orjson.JSONDecodeError("not an object", "", 0)
            except (DumpError, orjson.JSONDecodeError):
                raise MergeError(
                    f"{item.path}: user #{position} (plan index {start + position}) is corrupt; "
                    f"seed shard {item.shard} again"
                ) from None
            yield raw
        del users


def _merged_meta(
    shards: list[ShardFile], old: tuple[Sequence[SeedUserResult], dict[str, Any]] | None = None
) -> dict[str, Any]:
    first = shards[0].meta
    counts: Counter[str] = Counter()
    profiles: Counter[str] = Counter()
    old_meta: dict[str, Any] = old[1] if old is not None else {}
    counts.update({k: v for k, v in (old_meta.get("counts") or {}).items() if isinstance(v, int)})
    profiles.update({k: v for k, v in (old_meta.get("profiles") or {}).items() if isinstance(v, int)})
    for item in shards:
        counts.update({k: v for k, v in (item.meta.get("counts") or {}).items() if isinstance(v, int)})
        profiles.update({k: v for k, v in (item.meta.get("profiles") or {}).items() if isinstance(v, int)})
    targets = list(dict.fromkeys(str(item.meta.get("target")) for item in shards))
    started = [str(item.meta["started_at"]) for item in shards if item.meta.get("started_at")]
    kept = ("scenario", "plan_hash", "shape_hash", "plan", "transport", "seed", "seeding_version")
    meta = {key: first[key] for key in kept if key in first}
    meta.update(
        {
            "target": targets[0] if len(targets) == 1 else targets,  # shards may seed through several gateway nodes
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "started_at": min(started) if started else None,
            "resumed_users": sum(_count(item, "resumed_users") for item in shards),
            "counts": dict(counts),
            **({"profiles": dict(profiles)} if profiles else {}),
            "duration_s": max(_count(item, "duration_s", float) for item in shards),
            "calls": sum(_count(item, "calls") for item in shards),
            "retries": sum(_count(item, "retries") for item in shards),
            "merged_from": {"shards": len(shards), "files": [item.path.name for item in shards]},
            "seeded_users": sum(item.users for item in shards),
        }
    )
    if old is not None:
        meta["grown_from"] = len(old[0])
    return meta


def _count(item: Any, key: str, kind: type[int] | type[float] = int) -> Any:
    """A shard's ``meta.<key>`` (a figure of its run): absent is 0; anything but a number is refused naming the file."""
    value = item.meta.get(key)
    if value is None:
        return kind(0)
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
        raise DumpError(
            f"{item.path}: meta.{key} is {str(value)[:40]!r}, not a {'whole ' if kind is int else ''}number"
        )
    if not math.isfinite(value) or value < 0:
        raise DumpError(f"{item.path}: meta.{key} is {value!r}, not a number 0 or more")
    return kind(value)
