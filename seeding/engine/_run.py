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
import functools
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import SeedingError
from .._version import seeding_version
from ..dumps._files import DEFAULT_DUMPS_DIR, dump_path, open_dump, remove_stale_temporaries, write_dump
from ..gateway import GatewayClient, Transport, connect
from ..plan._models import DEFAULT_SCENARIO, SeedsPlan, load_plan
from ..plan._shapes import Shapes
from ._builder import Builder, BuildOptions
from ._journal import Journal, journal_path
from ._shards import Shard, default_seed

if TYPE_CHECKING:
    from ..dumps._result import SeedsResult

__all__ = ["DEFAULT_SCENARIO", "PlanRun", "build_seeds", "format_indices", "format_ranges"]


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
    ) -> None:
        self.plan = plan
        self.client = client
        self.scenario = plan.name
        self.shard = shard
        # The plan indices this run seeds: all of them, or its shard's.
        self.indices = shard.indices(plan.users.count) if shard else range(plan.users.count)
        whole = dump_path(self.scenario, dumps_dir)
        self.dump_path = shard.dump_path(whole) if shard else whole
        self.journal_path = journal_path(self.dump_path)
        self.options = options or BuildOptions()
        if seed is None:  # the shards of one plan must agree on it without talking to each other
            seed = default_seed(plan.hash) if shard else secrets.randbelow(2**31)
        self.seed = seed
        self.resume = resume
        self.restart = restart
        self.target = target or client.target  # what the dump's meta records as the target
        self.builder: Builder | None = None  # set once the journal is open: progress reads its stats
        self.resumed_users = 0
        self.journal: Journal | None = None

    def open(self) -> Journal:
        """Open and lock the journal; raises ``JournalError`` (nothing sent) when it is not ours to take."""
        if self.journal is None:
            header = {
                "scenario": self.scenario,
                "plan_hash": self.plan.hash,
                "transport": self.client.transport,
                "target": self.target,
                "seed": self.seed,
                "users": self.plan.users.count,
                "started_at": _now(),
            }
            if self.shard is not None:
                header["shard"] = str(self.shard)
            self.journal = Journal.start(self.journal_path, header, resume=self.resume, restart=self.restart)
            for path in (self.dump_path, self.journal_path):  # ours to tidy now that we hold the lock
                remove_stale_temporaries(path)
            self.seed = self.journal.header.get("seed", self.seed)  # a resumed run keeps the names it began with
            self.resumed_users = self.journal.done_count
        return self.journal

    @property
    def warnings(self) -> list[str]:
        """What the journal had to skip: damaged lines, whose users are seeded again."""
        damaged = self.journal.damaged_lines if self.journal else []
        if not damaged:
            return []
        lines = ", ".join(map(str, damaged[:10])) + (", …" if len(damaged) > 10 else "")
        return [
            f"{self.journal_path}: skipped {len(damaged)} damaged line(s) ({lines}); "
            "their users are seeded again (the originals stay on the gateway, unused)"
        ]

    @property
    def count(self) -> int:
        """How many users this run seeds: the plan's, or its shard's."""
        return len(self.indices)

    def totals(self) -> dict[str, int]:
        """Users, accounts, cards and operations this run creates (its shard's share of the plan).

        When counts are drawn, each user's are drawn again here (~20 µs a user) for the exact sums.
        """
        if not self.plan.users.drawn:
            return self.plan.totals(self.count)
        return dict(self._drawn_totals)

    @functools.cached_property
    def _drawn_totals(self) -> dict[str, int]:
        shapes = Shapes(self.plan, self.seed)
        totals = {"users": self.count, "accounts": 0, "cards": 0, "operations": 0}
        for index in self.indices:
            for kind, number in shapes[index].counts().items():
                totals[kind] += number
        return totals

    @property
    def missing_count(self) -> int:
        """How many of this run's users are not safe in the journal yet."""
        return self.count - (self.journal.done_count if self.journal else 0)

    def missing_ranges(self) -> Iterator[tuple[int, int]]:
        """``(first, last)`` runs of this run's plan indices not safe in the journal yet."""
        if self.journal is None:
            return iter([(self.indices.start, self.indices.stop - 1)] if self.count else [])
        return self.journal.missing_ranges(self.indices)

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
        count = self.count
        self.builder = Builder(self.plan, self.client, replace(self.options, seed=self.seed))
        todo = (index for index in self.indices if index not in journal)
        started = time.monotonic()
        try:
            await self.builder.run(todo, journal.append, count=self.missing_count)
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

        def users() -> Iterator[bytes]:
            for user in journal.users_in_order(self.indices):
                if stop.is_set():
                    raise _Stopped
                yield user

        meta = self._meta(journal.header, duration)
        writing = asyncio.get_running_loop().run_in_executor(None, write_dump, self.dump_path, meta, users())
        try:
            await asyncio.shield(writing)
        except asyncio.CancelledError:
            stop.set()
            with contextlib.suppress(_Stopped, OSError):
                await writing
            raise

    def close(self) -> None:
        """Release the journal: it stays on disk for ``--resume`` if it holds anything, else it goes."""
        if self.journal is not None:
            if self.journal.done_count == 0 and not self.journal.damaged_lines:
                self.journal.remove()
            else:
                self.journal.close()

    def _meta(self, header: dict[str, Any], duration: float) -> dict[str, Any]:
        stats = self.builder.stats if self.builder else None
        shard = {"shard": self.shard.meta(self.plan.users.count)} if self.shard else {}
        return {
            "scenario": self.scenario,
            "plan_hash": self.plan.hash,
            "plan": self.plan.model_dump(mode="json", exclude_defaults=True),
            "transport": self.client.transport,
            "target": self.target,
            "seed": self.seed,
            "created_at": _now(),
            "started_at": header.get("started_at"),
            "resumed_users": self.resumed_users,
            "counts": self.totals(),
            **self._profiles(),
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
        counts = Shapes(self.plan, self.seed).profile_counts(self.indices.stop, self.indices.start)
        return {"profiles": counts}


class _Stopped(Exception):
    """The dump writer was told to stop (the run was cancelled)."""


def format_indices(indices: list[int], limit: int = 12) -> str:
    """``[0, 1, 2, 5, 7, 8]`` → ``"0-2, 5, 7-8"`` (at most ``limit`` ranges, then "…")."""
    ranges: list[tuple[int, int]] = []
    for index in indices:
        if ranges and index == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], index)
        else:
            ranges.append((index, index))
    return format_ranges(ranges, limit)


def format_ranges(ranges: Iterable[tuple[int, int]], limit: int = 12) -> str:
    """``[(0, 2), (5, 5)]`` → ``"0-2, 5"`` (at most ``limit`` ranges, then how many more)."""
    shown: list[str] = []
    more = 0
    for first, last in ranges:
        if len(shown) < limit:
            shown.append(str(first) if first == last else f"{first}-{last}")
        else:
            more += 1
    return ", ".join(shown) + (f", … ({more} more ranges)" if more else "")


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
