"""Locust with two user classes choosing two profiles of one dump over ``--processes 2``; too few users stop it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from seeding import open_dump

from ..engine.test_profiles_build import MIX
from .test_locust_runs import RUN, seeding_lines

pytestmark = pytest.mark.timeout(120)


def rows_of(directory: Path) -> list[tuple[int, str, str, str]]:
    rows = []
    for file in directory.glob("*.txt"):
        for line in file.read_text().splitlines():
            pid, user_class, profile, user_id = line.split()
            rows.append((int(pid), user_class, profile, user_id))
    return rows


@pytest.fixture
def mix_dump(stand_process, seed_dump, tmp_path: Path) -> Path:
    plan = tmp_path / "mix.yaml"
    plan.write_text(MIX)
    return seed_dump(plan, stand_process, tmp_path / "dumps")


def test_two_user_classes_take_users_of_their_profiles_each_once_over_two_processes(
    stand_process, mix_dump, run_locust, data_dir, tmp_path
):
    (tmp_path / "records").mkdir()
    done = run_locust(
        ["-f", str(data_dir / "profiles_locustfile.py"), *RUN, "--processes", "2", "-u", "8"],
        env={
            "LOCUST_SEEDS_DUMP": mix_dump,
            "LOCUST_SEEDS_PROFILE": "light,heavy",
            "SEEDS_RECORDS": tmp_path / "records",
            "LOCUST_HOST": stand_process.http_url,
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = rows_of(tmp_path / "records")
    seeds = open_dump(mix_dump)
    profile_of = {user.user_id: user.profile for user in seeds.users}
    assert len(rows) == 8 and sorted(c for _, c, _, _ in rows) == ["HeavyUser"] * 2 + ["LightUser"] * 6
    for _, user_class, profile, user_id in rows:
        assert profile == profile_of[user_id] == {"LightUser": "light", "HeavyUser": "heavy"}[user_class]
    assert len({user_id for *_, user_id in rows}) == 8, "a seeded user was handed out twice"
    assert len({pid for pid, *_ in rows}) == 2, "both worker processes should have served users"


@pytest.mark.parametrize(
    ("processes", "profiles", "users", "expected"),
    [
        ([], "light,heavy", "24", "(profile 'light'): holds 15 seeded users but the run asks for 18 virtual users"),
        (["--processes", "2"], "light,heavy", "24", "(profile 'light'): holds 15 seeded users but the run asks for 18"),
        ([], "light,heavy,medium", "4", "no user has the profile 'medium' (profiles: heavy, light)"),
    ],
    ids=["local", "processes-2", "unknown-profile"],
)
def test_a_profile_the_dump_cannot_serve_stops_the_run_at_start_in_one_line(
    stand_process, mix_dump, run_locust, data_dir, tmp_path, processes, profiles, users, expected
):
    (tmp_path / "records").mkdir()
    done = run_locust(
        ["-f", str(data_dir / "profiles_locustfile.py"), *RUN, *processes, "-u", users],
        env={
            "LOCUST_SEEDS_DUMP": mix_dump,
            "LOCUST_SEEDS_PROFILE": profiles,
            "SEEDS_RECORDS": tmp_path / "records",
            "LOCUST_HOST": stand_process.http_url,
        },
    )
    assert done.returncode == 1, done.stderr[-3000:]
    errors = [line for line in seeding_lines(done.stderr) if "/ERROR/" in line]
    assert len(errors) == 1, done.stderr[-3000:]
    assert expected in errors[0], errors[0]
    assert "Traceback" not in done.stderr
    assert rows_of(tmp_path / "records") == []


def test_zipf_gives_the_hot_users_to_most_virtual_users_over_two_processes(
    stand_process, seed_dump, run_locust, data_dir, scenario_plan, tmp_path
):
    dump = seed_dump(scenario_plan, stand_process, tmp_path / "dumps")
    (tmp_path / "records").mkdir()
    done = run_locust(
        ["-f", str(data_dir / "recording_locustfile.py"), *RUN, "--processes", "2", "-u", "40"],
        env={
            "SEEDS_DUMP": dump,
            "SEEDS_RECORDS": tmp_path / "records",
            "SEEDS_STRATEGY": "zipf:2",
            "LOCUST_HOST": stand_process.http_url,
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    indices = [
        int(line.split()[1]) for f in (tmp_path / "records").glob("*.txt") for line in f.read_text().splitlines()
    ]
    assert len(indices) == 40 and all(0 <= i < 10 for i in indices)
    counts = Counter(indices)
    # P(user 0) = 1 / Σ k^-2 (k ≤ 10) ≈ 0.65, P(user 1) ≈ 0.16: 12 of 40 is more than 4 standard deviations below
    assert counts[0] >= 12 and counts[0] == max(counts.values()), counts
