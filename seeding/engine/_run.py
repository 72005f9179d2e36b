"""One run of one plan: journal → builder → dump.

``PlanRun.execute()`` opens the journal (refusing to clobber an unfinished run), builds the plan
indices the journal does not hold yet, and, only when every user is there, writes the dump in plan
order with its ``meta`` block and removes the journal. When it stops early (a failure, Ctrl-C,
SIGTERM) ``missing`` says which plan indices are absent and the journal stays for ``--resume``.
With a ``shard`` it seeds that shard's plan indices only, into the shard's own dump and journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import SeedingError
from .._version import seeding_version
from ..dumps._files import (
    DEFAULT_DUMPS_DIR,
    DumpWriter,
    LazyUsers,
    dump_path,
    open_dump,
    read_meta,
    remove_stale_temporaries,
    user_bytes,
)
from ..dumps._index import dump_fingerprint
from ..dumps._previous import keep_previous
from ..gateway import GatewayClient, Transport, connect
from ..plan._models import DEFAULT_SCENARIO, SeedsPlan, load_plan
from ..plan._shapes import Shapes
from ._builder import Builder, BuildOptions
from ._fit import DumpFit, fit_dump
from ._journal import Journal, journal_path, peek_header, refuse_other_splits
from ._partial import UserCheck
from ._plan_lock import PlanLock
from ._shards import Shard, default_seed

if TYPE_CHECKING:
    from ..dumps._result import SeedsResult

__all__ = ["DEFAULT_SCENARIO", "PlanRun", "build_seeds"]


_REPLACES = 16  # fingerprints a repaired dump remembers replacing


class PlanRun:
    """Seeds one plan through one client into ``dumps/<scenario>_seeds.json``.

    ``open()`` takes the journal (and its lock) without sending anything, so a command with several
    plans can check them all before its first call; ``execute()`` opens it if that was not done.
    """

    def __init__(
        self,
        plan: SeedsPlan,
        client: GatewayClient,
        *,
        dumps_dir: str | Path = DEFAULT_DUMPS_DIR,
        options: BuildOptions | None = None,
        seed: int | None = None,
        resume: bool = False,
        restart: bool = False,
        target: str | None = None,
        shard: Shard | None = None,
        reseed: bool = False,
        adopt_count: bool = False,
        repair: Sequence[int] | None = None,
    ) -> None:
        self.plan = plan
        self.client = client
        self.scenario = plan.name
        self.shard = shard
        self.whole_path = dump_path(self.scenario, dumps_dir)
        self.dump_path = shard.dump_path(self.whole_path) if shard else self.whole_path
        self.journal_path = journal_path(self.dump_path)
        self.options = options or BuildOptions()
        self.asked_seed = seed  # None: the dump's when it fits, else chosen in ``open``
        self.seed = seed if seed is not None else 0
        self.resume = resume
        self.restart = restart
        self.reseed = reseed
        self.adopt_count = adopt_count  # --resume without --users: the journal's count is the plan's
        self.repair = sorted(set(repair)) if repair is not None else None
        self.target = target or client.target  # what the dump's meta records as the target
        self.builder: Builder | None = None  # set once the journal is open: progress reads its stats
        self.resumed_users = 0
        self.journal: Journal | None = None
        self.lock: PlanLock | None = None  # held from ``open`` until the dump is written or the run stops
        self.fit: DumpFit | None = None
        self.kept: Path | None = None  # where the replaced dump went (``.previous``)
        self.indices: Sequence[int] = self._indices(0)
        self._drawn_key: tuple[Any, ...] | None = None
        self._drawn_totals: dict[str, int] = {}

    def _indices(self, base: int) -> Sequence[int]:
        """The plan indices this run seeds: the stale ones (repair), its shard's, or all past ``base``."""
        if self.repair is not None:
            return self.repair
        count = self.plan.users.count
        return self.shard.indices(count, base) if self.shard else range(base, count)

    @property
    def reused_users(self) -> int:
        """Users of the existing dump that the new dump keeps as they are (grow, repair, reuse)."""
        fit = self.fit
        if fit is None or self.shard is not None:
            return 0
        if self.repair is not None:
            return fit.users - len(self.repair)
        return fit.users if fit.action in ("grow", "reuse") else 0

    def open(self) -> Journal | None:
        """Decide what the dump on disk is to the plan, then open and lock the journal (None: the dump is reused).

        Raises ``JournalError`` or ``FitError`` (nothing sent) when the journal or the dump is not ours to take.
        """
        if self.journal is not None or (self.fit is not None and self.fit.action == "reuse"):
            return self.journal
        # The plan is ours from before we look at its dump until the dump is written: a run started a
        # moment later is refused instead of deciding from a dump about to change, or writing it too.
        self.lock = self.lock or PlanLock.take(self.whole_path, shared=self.shard is not None)
        try:
            return self._open()
        except BaseException:
            self._release()
            raise

    def _open(self) -> Journal | None:
        if self.resume and self.adopt_count and self.repair is None:
            self._adopt_count()
        fit = self.fit = self._fit()
        if fit.seed is not None:
            self.seed = fit.seed
        elif self.shard is not None:  # the shards of one plan must agree on it without talking to each other
            self.seed = default_seed(self.plan.hash)
        else:
            self.seed = secrets.randbelow(2**31)
        self.indices = self._indices(fit.base)
        if fit.action == "reuse" and self.repair is None:
            self.indices = range(0)
            self._release()  # nothing to write
            return None
        header: dict[str, Any] = {
            "scenario": self.scenario,
            "plan_hash": self.plan.hash,
            "shape_hash": self.plan.shape_hash,
            "transport": self.client.transport,
            "target": self.target,
            "seed": self.seed,
            "users": self.plan.users.count,
            "started_at": _now(),
        }
        if fit.base or self.repair is not None:
            header["base"] = fit.users
            header["base_fingerprint"] = fit.fingerprint
        if self.repair is not None:
            header["repair"] = self.repair
        if self.shard is not None:
            header["shard"] = str(self.shard)
        if self.asked_seed is not None:
            header["seed_given"] = True  # --resume compares seeds only when this run asked for one
        assert self.lock is not None
        with self.lock.checking():  # the check and our journal's creation, as one step
            refuse_other_splits(
                self.whole_path,
                self.shard.count if self.shard else 1,
                restart=self.restart,
                finish=f"python -m seeding {self.plan.name}{{split}} --resume",
            )
            self.journal = Journal.start(
                self.journal_path, header, resume=self.resume, restart=self.restart, check=self._user_check
            )
        old_seed = self.journal.header.get("seed", self.seed)
        for path in (self.dump_path, self.journal_path):  # ours to tidy now that we hold the lock
            remove_stale_temporaries(path)
        self.seed = old_seed  # a resumed run keeps the names it began with
        self.resumed_users = self.journal.done_count
        return self.journal

    def _user_check(self, header: dict[str, Any]) -> UserCheck:
        """How a resumed journal's user lines are held against the plan (under the seed it began with)."""
        seed = header.get("seed")
        return UserCheck(self.plan, seed if isinstance(seed, int) else self.seed)

    def _fit(self) -> DumpFit:
        whole = self.whole_path
        if self.repair is not None:  # the dump repaired in place: it is the base, whatever else it is
            meta = read_meta(whole) or {}
            fingerprint = dump_fingerprint(whole)
            return DumpFit("grow", whole, users=self.plan.users.count, seed=meta.get("seed"), fingerprint=fingerprint)
        return fit_dump(
            whole,
            self.plan,
            seed=self.asked_seed,
            transport=self.client.transport,
            target=self.target,
            reseed=self.reseed,
        )

    def _adopt_count(self) -> None:
        """``--resume`` alone finishes the run its journal began: the plan takes the journal's user count."""
        header = peek_header(self.journal_path)
        users = header.get("users") if header else None
        if (
            header is not None
            and isinstance(users, int)
            and users != self.plan.users.count
            and header.get("shape_hash") == self.plan.shape_hash
        ):
            self.plan = self.plan.with_users(users)
            self.indices = self._indices(0)

    @property
    def warnings(self) -> list[str]:
        """What the journal had to skip: damaged lines, whose users are seeded again."""
        damaged = self.journal.damaged_lines if self.journal else []
        warnings = [
            f"{self.journal_path}:{line}: {what}; the run completes it at its own index (the same user)"
            for line, what in (self.journal.incomplete_lines[:10] if self.journal else [])
        ]
        if not damaged:
            return warnings
        lines = ", ".join(map(str, damaged[:10])) + (", …" if len(damaged) > 10 else "")
        return [
            *warnings,
            f"{self.journal_path}: skipped {len(damaged)} damaged line(s) ({lines}); "
            "their users are completed from the parts journaled as they were made, or else seeded again "
            "(then the originals stay on the gateway, unused)",
        ]

    @property
    def count(self) -> int:
        """How many users this run seeds: the plan's, its shard's, the ones a grown dump lacks, or the stale ones."""
        return len(self.indices)

    def totals(self) -> dict[str, int]:
        """Users, accounts, cards and operations this run creates (its shard's share, what a grown dump lacks)."""
        return self._totals_of(self.indices)

    def _totals_of(self, indices: Sequence[int]) -> dict[str, int]:
        """The totals of ``indices``; when counts are drawn, each user's are drawn again (~20 µs a user)."""
        if not self.plan.users.drawn:
            return self.plan.totals(len(indices))
        key = (self.seed, indices if isinstance(indices, range) else tuple(indices))
        if self._drawn_key != key:
            shapes = Shapes(self.plan, self.seed)
            totals = {"users": len(indices), "accounts": 0, "cards": 0, "operations": 0}
            for index in indices:
                for kind, number in shapes[index].counts().items():
                    totals[kind] += number
            self._drawn_key, self._drawn_totals = key, totals
        return dict(self._drawn_totals)

    def dump_span(self) -> Sequence[int]:
        """The plan indices its dump holds when it is written: its shard's, or all (a reused dump's too)."""
        if self.shard is not None:
            return self.indices
        if self.fit is not None and self.fit.action == "reuse" and self.repair is None:
            return range(self.fit.users)
        return range(self.plan.users.count)

    def dump_totals(self) -> dict[str, int]:
        """Users, accounts, cards and operations its dump holds when it is written."""
        return self._totals_of(self.dump_span())

    @property
    def missing_count(self) -> int:
        """How many of this run's users are not safe in the journal yet."""
        return self.count - (self.journal.done_count if self.journal else 0)

    def missing_ranges(self) -> Iterator[tuple[int, int]]:
        """``(first, last)`` runs of this run's plan indices not safe in the journal yet."""
        if self.journal is None:
            return _ranges(self.indices)
        if isinstance(self.indices, range):
            return self.journal.missing_ranges(self.indices)
        return _ranges([index for index in self.indices if index not in self.journal])

    @property
    def missing(self) -> list[int]:
        """The plan indices not safe in the journal yet (a list: mind huge plans)."""
        return [index for first, last in self.missing_ranges() for index in range(first, last + 1)]

    async def execute(self) -> Path:
        """Build what is missing and write the dump; returns its path.

        Raises ``JournalError`` before sending anything when an unfinished run is in the way,
        ``BuildError`` when a user fails for good, ``SeedingError`` when the journal or the dump
        cannot be written; ``missing_ranges()`` is accurate after any exit.
        """
        journal = self.open()
        if journal is None:  # reused as it is: no call
            return self.dump_path
        try:
            return await self._execute(journal)
        finally:
            self._release()

    async def _execute(self, journal: Journal) -> Path:
        count = self.count
        self.builder = Builder(self.plan, self.client, replace(self.options, seed=self.seed))
        todo = (index for index in self.indices if index not in journal)
        started = time.monotonic()
        try:
            await self.builder.run(
                todo, journal.append, count=self.missing_count, partial=journal.partial, on_part=journal.note
            )
        except OSError as exc:  # the journal could not be written: stop, keep what it holds
            self.close()
            raise SeedingError(_os_error(exc)) from None
        except BaseException:
            self.close()
            raise
        try:
            await self._write_dump(journal, time.monotonic() - started)
        except OSError as exc:
            journal.close()
            raise SeedingError(
                f"{self.dump_path}: cannot write the dump: {_os_error(exc)}; all {count} users are safe in "
                f"{self.journal_path}: make room, then finish with --resume"
            ) from None
        except BaseException:
            journal.close()
            raise
        journal.remove()
        return self.dump_path

    async def _write_dump(self, journal: Journal, duration: float) -> None:
        """Write the dump on a worker thread, so a signal still stops a run while a big dump is written.

        Cancelled, the writer stops at the next user and removes its temporary file before this returns.
        """
        stop = threading.Event()
        users = self._users(journal)

        def checked() -> Iterator[bytes]:
            for user in users:
                if stop.is_set():
                    raise _Stopped
                yield user

        meta = self._meta(journal.header, duration)
        keep = self.fit is not None and self.fit.action == "replace" and self.shard is None
        writing = asyncio.get_running_loop().run_in_executor(None, self._write, meta, checked(), keep)
        try:
            await asyncio.shield(writing)
        except asyncio.CancelledError:
            stop.set()
            with contextlib.suppress(_Stopped, OSError):
                await writing
            raise

    def _users(self, journal: Journal) -> Iterator[bytes]:
        """The new dump's users in plan order: the journal's, and the old dump's where it is grown or repaired."""
        base = int(journal.header.get("base") or 0)
        if self.shard is not None or not base:
            return journal.users_in_order(self.indices)
        old = open_dump(self.whole_path).users
        fingerprint = old.fingerprint() if isinstance(old, LazyUsers) else None
        if fingerprint != journal.header.get("base_fingerprint") or len(old) != base:
            raise SeedingError(
                f"{self.whole_path}: changed since this run began growing it from {base} users; its new users are "
                f"safe in {self.journal_path}: put the dump back, or pass --restart to discard them"
            )
        seeded = self.indices if isinstance(self.indices, range) else frozenset(self.indices)

        def merged() -> Iterator[bytes]:
            for index in range(self.plan.users.count):
                yield journal.user(index) if index in seeded else user_bytes(old, index)

        return merged()

    def _write(self, meta: dict[str, Any], users: Iterator[bytes], keep: bool) -> None:
        """Write the dump; a dump it replaces (another shape) is moved to ``.previous`` just before."""
        with DumpWriter(self.dump_path, meta) as writer:
            for user in users:
                writer.write(user)
            if keep:
                self.kept = keep_previous(self.dump_path)

    def close(self) -> None:
        """Release the journal (it stays on disk for ``--resume`` if it holds anything, else it goes), then the plan."""
        if self.journal is not None:
            if not self.journal.has_users and not self.journal.damaged_lines:
                self.journal.remove()
            else:
                self.journal.close()
        self._release()

    def _release(self) -> None:
        """Give the plan's lock back (after the journal: nobody may take a journal we still write)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _meta(self, header: dict[str, Any], duration: float) -> dict[str, Any]:
        stats = self.builder.stats if self.builder else None
        base = int(header.get("base") or 0)
        shard: dict[str, object] = {"shard": self.shard.meta(self.plan.users.count, base)} if self.shard else {}
        grown: dict[str, object]
        if self.repair is not None:
            before = (read_meta(self.whole_path) or {}).get("repaired") or {}
            older = before.get("replaces") if isinstance(before, dict) else None
            replaces = [header.get("base_fingerprint"), *(older if isinstance(older, list) else [])][:_REPLACES]
            # the fingerprints this dump replaces in place: hand-outs given from them stay valid (service/_handouts)
            grown = {"repaired": {"users": len(self.repair), "at": _now(), "replaces": replaces}}
        else:
            grown = {"grown_from": base} if base else {}
        if base and self.shard is not None:
            shard["base_fingerprint"] = header.get("base_fingerprint")
        return {
            "scenario": self.scenario,
            "plan_hash": self.plan.hash,
            "shape_hash": self.plan.shape_hash,
            "plan": self.plan.model_dump(mode="json", exclude_defaults=True),
            "transport": self.client.transport,
            "target": self.target,
            "seed": self.seed,
            "created_at": _now(),
            "started_at": header.get("started_at"),
            "resumed_users": self.resumed_users,
            "counts": self.dump_totals(),
            **self._profiles(),
            "seeded_users": self.count,
            **grown,
            **shard,
            "duration_s": round(duration, 3),
            "calls": stats.calls if stats else 0,
            "retries": stats.retries if stats else 0,
            "seeding_version": seeding_version(),
        }

    def _profiles(self) -> dict[str, Any]:
        """``{"profiles": {name: users}}`` for the users this run seeded, when the plan has profiles."""
        if self.plan.users.profiles is None:
            return {}
        span = self.dump_span()
        counts = Shapes(self.plan, self.seed).profile_counts(span[-1] + 1 if span else 0, span[0] if span else 0)
        return {"profiles": counts}


class _Stopped(Exception):
    """The dump writer was told to stop (the run was cancelled)."""


def _ranges(indices: Sequence[int]) -> Iterator[tuple[int, int]]:
    """``(first, last)`` runs of sorted indices."""
    if isinstance(indices, range):
        return iter([(indices.start, indices.stop - 1)] if len(indices) else [])
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return iter(runs)


def _os_error(exc: OSError) -> str:
    """``OSError`` as one line: our journal errors already name the file."""
    if exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return exc.strerror or str(exc)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def build_seeds(
    plan: SeedsPlan | str | Path,
    *,
    transport: Transport | None = None,
    target: str | None = None,
    dumps_dir: str | Path | None = None,
    options: BuildOptions | None = None,
    seed: int | None = None,
    resume: bool = False,
    restart: bool = False,
) -> SeedsResult:
    """Seed ``plan`` (a ``SeedsPlan`` or a plan file) and return the dump, opened lazily.

    Transport and target default to the settings (``GATEWAY_GRPC_CLIENT.*`` / ``GATEWAY_HTTP_CLIENT.URL``,
    then localhost:9003 / http://localhost:8003). Raises ``GatewayUnreachableError`` when nothing
    answers there, ``BuildError`` when a user fails for good (the journal keeps the rest).
    """
    from .._settings import load_settings

    if not isinstance(plan, SeedsPlan):
        plan = load_plan(plan)
    settings = load_settings()
    transport = transport or settings.seeding.transport
    target = target or settings.target(transport)
    options = options or BuildOptions(concurrency=settings.seeding.concurrency, retries=settings.seeding.retries)
    async with connect(transport, target, timeout=options.timeout) as client:
        await client.preflight(options.timeout)
        run = PlanRun(
            plan,
            client,
            dumps_dir=dumps_dir if dumps_dir is not None else settings.seeding.dumps_dir,
            options=options,
            seed=seed,
            resume=resume,
            restart=restart,
        )
        return open_dump(await run.execute())
