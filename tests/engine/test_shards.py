"""Shards through the real CLI against one stand: ``--shard I/N`` + ``merge``, ``--processes N``, kills and resumes.

The stand runs in the test's event loop, so each test can read what the gateway really holds
(names, phones, amounts: ``stand.bank``) and compare a merged dump with one unsharded run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from seeding import open_dump
from seeding.stand import Stand

from ..cli.test_cli_journal import PROJECT, Cli, journal_users, wait_for_users

PLAN = (
    "scenario: s\nusers:\n  count: {count}\n"
    "  debit_card_accounts: {{count: 1, top_up_operations: 2, purchase_operations: 1}}\n"
    "  credit_card_accounts: {{count: 1, physical_cards: 1}}\n"
)


async def merge(dumps_dir: Path) -> Cli:
    """``python -m seeding merge s`` (the Cli helper's ``--no-progress`` is not one of merge's flags)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "seeding",
        "merge",
        "s",
        f"--dumps-dir={dumps_dir}",
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    cli = Cli(proc)
    await cli.finish()
    return cli


def gateway_flags(stand: Stand, transport: str) -> list[str]:
    flag = f"--grpc-target={stand.grpc_target}" if transport == "grpc" else f"--http-url={stand.http_url}"
    return [f"--transport={transport}", flag]


def seen_by_the_gateway(stand: Stand, dump: Path) -> list[dict[str, Any]]:
    """Each dump user as the gateway holds it, ids aside: names, phone, accounts, cards, operation amounts."""
    bank = stand.bank
    shown = []
    for user in open_dump(dump, lazy=False).users:
        row = bank.users[user.user_id]
        accounts = {}
        for kind in ("debit_card_accounts", "credit_card_accounts"):
            accounts[kind] = [
                {
                    "type": bank.accounts[account.account_id].type,
                    "cards": len(account.physical_cards) + len(account.virtual_cards) + len(account.opened_cards),
                    "operations": [
                        (bank.operations[op.operation_id].type, bank.operations[op.operation_id].amount)
                        for field in ("top_up_operations", "purchase_operations")
                        for op in getattr(account, field)
                    ],
                }
                for account in getattr(user, kind)
            ]
        names = (row.last_name, row.first_name, row.middle_name, row.phone_number)
        shown.append({"names": names, **accounts})
    return shown


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_three_shards_seeded_at_once_merge_into_the_unsharded_run(tmp_path: Path, transport: str) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=11))
    sharded, whole = tmp_path / "sharded", tmp_path / "whole"
    async with Stand() as stand:
        common = ["p.yaml", *gateway_flags(stand, transport), "--seed=41", "--concurrency=4"]
        runs = [await Cli.start(*common, f"--shard={i}/3", f"--dumps-dir={sharded}", cwd=tmp_path) for i in (1, 2, 3)]
        for run in runs:
            assert await run.finish() == 0, run.stderr
        shard_ids = [
            [user.user_id for user in open_dump(sharded / f"s_seeds.shard-{i}-of-3.json").users] for i in (1, 2, 3)
        ]
        assert [len(ids) for ids in shard_ids] == [3, 4, 4]  # [0, 3), [3, 7), [7, 11)
        merged = await merge(sharded)
        assert merged.proc.returncode == 0, merged.stderr
        unsharded = await Cli.run(*common, f"--dumps-dir={whole}", cwd=tmp_path)
        assert unsharded.proc.returncode == 0, unsharded.stderr

        merged_dump = sharded / "s_seeds.json"
        ids = [user.user_id for user in open_dump(merged_dump).users]
        assert ids == [i for shard in shard_ids for i in shard], "the merged dump is in plan order, shard by shard"
        assert seen_by_the_gateway(stand, merged_dump) == seen_by_the_gateway(stand, whole / "s_seeds.json")
        assert len(set(ids)) == 11 and len(stand.bank.users) == 22
    meta = open_dump(merged_dump).users.meta  # type: ignore[attr-defined]
    whole_meta = open_dump(whole / "s_seeds.json").users.meta  # type: ignore[attr-defined]
    for key in ("plan_hash", "seed", "counts", "transport", "scenario"):
        assert meta[key] == whole_meta[key], key


