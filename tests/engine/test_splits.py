"""Journals of every split of a plan: a run split another way refuses instead of orphaning their users.

``--processes 2`` is interrupted, leaving two shard journals; ``--processes 3``, a plain run,
``--shard 1/2``... each is refused in one line naming the journals and the command that finishes
them, before any call; ``--processes 2 --resume`` then ends exact, and the gateway holds exactly the
plan's users (none orphaned). The same the other way round: an unsharded journal refuses splits.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from seeding import open_dump
from seeding.stand import Stand

from ..cli.test_cli_journal import Cli, journal_users, wait_for_users
from .test_shards import PLAN, gateway_flags

USERS = 24


def _refused(run: Cli, *names: str) -> None:
    assert run.proc.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "an unfinished run of this plan" in lines[0], lines[0]
    for name in names:
        assert name in lines[0], lines[0]


async def test_an_interrupted_split_refuses_every_other_split_then_resumes_exact(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=USERS))
    async with Stand(latency_ms=20) as stand:
        args = ["p.yaml", *gateway_flags(stand, "grpc"), f"--dumps-dir={tmp_path}", "--concurrency=2"]
        run = await Cli.start(*args, "--processes=2", cwd=tmp_path)
        journals = [tmp_path / f"s_seeds.shard-{i}-of-2.journal" for i in (1, 2)]
        for journal in journals:
            await wait_for_users(journal, 1, run)
        run.proc.send_signal(signal.SIGINT)
        assert await run.finish(timeout=30) == 1, run.stderr
        created = len(stand.bank.users)
        kept = {index: user for journal in journals for index, user in journal_users(journal).items()}
        assert 0 < len(kept) <= created < USERS
        # users in flight at the interrupt are in a journal in part (what of them the gateway made)

        for other in (
            ["--processes=3"],
            [],
            ["--shard=1/2"],
            ["--shard=2/3"],
            ["--processes=3", "--resume"],
            ["--resume"],
        ):
            started = time.monotonic()
            refused = await Cli.run(*args, *other, cwd=tmp_path)
            if other == ["--shard=1/2"]:  # the same split: its own journal asks for --resume, as before
                assert refused.proc.returncode == 2 and "--resume" in refused.stderr, refused.stderr
            else:
                _refused(refused, "s_seeds.shard-1-of-2.journal", "s_seeds.shard-2-of-2.journal", "--processes 2")
            assert time.monotonic() - started < 30
            assert len(stand.bank.users) == created, f"{other} sent calls"

        resumed = await Cli.run(*args, "--processes=2", "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        ids = [user.user_id for user in open_dump(tmp_path / "s_seeds.json", lazy=False).users]
        assert len(ids) == USERS and len(set(ids)) == USERS
        for index, user_id in kept.items():  # every journaled user is in the dump: none orphaned
            assert ids[index] == user_id
        assert len(stand.bank.users) == USERS  # the refused runs created nobody, the resume nobody twice
        assert set(ids) <= set(stand.bank.users)
        assert not list(tmp_path.glob("*.journal"))


async def test_an_unsharded_journal_refuses_splits_and_restart_discards_it(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=USERS))
    async with Stand(latency_ms=20) as stand:
        args = ["p.yaml", *gateway_flags(stand, "http"), f"--dumps-dir={tmp_path}", "--concurrency=2"]
        run = await Cli.start(*args, cwd=tmp_path)
        await wait_for_users(tmp_path / "s_seeds.journal", 1, run)
        run.proc.send_signal(signal.SIGINT)
        assert await run.finish(timeout=30) == 1, run.stderr
        created = len(stand.bank.users)
        for other in (["--processes=2"], ["--shard=1/2"], ["--processes=2", "--resume"]):
            refused = await Cli.run(*args, *other, cwd=tmp_path)
            _refused(refused, "s_seeds.journal", "(unsharded)", "python -m seeding s --resume")
            assert len(stand.bank.users) == created
        restarted = await Cli.run(*args, "--processes=2", "--restart", cwd=tmp_path)
        assert restarted.proc.returncode == 0, restarted.stderr
        assert not (tmp_path / "s_seeds.journal").exists()
        assert len(open_dump(tmp_path / "s_seeds.json").users) == USERS
