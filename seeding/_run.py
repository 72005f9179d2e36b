"""One run of one plan: journal → builder → dump.

``PlanRun.execute()`` opens the journal (refusing to clobber an unfinished run), builds the plan
indices the journal does not hold yet, and, only when every user is there, writes the dump in plan
order with its ``meta`` block and removes the journal. When it stops early (a failure, Ctrl-C,
SIGTERM) ``missing`` says which plan indices are absent and the journal stays for ``--resume``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ._builder import Builder, BuildOptions
from ._dump import DEFAULT_DUMPS_DIR, dump_path, open_dump, write_dump
from ._journal import Journal, journal_path
from ._plan import SeedsPlan, load_plan
from ._result import SeedsResult
from .gateway import GatewayClient, Transport, connect

__all__ = ["DEFAULT_SCENARIO", "PlanRun", "build_seeds", "format_indices"]

DEFAULT_SCENARIO = "seeds"


class PlanRun:
    """Seeds one plan through one client into ``dumps/<scenario>_seeds.json``."""

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
    ) -> None:
        self.plan = plan
        self.client = client
        self.scenario = plan.scenario or DEFAULT_SCENARIO
        self.dump_path = dump_path(self.scenario, dumps_dir)
        self.journal_path = journal_path(self.dump_path)
        self.options = options or BuildOptions()
        self.seed = seed if seed is not None else secrets.randbelow(2**31)
        self.resume = resume
        self.restart = restart
        self.target = target or client.target  # what the dump's meta records as the target
        self.builder: Builder | None = None  # set once the journal is open: progress reads its stats
        self.resumed_users = 0
        self.missing: list[int] = list(range(plan.users.count))

    async def execute(self) -> Path:
        """Build what is missing and write the dump; returns its path.

        Raises ``JournalError`` before sending anything when an unfinished run is in the way,
        ``BuildError`` when a user fails for good; ``missing`` is accurate after any exit.
        """
        count = self.plan.users.count
        header = {
            "scenario": self.scenario,
            "plan_hash": self.plan.hash,
            "transport": self.client.transport,
            "target": self.target,
            "seed": self.seed,
            "users": count,
            "started_at": _now(),
        }
        journal = Journal.start(self.journal_path, header, resume=self.resume, restart=self.restart)
        self.seed = journal.header["seed"]  # a resumed run keeps the names and amounts it began with
        self.resumed_users = len(journal.done)
        todo = [index for index in range(count) if index not in journal.done]
        self.builder = Builder(self.plan, self.client, replace(self.options, seed=self.seed))
        started = time.monotonic()
        try:
            await self.builder.run(todo, journal.append)
        finally:
            self.missing = [index for index in range(count) if index not in journal.done]
            if self.missing:
                journal.close()
        write_dump(
            self.dump_path,
            self._meta(journal.header, time.monotonic() - started),
            journal.users_in_order(count),
        )
        journal.remove()
        return self.dump_path

    def _meta(self, header: dict[str, Any], duration: float) -> dict[str, Any]:
        stats = self.builder.stats if self.builder else None
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
            "counts": self.plan.totals(),
            "duration_s": round(duration, 3),
            "calls": stats.calls if stats else 0,
            "retries": stats.retries if stats else 0,
            "seeding_version": _version(),
        }


def format_indices(indices: list[int], limit: int = 12) -> str:
    """``[0, 1, 2, 5, 7, 8]`` → ``"0-2, 5, 7-8"`` (at most ``limit`` ranges, then "…")."""
    ranges: list[str] = []
    start = prev = None
    for index in [*indices, None]:
        if start is not None and (index is None or index != prev + 1):  # type: ignore[operator]
            ranges.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if index is not None and start is None:
            start = index
        prev = index
    shown = ", ".join(ranges[:limit])
    return shown + (f", … ({len(ranges) - limit} more ranges)" if len(ranges) > limit else "")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _version() -> str:
    try:
        return version("seeding")
    except PackageNotFoundError:
        return "unknown"


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
    from ._settings import load_settings

    if not isinstance(plan, SeedsPlan):
        plan = load_plan(plan)
    settings = load_settings()
    transport = transport or settings.seeding.transport
    target = target or settings.target(transport)
    options = options or BuildOptions(concurrency=settings.seeding.concurrency, retries=settings.seeding.retries)
    async with connect(transport, target, timeout=options.timeout) as client:
        await client.check_reachable(timeout=min(5.0, options.timeout))
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
