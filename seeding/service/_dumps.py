"""The dumps the service reads: ``<dumps-dir>/<scenario>_seeds.json``, opened lazily, reopened when replaced.

A request names a scenario, never a file: the name is checked against the plan's scenario rule
(letters, digits, ``.``, ``_``, ``-``, no path separator) and the file it maps to must resolve
inside the dumps directory, so no request reaches a file elsewhere, symbolic link or not.

Each open dump carries a fingerprint (a digest of its size, head and tail: the head holds the
meta block with its ``created_at``), which keys the hand-out sequence: a new dump for the
scenario starts a new one.
"""

from __future__ import annotations

import asyncio
import functools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._exceptions import DumpError
from ..dumps._files import LazyUsers, dump_path, open_dump
from ..dumps._index import replaced_fingerprints
from ..dumps._result import index_profiles, members_of
from ..plan._models import SCENARIO_NAME
from ._errors import ApiError
from ._pool import PoolKey

__all__ = ["Dump", "Dumps", "check_scenario"]

_SUFFIX = "_seeds.json"


def check_scenario(name: str, what: str = "scenario") -> str:
    """``name`` when it is a plain scenario name; a 400 naming it otherwise."""
    if len(name) > 200 or not SCENARIO_NAME.fullmatch(name):
        raise ApiError(400, f"{what} {name[:80]!r} is not a scenario name (letters, digits, '.', '_', '-')")
    return name


def inside(directory: Path, path: Path) -> bool:
    """Whether ``path`` (symbolic links followed) lies within ``directory``."""
    try:
        return path.resolve().is_relative_to(directory.resolve())
    except OSError:
        return False


@dataclass
class Dump:
    """One open dump file: its users read on demand, its identity, its meta."""

    scenario: str
    path: Path
    stat_key: tuple[int, int, int]
    fingerprint: str
    users: LazyUsers
    meta: dict[str, Any]
    _profiles: dict[str, list[int]] | None = field(default=None, repr=False)
    _indexing: asyncio.Future[dict[str, list[int]]] | None = field(default=None, repr=False)

    @functools.cached_property
    def replaces(self) -> tuple[str, ...]:
        """The fingerprints this dump replaced in place (a repair): what was keyed by them carries over."""
        return replaced_fingerprints(self.meta)

    @functools.cached_property
    def pool_key(self) -> PoolKey:
        """Its pool's key, made once per opened dump (every lease and return asks for it)."""
        return PoolKey(self.scenario, self.fingerprint, self.count, self.replaces)

    @property
    def count(self) -> int:
        return len(self.users)

    async def members(self, profile: str) -> list[int]:
        """The indices of ``profile``'s users; a 404 naming the dump's profiles otherwise.

        The first request reads every line once (about 2 s a million users): in a thread, so the
        service keeps answering meanwhile, and requests arriving during it wait for that one scan.
        """
        if self._profiles is None:
            if self._indexing is None:
                self._indexing = asyncio.ensure_future(asyncio.to_thread(index_profiles, self.users))
            try:  # shielded: a client going away does not cancel the scan the others wait for
                self._profiles = await asyncio.shield(self._indexing)
            except DumpError as exc:
                raise ApiError(409, str(exc)) from None
        try:
            return members_of(self._profiles, profile[:80], f"scenario {self.scenario!r}")
        except ValueError as exc:
            raise ApiError(404, str(exc)) from None

    def raw(self, index: int) -> bytes:
        """User ``index``'s JSON as written in the file."""
        return self.users.raw(index)

    def summary(self) -> dict[str, Any]:
        """What ``GET /v1/dumps`` lists for it."""
        meta = self.meta
        created = meta.get("created_at")
        return {
            "scenario": self.scenario,
            "users": self.count,
            "created_at": created,
            "plan_hash": meta.get("plan_hash"),
            "shape_hash": meta.get("shape_hash"),
            "transport": meta.get("transport"),
            "target": meta.get("target"),
            "age_s": _age(created, self.path),
            "fingerprint": self.fingerprint,
        }


class Dumps:
    """The dumps directory: ``get(scenario)`` returns the dump as it is on disk now."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._open: dict[str, Dump] = {}
        self._paths: dict[str, Path] = {}  # checked names: the hot path skips the regex and pathlib

    def path(self, scenario: str) -> Path:
        path = self._paths.get(scenario)
        if path is None:
            path = dump_path(check_scenario(scenario), self.directory)
            if len(self._paths) < 10_000:
                self._paths[scenario] = path
        return path

    def get(self, scenario: str) -> Dump:
        """The open dump of ``scenario``: 404 when there is none, 409 when it is damaged."""
        path = self.path(scenario)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            self._open.pop(scenario, None)
            raise ApiError(404, f"no dump for scenario {scenario!r} in {self.directory}") from None
        except OSError as exc:
            raise ApiError(409, f"{path}: cannot read the dump: {exc.strerror}") from None
        key = (info.st_ino, info.st_size, info.st_mtime_ns)
        dump = self._open.get(scenario)
        if dump is not None and dump.stat_key == key:
            return dump
        if not inside(self.directory, path):
            raise ApiError(403, f"{path}: leads outside {self.directory}; not served")
        try:
            result = open_dump(path)
        except DumpError as exc:
            raise ApiError(409, str(exc)) from None
        users = result.users
        if not isinstance(users, LazyUsers):  # a layout we cannot index (pretty-printed): not served
            raise ApiError(409, f"{path}: not a dump laid out as seeding writes it; seed it again")
        dump = Dump(scenario, path, key, users.fingerprint(), users, users.meta or {})
        self._open[scenario] = dump
        return dump

    def scenarios(self) -> list[str]:
        """Scenarios with a dump file, sorted."""
        try:
            names = [p.name for p in self.directory.iterdir() if p.name.endswith(_SUFFIX)]
        except OSError:
            return []
        found = (name.removesuffix(_SUFFIX) for name in names)
        return sorted(name for name in found if SCENARIO_NAME.fullmatch(name))


def _age(created: object, path: Path) -> float | None:
    try:
        when = datetime.fromisoformat(created).timestamp() if isinstance(created, str) else path.stat().st_mtime
    except (ValueError, OSError):
        return None
    return round(datetime.now(UTC).timestamp() - when, 1)
