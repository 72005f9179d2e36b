"""The journal through the real CLI: one writer, one gateway, local damage, full disks; counts stay exact.

Each test runs ``python -m seeding`` in subprocesses against an in-process stand, so it can count
the users the stand really holds (``stand.bank.users``) next to the users the dump lists.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import orjson

from seeding import open_dump
from seeding.stand import Stand

PROJECT = Path(__file__).resolve().parents[2]
PLAN = "users:\n  count: {count}\n  debit_card_accounts:\n    count: 1\n    top_up_operations: 2\n"


_LIMITED = (
    "import os, resource, signal, sys; limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


class Cli:
    """One ``python -m seeding`` subprocess, driven from the event loop that serves the stand."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stdout = self.stderr = ""

    @classmethod
    async def start(cls, *args: object, cwd: Path, file_size_limit: int | None = None) -> Cli:
        command = [sys.executable, "-m", "seeding", *map(str, args), "--no-progress"]
        if file_size_limit is not None:
            # "Disk full" without a mount: writes past RLIMIT_FSIZE fail with EFBIG (SIGXFSZ ignored). Set
            # in a launcher that then execs the CLI, not in a preexec_fn: forking a process that runs
            # a gRPC server (the stand, here) and running Python before exec can abort the child.
            command = [sys.executable, "-c", _LIMITED, str(file_size_limit), *command]
        env = {**os.environ, "PYTHONPATH": str(PROJECT), "PYTHONDONTWRITEBYTECODE": "1"}
        if file_size_limit is not None:
            # Coverage (CI measures the commands tests start) would write its data under the same limit
            # and end the command with its own traceback: the limited command runs unmeasured.
            env.pop("COVERAGE_PROCESS_CONFIG", None)
            env.pop("COVERAGE_PROCESS_START", None)
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def finish(self, timeout: float = 60) -> int:
        out, err = await asyncio.wait_for(self.proc.communicate(), timeout)
        self.stdout, self.stderr = out.decode(), err.decode()
        assert "Traceback" not in self.stderr, self.stderr
        assert self.proc.returncode is not None
        return self.proc.returncode

    @classmethod
    async def run(cls, *args: object, cwd: Path, file_size_limit: int | None = None) -> Cli:
        cli = await cls.start(*args, cwd=cwd, file_size_limit=file_size_limit)
        await cli.finish()
        return cli

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if " error: " in line or ": failed" in line]


def journal_users(path: Path) -> dict[int, str]:
    """Plan index → user id of every intact user line of a journal."""
    users = {}
    if path.exists():
        for line in path.read_bytes().splitlines(keepends=True)[1:]:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict) and "index" in record and "user" in record:  # not a part of one
                users[record["index"]] = record["user"]["user_id"]
    return users


async def wait_for_users(path: Path, users: int, cli: Cli, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(journal_users(path)) < users:
        assert cli.proc.returncode is None, f"the run ended early ({cli.proc.returncode})"
        assert loop.time() < deadline, "the run made no progress"
        await asyncio.sleep(0.05)


def assert_exact_dump(dump: Path, count: int, kept: dict[int, str] | None = None) -> list[str]:
    users = open_dump(dump, lazy=False).users
    ids = [user.user_id for user in users]
    assert len(ids) == count and len(set(ids)) == count, "a user is missing or twice in the dump"
    assert all(len(user.debit_card_accounts[0].top_up_operations) == 2 for user in users)
    for index, user_id in (kept or {}).items():
        assert ids[index] == user_id, f"plan user #{index} was seeded again although the journal kept it"
    return ids


async def test_a_second_run_on_a_live_journal_is_refused_and_the_first_finishes_exact(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=30))
    journal, dump = tmp_path / "p_seeds.journal", tmp_path / "p_seeds.json"
    async with Stand(latency_ms=15) as stand:
        # A call deadline longer than the stop: a call answered while the run was stopped is not retried
        # (which would make a second user on the gateway, the first one's answer lost).
        args = ("p.yaml", "--grpc-target", stand.grpc_target, "--dumps-dir", tmp_path, "--concurrency", "3")
        args = (*args, "--timeout", "120")
        first = await Cli.start(*args, cwd=tmp_path)
        await wait_for_users(journal, 2, first)
        first.proc.send_signal(signal.SIGSTOP)  # mid-run, lock held, however slow the machine is
        for extra in ([], ["--resume"], ["--restart"]):
            second = await Cli.run(*args, *extra, cwd=tmp_path)
            assert second.proc.returncode == 2, second.stderr
            assert len(second.stderr.strip().splitlines()) == 1, second.stderr
            assert f"another run of this plan (pid {first.proc.pid}) is running right now" in second.stderr
        assert first.proc.returncode is None, "the second run disturbed the first"
        first.proc.send_signal(signal.SIGCONT)
        assert await first.finish() == 0, first.stderr
        ids = assert_exact_dump(dump, 30)
        assert sorted(stand.bank.users) == sorted(ids), "the stand holds users the dump does not list"
    assert not journal.exists()


