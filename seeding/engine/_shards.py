"""Shards: one plan's users split into ``N`` fixed, contiguous ranges that processes or machines seed apart.

Shard ``I/N`` is 1-based, as in ``--shard 2/4`` (the way test runners count shards), and holds the
plan indices ``[floor((I-1)·count/N), floor(I·count/N))``: shard 1 starts at user 0, shard ``N``
ends with the last user, and sizes differ by one at most. The split depends on the plan's user
count and ``N`` only, so every machine computes the same one without talking to the others.

A shard writes ``dumps/<scenario>_seeds.shard-I-of-N.json`` (journal beside it) and
``python -m seeding merge`` joins the ``N`` files in plan order. Names, phones and amounts of user
``i`` come from ``(seed, i)``, so they are the same whichever shard seeds it; without ``--seed`` a
shard takes ``default_seed(plan_hash)``, which every shard of the plan computes alike.

Where a shard comes from, first wins: ``--shard I/N``; the ``SEEDING_SHARD`` setting (``I/N``);
Kubernetes' ``JOB_COMPLETION_INDEX`` (0-based: index ``k`` is shard ``k+1``) with the count from
``--shards N`` or the ``SEEDING_SHARDS`` setting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "JOB_INDEX_VARIABLE",
    "MAX_PROCESSES",
    "MAX_SHARDS",
    "Shard",
    "default_seed",
    "parse_shard",
    "resolve_shard",
    "shard_of_meta",
]

MAX_SHARDS = 10_000  # more than this is a typo: each shard is a process, a journal and a file
MAX_PROCESSES = 256  # ``--processes``: on one machine, more than this is a typo (they would share its cores)
JOB_INDEX_VARIABLE = "JOB_COMPLETION_INDEX"  # set by Kubernetes in each pod of an Indexed Job
_SHARD_RE = re.compile(r"^\s*(\d{1,9})\s*/\s*(\d{1,9})\s*$")
_FILE_RE = re.compile(r"\.shard-(\d{1,9})-of-(\d{1,9})\.json$")


@dataclass(frozen=True, order=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS:
            raise ValueError(f"the shard count must be within 1-{MAX_SHARDS}, got {self.count}")
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count}: the index must be within 1-{self.count} (1-based)")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def indices(self, users: int, base: int = 0) -> range:
        """The plan indices this shard seeds out of ``users``, of which the first ``base`` are there already.

        Growing a dump of ``base`` users splits only the new indices ``[base, users)``.
        """
        new = users - base
        return range(base + (self.index - 1) * new // self.count, base + self.index * new // self.count)

    def dump_path(self, dump: Path) -> Path:
        """``x_seeds.json`` → ``x_seeds.shard-I-of-N.json`` (its journal: ``….shard-I-of-N.journal``)."""
        return dump.with_name(f"{dump.stem}.shard-{self.index}-of-{self.count}{dump.suffix}")

    def meta(self, users: int, base: int = 0) -> dict[str, int]:
        """A shard dump's ``meta.shard``: which shard of ``users`` grown from ``base``, holding ``[start, stop)``."""
        span = self.indices(users, base)
        record = {"index": self.index, "count": self.count, "users": users, "start": span.start, "stop": span.stop}
        if base:
            record["base"] = base
        return record

    @classmethod
    def of_file(cls, path: Path) -> Shard | None:
        """The shard a file's name says it holds (``….shard-2-of-4.json``), or None."""
        match = _FILE_RE.search(path.name)
        if match is None:
            return None
        try:
            return cls(int(match[1]), int(match[2]))
        except ValueError:
            return None


def parse_shard(text: str) -> Shard:
    """``"2/4"`` → ``Shard(2, 4)``; ``ValueError`` with a one-line reason otherwise."""
    match = _SHARD_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not I/N (shard I of N, 1-based: 1/4 … 4/4)")
    return Shard(int(match[1]), int(match[2]))


def shard_of_meta(meta: Mapping[str, Any] | None) -> Shard | None:
    """The shard a dump's meta says it holds, or None (an unsharded dump, or a malformed record)."""
    record = (meta or {}).get("shard")
    if not isinstance(record, dict):
        return None
    try:
        return Shard(int(record["index"]), int(record["count"]))
    except (KeyError, TypeError, ValueError):
        return None


def default_seed(plan_hash: str) -> int:
    """The seed of a sharded run without ``--seed``: from the plan's hash, so every shard agrees on it."""
    return int(plan_hash[:8], 16) % 2**31


def resolve_shard(
    flag: Shard | None,
    shards: int | None,
    setting: str | None,
    environ: Mapping[str, str] | None = None,
) -> Shard | None:
    """The shard to seed: the flag, else the ``SEEDING_SHARD`` setting, else ``JOB_COMPLETION_INDEX`` + count.

    ``shards`` is the count from ``--shards`` or ``SEEDING_SHARDS``. A malformed value raises
    ``ValueError`` naming where it came from. ``JOB_COMPLETION_INDEX`` without a count is ignored:
    the Job may not be a sharded seeding run at all.
    """
    if flag is not None:
        return flag
    if setting:
        try:
            return parse_shard(setting)
        except ValueError as exc:
            raise ValueError(f"SEEDING_SHARD: {exc}") from None
    environ = os.environ if environ is None else environ
    job_index = environ.get(JOB_INDEX_VARIABLE)
    if shards is None or job_index is None:
        return None
    text = job_index.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:  # '²'.isdigit() is true; int('²') fails
        raise ValueError(f"{JOB_INDEX_VARIABLE}: {job_index[:30]!r} is not a whole number 0 or more")
    index = int(job_index)
    if index >= shards:
        raise ValueError(
            f"{JOB_INDEX_VARIABLE}={index} is out of range for {shards} shards (0-based: 0-{shards - 1}); "
            "is the Job's completions equal to SEEDING_SHARDS?"
        )
    return Shard(index + 1, shards)