async def test_shards_refuse_a_merge_with_a_shard_missing_or_of_another_plan(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=4))
    (tmp_path / "q.yaml").write_text(PLAN.format(count=4).replace("top_up_operations: 2", "top_up_operations: 1"))
    async with Stand() as stand:
        common = [*gateway_flags(stand, "grpc"), f"--dumps-dir={tmp_path}"]
        assert (await Cli.run("p.yaml", *common, "--shard=1/2", cwd=tmp_path)).proc.returncode == 0
        missing = await merge(tmp_path)
        assert missing.proc.returncode == 2
        assert "s_seeds.shard-2-of-2.json: shard 2/2 is missing" in missing.stderr
        # Shard 2 of another plan (same scenario name, other operations): another hash, and another seed.
        assert (await Cli.run("q.yaml", *common, "--shard=2/2", cwd=tmp_path)).proc.returncode == 0
        foreign = await merge(tmp_path)
    assert foreign.proc.returncode == 2, foreign.stderr
    assert "shard-" in foreign.stderr and "a shard of another run" in foreign.stderr
    assert len(foreign.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s_seeds.json").exists()


async def test_one_shard_killed_mid_run_is_resumed_and_the_merge_is_exact(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=24))
    async with Stand(latency_ms=15) as stand:
        common = ["p.yaml", *gateway_flags(stand, "grpc"), f"--dumps-dir={tmp_path}", "--concurrency=2"]
        runs = [await Cli.start(*common, f"--shard={i}/3", cwd=tmp_path) for i in (1, 2, 3)]
        journal = tmp_path / "s_seeds.shard-2-of-3.journal"
        await wait_for_users(journal, 2, runs[1])
        runs[1].proc.send_signal(signal.SIGKILL)  # a crash: no cleanup at all
        assert await runs[1].finish() == -signal.SIGKILL
        for run in (runs[0], runs[2]):
            assert await run.finish() == 0, run.stderr
        kept = journal_users(journal)
        assert kept and all(8 <= index < 16 for index in kept)
        unfinished = await merge(tmp_path)
        assert unfinished.proc.returncode == 2 and "shard 2/3 is unfinished" in unfinished.stderr

        resumed = await Cli.run(*common, "--shard=2/3", "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        assert f"{len(kept)} users from the journal" in resumed.stdout
        merged = await merge(tmp_path)
        assert merged.proc.returncode == 0, merged.stderr
        ids = [user.user_id for user in open_dump(tmp_path / "s_seeds.json", lazy=False).users]
        assert len(ids) == 24 and len(set(ids)) == 24
        for index, user_id in kept.items():
            assert ids[index] == user_id, f"plan user #{index} was seeded again although the journal kept it"
        assert set(ids) <= set(stand.bank.users)


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_processes_2_seed_and_merge_exactly_with_one_summary(tmp_path: Path, transport: str) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=9))
    async with Stand() as stand:
        args = ["p.yaml", *gateway_flags(stand, transport), f"--dumps-dir={tmp_path}", "--seed=41"]
        run = await Cli.run(*args, "--processes=2", "--report=report.json", cwd=tmp_path)
        assert run.proc.returncode == 0, run.stderr
        whole = await Cli.run(*args, f"--dumps-dir={tmp_path / 'whole'}", cwd=tmp_path)
        assert whole.proc.returncode == 0, whole.stderr
        dump = tmp_path / "s_seeds.json"
        assert seen_by_the_gateway(stand, dump) == seen_by_the_gateway(stand, tmp_path / "whole" / "s_seeds.json")
        assert len(stand.bank.users) == 18
    summary = run.stdout.strip().splitlines()
    assert len(summary) == 1 and "9 users" in summary[0] and "2 processes" in summary[0], run.stdout
    assert run.stderr.strip() == "", "no progress lines with --no-progress, no warnings"
    assert not list(tmp_path.glob("s_seeds.shard-*")), "the merged shards are removed"
    report = orjson.loads((tmp_path / "report.json").read_bytes())
    assert report["exit_code"] == 0 and report["plans"][0]["status"] == "seeded"
    assert report["plans"][0]["calls"] == 9 * 7 and report["plans"][0]["processes"] == 2


