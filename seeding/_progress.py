"""The live progress line on stderr: entities done / planned, rate, retries.

tqdm draws it (small, dependency-free, and it turns itself off when stderr is not a terminal, so
CI logs and pipes stay clean). It polls the builder's counters a few times a second instead of
being called from the hot path.
"""

from __future__ import annotations

import asyncio
import sys
from types import TracebackType
from typing import Self

from tqdm import tqdm

from ._run import PlanRun

__all__ = ["Progress"]


class Progress:
    """``async with Progress(run): ...`` shows the run's progress until the block ends."""

    def __init__(self, run: PlanRun, *, interval: float = 0.2, enabled: bool | None = None) -> None:
        self._run = run
        self._interval = interval
        self._bar = tqdm(
            total=run.plan.users.count * run.plan.users.entities_per_user,
            desc=run.scenario,
            unit=" entities",
            file=sys.stderr,
            disable=None if enabled is None else not enabled,  # None: only on a terminal
            dynamic_ncols=True,
            leave=False,
        )
        self._task: asyncio.Task[None] | None = None

    async def _poll(self) -> None:
        while True:
            self._refresh()
            await asyncio.sleep(self._interval)

    def _refresh(self) -> None:
        builder = self._run.builder
        if builder is None:
            return
        stats = builder.stats
        already = self._run.resumed_users * self._run.plan.users.entities_per_user
        self._bar.n = already + stats.done
        self._bar.set_postfix_str(f"{stats.calls_per_second:.0f} calls/s, {stats.retries} retries", refresh=False)
        self._bar.refresh()

    async def __aenter__(self) -> Self:
        if not self._bar.disable:
            self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
        self._bar.close()
