"""The collector is tuned only in a process the command claimed; a program calling ``main()`` keeps its own."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from seeding.cli._main import main
from seeding.command import _collector

PLAN = Path(__file__).resolve().parents[2] / "plans" / "scenario-11-2.yaml"


@pytest.fixture
def unfrozen() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()
    gc.set_threshold(*threshold)
    _collector._claimed = False


def test_main_called_in_process_leaves_the_collector_alone(unfrozen: None, tmp_path: Path) -> None:
    threshold = gc.get_threshold()
    code = main([str(PLAN), "--stand", "embedded", "--users", "1", "--dumps-dir", str(tmp_path)])
    assert code == 0 and (tmp_path / "scenario-11-2_seeds.json").is_file()
    assert gc.get_freeze_count() == 0 and gc.isenabled() and gc.get_threshold() == threshold


def _collected(obj: object) -> bool:
    """Whether the collector still walks ``obj`` (frozen objects are in none of its generations)."""
    return any(tracked is obj for tracked in gc.get_objects())


def test_a_claimed_process_freezes_start_up_then_collects_the_work(unfrozen: None) -> None:
    _collector.claim()
    assert not gc.isenabled()  # start-up runs without collections
    start_up = [[] for _ in range(3)]
    assert _collected(start_up)
    _collector.start_up_done()
    assert not _collected(start_up) and gc.isenabled()
    assert gc.get_threshold()[0] == _collector.WORK_THRESHOLD
    work = [[] for _ in range(3)]
    assert _collected(work)  # the work's objects stay the collector's until the command ends
    _collector.before_exit()
    assert not _collected(work)
    del start_up, work


def test_freeze_survivors_freezes_what_a_full_collection_leaves_until_stopped(unfrozen: None) -> None:
    stop = _collector.freeze_survivors()
    try:
        data = [[] for _ in range(3)]
        assert _collected(data)
        gc.collect(1)  # a younger collection leaves it to the collector
        assert _collected(data)
        gc.collect()
        assert not _collected(data)
    finally:
        stop()
    later = [[] for _ in range(3)]
    gc.collect()
    assert _collected(later)  # stopped: survivors stay the collector's
    assert gc.isenabled()