async def test_resume_against_another_gateway_is_refused_naming_both(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=30))
    journal, dump = tmp_path / "p_seeds.journal", tmp_path / "p_seeds.json"
    async with Stand(latency_ms=15) as first_gateway, Stand() as other_gateway:
        args = ("p.yaml", "--dumps-dir", tmp_path, "--concurrency", "3")
        run = await Cli.start(*args, "--grpc-target", first_gateway.grpc_target, cwd=tmp_path)
        await wait_for_users(journal, 3, run)
        run.proc.send_signal(signal.SIGTERM)
        assert await run.finish(timeout=10) == 1
        kept = journal_users(journal)

        for flags in (
            ["--grpc-target", other_gateway.grpc_target],
            ["--transport", "http", "--http-url", first_gateway.http_url],
        ):
            elsewhere = await Cli.run(*args, "--resume", *flags, cwd=tmp_path)
            assert elsewhere.proc.returncode == 2, elsewhere.stderr
            assert len(elsewhere.stderr.strip().splitlines()) == 1
            assert f"the interrupted run seeded grpc {first_gateway.grpc_target}, this one targets" in elsewhere.stderr
        assert not other_gateway.bank.users, "a refused resume sent calls"

        resumed = await Cli.run(*args, "--resume", "--grpc-target", first_gateway.grpc_target, cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        ids = assert_exact_dump(dump, 30, kept)
        assert set(ids) <= set(first_gateway.bank.users)


async def test_a_damaged_middle_line_costs_only_its_user(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=30))
    journal, dump = tmp_path / "p_seeds.journal", tmp_path / "p_seeds.json"
    async with Stand(latency_ms=15) as stand:
        args = ("p.yaml", "--grpc-target", stand.grpc_target, "--dumps-dir", tmp_path, "--concurrency", "3")
        run = await Cli.start(*args, cwd=tmp_path)
        await wait_for_users(journal, 6, run)
        run.proc.send_signal(signal.SIGTERM)
        assert await run.finish(timeout=10) == 1
        lines = journal.read_bytes().splitlines(keepends=True)
        at = [number for number, line in enumerate(lines) if b',"user":' in line][2]  # users before and after it
        damaged = orjson.loads(lines[at])["index"]
        lines[at] = lines[at][:40] + b"\x00garbage\n"
        journal.write_bytes(b"".join(lines))
        kept = journal_users(journal)
        assert damaged not in kept and len(kept) >= 5

        resumed = await Cli.run(*args, "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        assert "warning:" in resumed.stderr and f"skipped 1 damaged line(s) ({at + 1})" in resumed.stderr
        # its user is completed from the parts journaled as it was made: the same user, nothing made twice
        assert sorted(stand.bank.users) == sorted(user.user_id for user in open_dump(dump, lazy=False).users)
        assert f"{len(kept)} users from the journal" in resumed.stdout
        assert_exact_dump(dump, 30, kept)


async def test_a_full_disk_while_writing_the_journal_and_the_dump_then_resume(tmp_path: Path) -> None:
    # Long purchase categories make the dump's meta (which holds the plan) ~7 kB: the dump is then ~12 kB,
    # larger than the journal (~9.5 kB with each user's parts), so one file size limit lets the journal
    # complete and stops the dump.
    categories = ", ".join(f"category-{n}-{'x' * 100}" for n in range(60))
    (tmp_path / "p.yaml").write_text(PLAN.format(count=8) + f"operations:\n  purchase_categories: [{categories}]\n")
    journal, dump = tmp_path / "p_seeds.journal", tmp_path / "p_seeds.json"
    async with Stand() as stand:
        args = ("p.yaml", "--grpc-target", stand.grpc_target, "--dumps-dir", tmp_path, "--concurrency", "2")

        journal_full = await Cli.run(*args, cwd=tmp_path, file_size_limit=3000)
        assert journal_full.proc.returncode == 1, journal_full.stderr
        assert len(journal_full.stderr.strip().splitlines()) == 1, journal_full.stderr
        assert "cannot write the journal: File too large" in journal_full.stderr
        assert "missing plan indices" in journal_full.stderr and "--resume" in journal_full.stderr
        kept = journal_users(journal)
        assert 0 < len(kept) < 8
        assert journal.read_bytes().endswith(b"\n"), "a failed append left half a line"

        dump_full = await Cli.run(*args, "--resume", cwd=tmp_path, file_size_limit=11000)
        assert dump_full.proc.returncode == 1, dump_full.stderr
        assert len(dump_full.stderr.strip().splitlines()) == 1, dump_full.stderr
        assert "cannot write the dump: File too large; all 8 users are safe in" in dump_full.stderr
        assert not dump.exists()
        assert len(journal_users(journal)) == 8
        assert not list(tmp_path.glob(".*tmp")), "a failed dump write left its temporary file"

        again = await Cli.run(*args, "--resume", cwd=tmp_path, file_size_limit=11000)  # still full: same answer
        assert again.proc.returncode == 1 and not list(tmp_path.glob(".*tmp"))

        resumed = await Cli.run(*args, "--resume", cwd=tmp_path)  # space is back
        assert resumed.proc.returncode == 0, resumed.stderr
        assert "8 users from the journal" in resumed.stdout
        ids = assert_exact_dump(dump, 8, kept)
        assert set(ids) <= set(stand.bank.users)
    assert not journal.exists() and not list(tmp_path.glob(".*tmp"))


async def test_temporary_files_of_dead_writers_are_tidied_by_the_next_run(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=2))
    dead = subprocess_pid_that_exited()
    stale = [tmp_path / f".p_seeds.json.{dead}.0a0b0c0d.tmp", tmp_path / f".p_seeds.journal.{dead}.1a2b3c4d.tmp"]
    live = tmp_path / f".p_seeds.json.{os.getpid()}.0a0b0c0d.tmp"  # a writer still running: left alone
    for path in (*stale, live):
        path.write_text("partial")
    async with Stand() as stand:
        run = await Cli.run("p.yaml", "--grpc-target", stand.grpc_target, "--dumps-dir", tmp_path, cwd=tmp_path)
    assert run.proc.returncode == 0, run.stderr
    assert not any(path.exists() for path in stale) and live.exists()


def subprocess_pid_that_exited() -> int:
    import subprocess

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)