async def test_processes_stop_together_on_ctrl_c_and_resume_together(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=30))
    async with Stand(latency_ms=20) as stand:
        args = ["p.yaml", *gateway_flags(stand, "grpc"), f"--dumps-dir={tmp_path}", "--concurrency=2"]
        run = await Cli.start(*args, "--processes=2", cwd=tmp_path)
        journals = [tmp_path / f"s_seeds.shard-{i}-of-2.journal" for i in (1, 2)]
        for journal in journals:
            await wait_for_users(journal, 1, run)
        run.proc.send_signal(signal.SIGINT)
        assert await run.finish(timeout=30) == 1, run.stderr
        assert "interrupted" in run.stderr and "finish with: python -m seeding p.yaml" in run.stderr
        assert "--processes=2 --no-progress --resume" in run.stderr  # the command as given, --resume added
        kept = {index: user for journal in journals for index, user in journal_users(journal).items()}
        assert kept and all(journal.exists() for journal in journals)
        assert not _seeding_processes_in(tmp_path), "a shard process outlived the interrupted run"

        again = await Cli.run(*args, "--processes=2", cwd=tmp_path)
        assert again.proc.returncode == 2 and "pass --resume" in again.stderr  # nothing started
        resumed = await Cli.run(*args, "--processes=2", "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        assert f"{len(kept)} users from journals" in resumed.stdout
        ids = [user.user_id for user in open_dump(tmp_path / "s_seeds.json", lazy=False).users]
        assert len(ids) == 30 and len(set(ids)) == 30
        for index, user_id in kept.items():
            assert ids[index] == user_id
        assert set(ids) <= set(stand.bank.users)


async def test_the_shard_of_an_indexed_job_comes_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=5))
    env = {"JOB_COMPLETION_INDEX": "1", "SEEDING_SHARDS": "2"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "seeding",
        "p.yaml",
        "--stand=embedded",
        f"--dumps-dir={tmp_path}",
        "--no-progress",
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    dump = open_dump(tmp_path / "s_seeds.shard-2-of-2.json")
    assert len(dump.users) == 3  # [2, 5) of 5
    assert dump.users.meta["shard"] == {"index": 2, "count": 2, "users": 5, "start": 2, "stop": 5}  # type: ignore[attr-defined]


def _seeding_processes_in(dumps_dir: Path) -> list[int]:
    """Live processes whose command line seeds into ``dumps_dir`` (the shard children of a run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if f"--dumps-dir={dumps_dir}".encode() in command and state != "Z":
                found.append(int(entry.name))
    return found


async def test_shard_processes_stop_when_their_parent_is_killed(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=30))
    async with Stand(latency_ms=20) as stand:
        args = ["p.yaml", *gateway_flags(stand, "grpc"), f"--dumps-dir={tmp_path}", "--concurrency=2"]
        run = await Cli.start(*args, "--processes=2", cwd=tmp_path)
        journals = [tmp_path / f"s_seeds.shard-{i}-of-2.journal" for i in (1, 2)]
        for journal in journals:
            await wait_for_users(journal, 1, run)
        run.proc.kill()  # SIGKILL: the parent cannot pass anything on; the children are told by the kernel
        await run.finish()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while _seeding_processes_in(tmp_path):
            assert loop.time() < deadline, "shard processes outlived their killed parent"
            await asyncio.sleep(0.1)
        resumed = await Cli.run(*args, "--processes=2", "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        ids = [user.user_id for user in open_dump(tmp_path / "s_seeds.json").users]
        assert len(ids) == 30 and len(set(ids)) == 30


def test_a_seeder_subprocess_seeds_the_whole_plan_whatever_shard_its_caller_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seeding.engine._seed_subprocess import seed_in_subprocess

    (tmp_path / "p.yaml").write_text(PLAN.format(count=4))
    monkeypatch.setenv("SEEDING_SHARD", "1/2")  # this process is shard 1/2 of something else
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    monkeypatch.setenv("SEEDING_SHARDS", "2")
    monkeypatch.setenv("PYTHONPATH", str(PROJECT))
    done = seed_in_subprocess(
        tmp_path / "p.yaml", "s", dumps_dir=tmp_path, journal="--restart", extra_args=["--stand=embedded"]
    )
    assert done.ok, done.error
    assert len(open_dump(tmp_path / "s_seeds.json").users) == 4
