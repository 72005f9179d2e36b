"""Progress on stderr: a live line on a terminal, a plain line every few seconds elsewhere (CI logs).

On a terminal tqdm draws the line (small, dependency-free) and clears it when the run ends, however
it ends (Ctrl-C included). Off a terminal, where a redrawn line would be noise, a plain line is
printed every ``interval`` seconds instead, so a long CI run is never silent until its summary.
Both poll the builder's counters instead of being called from the hot path. A resumed run counts
what the journal already held as done, but rates count only what this process did.

A shard process run by ``--processes`` reports to its parent instead (``json_lines``): one JSON
object per interval on stdout, ``{"progress": {"done", "already", "total", "calls", "retries", "pushbacks",
"in_flight"}}`` (entities, ``already`` of them from the journal; this process's calls), and a last one when it
ends; the parent shows one line for all.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TextIO

import orjson

from ._summary import pushbacks

if TYPE_CHECKING:
    from tqdm import tqdm

    from ..engine._builder import BuildStats
    from ..plan._models import SeedsPlan

__all__ = ["DEFAULT_PLAIN_INTERVAL", "Counters", "Progress", "Watched"]

DEFAULT_PLAIN_INTERVAL = 10.0  # seconds between plain progress lines (``--progress-interval``)


class Counters(Protocol):
    """What the line reads of a running builder (the engine's ``Builder``, or a sum over child processes)."""

    @property
    def stats(self) -> BuildStats: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def round_trips(self) -> tuple[float | None, float | None]: ...


class Watched(Protocol):
    """What the line reads of a run: a ``PlanRun``, or ``--processes``' sum over its shard processes."""

    @property
    def plan(self) -> SeedsPlan: ...
    @property
    def scenario(self) -> str: ...
    @property
    def resumed_users(self) -> int: ...
    @property
    def builder(self) -> Counters | None: ...


class Progress:
    """``async with Progress(run): ...`` shows the run's progress until the block ends.

    ``enabled``: None shows the live line on a terminal and plain lines elsewhere; False shows nothing.
    """

    def __init__(
        self,
        run: Watched,
        *,
        interval: float = 0.2,
        enabled: bool | None = None,
        plain_interval: float = DEFAULT_PLAIN_INTERVAL,
        stream: TextIO | None = None,
        users: int | None = None,
        json_lines: bool = False,
    ) -> None:
        self._run = run
        self._json = json_lines
        self._stream = stream or (sys.stdout if json_lines else sys.stderr)
        per_user = run.plan.users.entities_per_user
        self._already = run.resumed_users * per_user
        self._total = (run.plan.users.count if users is None else users) * per_user  # users: a shard's share
        live = enabled is not False and not json_lines and _is_terminal(self._stream)
        self._plain = (enabled is not False and not live) or json_lines
        self._interval = plain_interval if self._plain else interval
        self._bar: tqdm[Any] | None = None
        if live:
            from tqdm import tqdm  # only a terminal's live line needs it (13 ms of start-up otherwise)

            self._bar = tqdm(
                total=self._total,
                initial=self._already,  # tqdm's rate then counts only this run's entities
                desc=run.scenario,
                unit=" entities",
                file=self._stream,
                # Short of the full width: the terminal echoes "^C" after the line, and a line that wraps
                # there leaves its first half on screen when the bar is cleared.
                ncols=max(shutil.get_terminal_size().columns - 4, 20),
                leave=False,
            )
        self._task: asyncio.Task[None] | None = None

    async def _poll(self) -> None:
        if self._plain:
            await asyncio.sleep(self._interval)  # a run that ends sooner needs no progress line
        while True:
            self._refresh()
            await asyncio.sleep(self._interval)

    def _refresh(self) -> None:
        builder = self._run.builder
        if builder is None:
            return
        stats = builder.stats
        if self._json:
            record = {"done": self._already + stats.done, "already": self._already, "total": self._total}
            record.update(calls=stats.calls, retries=stats.retries, pushbacks=stats.pushbacks)
            record.update(in_flight=builder.in_flight)
            self._stream.write(orjson.dumps({"progress": record}).decode() + "\n")
            self._stream.flush()
            return
        if self._plain:
            done = self._already + stats.done
            share = done / self._total if self._total else 1.0
            print(
                f"{self._run.scenario}: {done}/{self._total} entities ({share:.0%}), {stats.calls} calls, "
                f"{stats.calls_per_second:.0f} calls/s, {_in_flight(builder)}, {stats.retries} retries"
                f"{pushbacks(stats.pushbacks)}, {stats.elapsed:.0f} s",
                file=self._stream,
                flush=True,
            )
            return
        if self._bar is None:
            return
        self._bar.n = self._already + stats.done
        self._bar.set_postfix_str(
            f"{stats.calls_per_second:.0f} calls/s, {_in_flight(builder)}, {stats.retries} retries"
            f"{pushbacks(stats.pushbacks)}",
            refresh=False,
        )
        self._bar.refresh()

    async def __aenter__(self) -> Self:
        if self._bar is not None or self._plain:
            self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._json:
            self._refresh()  # the last counts, for the parent's summary
        self.close()

    def close(self) -> None:
        """Clear the live line (idempotent): before any error or summary line is printed."""
        if self._bar is not None:
            self._bar.clear()
            self._bar.close()


def _in_flight(builder: Counters) -> str:
    """``12 in flight, round trip 26/21 ms``: the calls out now, and the round trip against the unloaded one."""
    round_trip, unloaded = builder.round_trips
    text = f"{builder.in_flight} in flight"
    if round_trip is not None and unloaded is not None:
        text += f", round trip {round_trip * 1000:.0f}/{unloaded * 1000:.0f} ms"
    return text


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
