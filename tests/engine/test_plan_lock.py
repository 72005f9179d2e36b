"""The plan lock is held for the whole run: a second run of the plan is refused naming the first's pid.

Real ``python -m seeding`` subprocesses against an in-process stand (which counts the users it
really holds). The first run is stopped with SIGSTOP at a chosen point, so the second always meets
it there however loaded the machine is: mid-run, or (``--processes 2``) after every shard finished
but before the parent merged them. Killed with ``-9``, the holder leaves nothing taken.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from seeding import JournalError, open_dump
from seeding.engine._plan_lock import INHERITED_LOCK, PlanLock, lock_path
from seeding.stand import Stand

from ..cli.test_cli_journal import Cli, wait_for_users
from .test_shards import PLAN, gateway_flags

USERS = 24

# What a second run may try while the first holds the plan: each refused in one line, nothing sent.
SECOND_RUNS = [
    pytest.param([], id="plain"),
    pytest.param(["--resume"], id="resume"),
    pytest.param(["--restart"], id="restart"),
    pytest.param(["--processes=2"], id="processes-2"),
    pytest.param(["--shard=1/2"], id="shard-1-of-2"),
    pytest.param(["--reseed"], id="reseed"),
]


def _refused_by(run: Cli, holder: int) -> None:
    assert run.proc.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert f"another run of this plan (pid {holder}) is running right now" in lines[0], lines[0]
    assert "s_seeds.json" in lines[0], lines[0]


async def _settled(stand: Stand) -> int:
    """The stand's user count once the stopped run's calls already in flight have landed (unchanged for 0.3 s)."""
    count, deadline = -1, time.monotonic() + 10
    while (now := len(stand.bank.users)) != count and time.monotonic() < deadline:
        count = now
        await asyncio.sleep(0.3)
    return count


def _exact(tmp_path: Path, stand: Stand) -> None:
    ids = [user.user_id for user in open_dump(tmp_path / "s_seeds.json", lazy=False).users]
    assert len(ids) == USERS and len(set(ids)) == USERS
    assert sorted(stand.bank.users) == sorted(ids), "the stand holds users the dump does not list"


@pytest.mark.parametrize("first", [[], ["--processes=2"]], ids=["first-plain", "first-processes-2"])
async def test_a_second_run_is_refused_for_the_whole_first_run(tmp_path: Path, first: list[str]) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=USERS))
    async with Stand(latency_ms=20) as stand:
        args = ["p.yaml", *gateway_flags(stand, "grpc"), f"--dumps-dir={tmp_path}", "--concurrency=2", "--timeout=120"]
        run = await Cli.start(*args, *first, cwd=tmp_path)
        if first:  # the window that was open: every shard done, the parent not merged yet
            for shard in (1, 2):
                await wait_for_users(tmp_path / f"s_seeds.shard-{shard}-of-2.journal", 1, run)
            run.proc.send_signal(signal.SIGSTOP)  # its children go on and finish
            deadline = time.monotonic() + 60
            shards = [tmp_path / f"s_seeds.shard-{i}-of-2.json" for i in (1, 2)]
            while not all(path.exists() for path in shards) or list(tmp_path.glob("*.journal")):
                assert time.monotonic() < deadline, "the shards did not finish"
                await asyncio.sleep(0.05)
        else:
            await wait_for_users(tmp_path / "s_seeds.journal", 2, run)
            run.proc.send_signal(signal.SIGSTOP)
        created = await _settled(stand)  # (a call deadline longer than the stop: no retry of answered calls)
        try:
            for second in SECOND_RUNS:
                started = time.monotonic()
                refused = await Cli.run(*args, *second.values[0], cwd=tmp_path)
                _refused_by(refused, run.proc.pid)
                assert time.monotonic() - started < 30
                assert len(stand.bank.users) == created, f"{second.id} sent calls"
        finally:
            run.proc.send_signal(signal.SIGCONT)
        assert await run.finish() == 0, run.stderr
        _exact(tmp_path, stand)
        assert not list(tmp_path.glob("*.journal"))


async def test_two_runs_started_together_never_both_seed(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=USERS))
    async with Stand(latency_ms=20) as stand:
        args = ["p.yaml", *gateway_flags(stand, "http"), f"--dumps-dir={tmp_path}", "--concurrency=2", "--timeout=120"]
        runs = await asyncio.gather(Cli.start(*args, cwd=tmp_path), Cli.start(*args, cwd=tmp_path))
        codes = sorted(await asyncio.gather(*(run.finish() for run in runs)))
        # One seeds; the other is refused (or, on a machine slow enough, comes after and reuses the dump).
        assert codes in ([0, 2], [0, 0]), [run.stderr for run in runs]
        if codes == [0, 2]:
            refused = next(run for run in runs if run.proc.returncode == 2)
            other = next(run for run in runs if run is not refused)
            _refused_by(refused, other.proc.pid)
        _exact(tmp_path, stand)


async def test_a_holder_killed_with_sigkill_leaves_the_plan_free(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=USERS))
    async with Stand(latency_ms=20) as stand:
        args = ["p.yaml", *gateway_flags(stand, "grpc"), f"--dumps-dir={tmp_path}", "--concurrency=2", "--timeout=120"]
        run = await Cli.start(*args, cwd=tmp_path)
        await wait_for_users(tmp_path / "s_seeds.journal", 2, run)
        run.proc.kill()
        await run.proc.wait()
        assert lock_path(tmp_path / "s_seeds.json").exists()  # the file stays; the lock went with the process
        resumed = await Cli.run(*args, "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        ids = [user.user_id for user in open_dump(tmp_path / "s_seeds.json", lazy=False).users]
        assert len(ids) == USERS and len(set(ids)) == USERS


@pytest.mark.parametrize(
    ("value", "inherited"),
    [
        pytest.param("", False, id="unset"),
        pytest.param("x", False, id="not-a-number"),
        pytest.param("²", False, id="unicode-digit"),
        pytest.param("99999", False, id="closed-descriptor"),
        pytest.param("{other}", False, id="another-file"),
        pytest.param("{held}", True, id="this-plan's-lock"),
    ],
)
def test_an_inherited_lock_is_taken_only_if_it_is_this_plans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, inherited: bool
) -> None:
    dump = tmp_path / "s_seeds.json"
    parent = PlanLock.take(dump)
    other = os.open(tmp_path / "other", os.O_RDWR | os.O_CREAT)
    try:
        monkeypatch.setenv(INHERITED_LOCK, value.format(held=parent.fd, other=other))
        if inherited:  # what a --processes child does: the parent's hold is its own
            PlanLock.take(dump, shared=True).release()
            with pytest.raises(JournalError, match=rf"pid {os.getpid()}"):  # the parent's hold is intact
                monkeypatch.delenv(INHERITED_LOCK)
                PlanLock.take(dump, shared=True)
        else:  # not a hold on this plan: taken as usual, so refused while the parent holds it
            with pytest.raises(JournalError, match=rf"another run of this plan \(pid {os.getpid()}\)"):
                PlanLock.take(dump, shared=True)
    finally:
        os.close(other)
        parent.release()
    PlanLock.take(dump).release()  # free again once the holder let go
