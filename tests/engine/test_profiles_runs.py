"""A plan with profiles and drawn counts through the real CLI: ``--processes 2``, a killed run resumed."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from seeding import open_dump, read_meta
from seeding.plan._models import parse_plan
from seeding.stand import Stand

from ..cli.test_cli_journal import Cli, journal_users, wait_for_users
from .test_profiles_build import MIX, planned, shape_of_dump
from .test_shards import gateway_flags


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_processes_2_seed_the_same_users_as_one_process(tmp_path: Path, transport: str) -> None:
    (tmp_path / "p.yaml").write_text(MIX)
    plan = parse_plan(MIX)
    async with Stand() as stand:
        args = ["p.yaml", *gateway_flags(stand, transport), f"--dumps-dir={tmp_path}", "--seed=9"]
        run = await Cli.run(*args, "--processes=2", cwd=tmp_path)
        assert run.proc.returncode == 0, run.stderr
        dump = tmp_path / "mix_seeds.json"
        assert shape_of_dump(open_dump(dump), stand) == planned(plan, 9)
    meta = read_meta(dump)
    assert meta is not None and meta["profiles"] == {"light": 15, "heavy": 5}
    assert meta["counts"]["accounts"] == sum(len(accounts) for _, accounts in planned(plan, 9))


async def test_a_killed_run_resumes_with_every_user_as_planned(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(MIX)
    plan = parse_plan(MIX)
    async with Stand(latency_ms=15) as stand:
        args = ["p.yaml", *gateway_flags(stand, "grpc"), f"--dumps-dir={tmp_path}", "--concurrency=2", "--seed=4"]
        run = await Cli.start(*args, cwd=tmp_path)
        journal = tmp_path / "mix_seeds.journal"
        await wait_for_users(journal, 3, run)
        run.proc.send_signal(signal.SIGKILL)
        assert await run.finish() == -signal.SIGKILL
        kept = journal_users(journal)
        resumed = await Cli.run(*args, "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        seeds = open_dump(tmp_path / "mix_seeds.json")
        assert shape_of_dump(seeds, stand) == planned(plan, 4)
        for index, user_id in kept.items():
            assert seeds.users[index].user_id == user_id


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_growth_keeps_every_user_and_draws_new_ones_as_one_run_would(tmp_path: Path, transport: str) -> None:
    """20 → 30 users of two profiles: the first 20 lines unchanged, the 10 new ones as a 30-user run draws them."""
    (tmp_path / "p.yaml").write_text(MIX)
    async with Stand() as stand:
        args = ["p.yaml", *gateway_flags(stand, transport), f"--dumps-dir={tmp_path}"]
        first = await Cli.run(*args, "--seed=5", cwd=tmp_path)
        assert first.proc.returncode == 0, first.stderr
        dump = tmp_path / "mix_seeds.json"
        before = open_dump(dump)
        old_lines = [before.users[index].model_dump_json() for index in range(20)]
        users_before = len(stand.bank.users)

        grown = await Cli.run(*args, "--users=30", cwd=tmp_path)  # no --seed: the dump's seed is taken
        assert grown.proc.returncode == 0, grown.stderr
        assert "reused 20, seeded 10" in grown.stdout, grown.stdout
        assert len(stand.bank.users) == users_before + 10  # only the new users were created
        after = open_dump(dump)
        assert [after.users[index].model_dump_json() for index in range(20)] == old_lines
        assert shape_of_dump(after, stand) == planned(parse_plan(MIX).with_users(30), 5)
