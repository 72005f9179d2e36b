"""The live progress line: cleared when the run is cancelled (Ctrl-C), and no rate inflated by a resume."""

from __future__ import annotations

import asyncio
import io
import itertools
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import tqdm.std

from seeding import load_plan
from seeding.cli._progress import Progress
from seeding.engine._builder import BuildStats

PLAN = load_plan(Path(__file__).resolve().parents[2] / "plans" / "scenario-11-2.yaml")  # 15 entities per user


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def _show(resumed_users: int, done: int) -> str:
    """Progress of a run (a stand-in holding the counters it reads) cancelled mid-way, as Ctrl-C does."""
    stats = BuildStats()
    run = SimpleNamespace(
        plan=PLAN,
        scenario="s",
        resumed_users=resumed_users,
        builder=SimpleNamespace(stats=stats, in_flight=0, round_trips=(None, None)),
    )
    out = Terminal()

    async def seeding() -> None:
        async with Progress(run, stream=out, interval=0.01):  # type: ignore[arg-type]
            stats.done = done
            await asyncio.sleep(30)

    task = asyncio.create_task(seeding())
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return out.getvalue()


def _rates(text: str) -> list[float]:
    return [float(rate) for rate in re.findall(r"([\d.]+) entities/s", text)]


async def test_the_line_is_cleared_when_the_run_is_cancelled() -> None:
    text = await _show(0, 30)
    assert "30/150" in text
    last = [segment for segment in text.split("\r") if segment][-1]
    assert last.strip() == "", f"the bar is still on screen: {last!r}"


async def test_a_resumed_run_counts_what_the_journal_held_but_rates_only_this_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # tqdm's clock advances one second per reading, so both runs' first rates are read at the same
    # elapsed time however loaded the machine is.
    monkeypatch.setattr(tqdm.std, "time", itertools.count(1000.0).__next__)
    resumed = await _show(8, 15)  # 120 entities from the journal, 15 seeded now
    monkeypatch.setattr(tqdm.std, "time", itertools.count(1000.0).__next__)
    fresh = await _show(0, 15)  # the same 15 entities, no journal
    assert "135/150" in resumed and "15/150" in fresh
    # An inflated rate would count the journal's 120 entities as done in this run's first instant: 9× higher.
    assert _rates(resumed)[0] == _rates(fresh)[0] > 0
