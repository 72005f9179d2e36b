"""When a dump must be seeded again before a run: the pure decision behind ``regenerate_dump``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from seeding import SeedsPlan, load_plan, write_dump
from seeding.locust import regenerate_dump, regeneration_reason

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TARGET = "http://127.0.0.1:8003"
USER = {"user_id": "4f7c3f0e-0000-4000-8000-000000000001"}


@pytest.fixture
def plan(scenario_plan: Path) -> SeedsPlan:
    return load_plan(scenario_plan)


def make_dump(path: Path, plan: SeedsPlan, *, target: str = TARGET, age: timedelta = timedelta(hours=1)) -> Path:
    meta = {
        "scenario": plan.scenario,
        "plan_hash": plan.hash,
        "target": target,
        "created_at": (NOW - age).isoformat(timespec="seconds"),
        "counts": {"users": 1},
    }
    return write_dump(path, meta, [USER])


def test_fresh_dump_of_this_plan_on_this_target_is_reused(plan, tmp_path):
    dump = make_dump(tmp_path / "s_seeds.json", plan)
    assert regeneration_reason(dump, plan, TARGET, timedelta(days=1), now=NOW) is None
    assert regeneration_reason(dump, plan, TARGET + "/", now=NOW) is None  # same URL, trailing slash
    assert regeneration_reason(dump, plan, TARGET, None, now=NOW) is None  # no age limit


def test_missing_dump(plan, tmp_path):
    reason = regeneration_reason(tmp_path / "s_seeds.json", plan, TARGET, now=NOW)
    assert reason is not None and "does not exist" in reason


def test_plan_changed(plan, tmp_path):
    dump = make_dump(tmp_path / "s_seeds.json", plan)
    bigger = plan.model_copy(update={"users": plan.users.model_copy(update={"count": plan.users.count + 1})})
    reason = regeneration_reason(dump, bigger, TARGET, now=NOW)
    assert reason is not None and "another plan" in reason and bigger.hash in reason


def test_plan_renamed_only_is_the_same_plan(plan, tmp_path):
    dump = make_dump(tmp_path / "s_seeds.json", plan)
    assert regeneration_reason(dump, plan.model_copy(update={"scenario": "other"}), TARGET, now=NOW) is None


def test_target_changed(plan, tmp_path):
    dump = make_dump(tmp_path / "s_seeds.json", plan, target="embedded")
    reason = regeneration_reason(dump, plan, TARGET, now=NOW)
    assert reason is not None and "'embedded'" in reason and TARGET in reason


def test_too_old(plan, tmp_path):
    dump = make_dump(tmp_path / "s_seeds.json", plan, age=timedelta(hours=30))
    reason = regeneration_reason(dump, plan, TARGET, timedelta(days=1), now=NOW)
    assert reason is not None and "older than 1.0 d" in reason and "1.2 d old" in reason
    assert regeneration_reason(dump, plan, TARGET, 31 * 3600, now=NOW) is None  # seconds work too


def test_course_dump_without_meta_is_never_trusted(plan, tmp_path):
    dump = tmp_path / "s_seeds.json"
    dump.write_text('{"users": [{"user_id": "u1"}]}')
    reason = regeneration_reason(dump, plan, TARGET, now=NOW)
    assert reason is not None and "no meta" in reason


def test_truncated_dump(plan, tmp_path):
    dump = make_dump(tmp_path / "s_seeds.json", plan)
    dump.write_bytes(dump.read_bytes()[:-4])
    reason = regeneration_reason(dump, plan, TARGET, now=NOW)
    assert reason is not None and "cannot be read" in reason


@pytest.mark.parametrize("rate", [0, -5.0, 1e-9, 2e6, float("nan"), float("inf"), "200", True])
def test_a_bad_rate_stops_the_run_in_one_line(plan, rate, caplog):
    # Nothing is seeded: the check comes before the seeder is started (the environment has no runner).
    environment = type("Environment", (), {"host": TARGET, "runner": None})()
    with pytest.raises(SystemExit) as stopped:
        regenerate_dump(environment, plan, rate=rate)
    assert stopped.value.code == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"regenerate_dump: rate must be a number of calls per second, at least 0.01 and at most 1e+06, not {rate!r}"
    ]
