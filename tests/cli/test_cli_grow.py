"""Growing, reusing and replacing a dump through the real CLI, against an in-process stand over real sockets.

Each run is a ``python -m seeding`` subprocess; the stand in this process counts the calls it serves
(``stand.faults.calls``) and holds the users it created (``stand.bank.users``), so "10 users seeded"
and "no call" are what the gateway saw, not what the command says.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import orjson
import pytest

from seeding import open_dump, read_meta
from seeding.stand import Stand

PROJECT = Path(__file__).resolve().parents[2]
PLAN = "users:\n  count: {count}\n  debit_card_accounts:\n    count: 1\n    top_up_operations: {ops}\n"
CALLS_PER_USER = 4  # the user, its account, two top-ups


class Cli:
    """One ``python -m seeding`` subprocess, driven from the event loop that serves the stand."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stdout = self.stderr = ""

    @classmethod
    async def start(cls, *args: object, cwd: Path) -> Cli:
        quiet = [] if str(args[0]) in ("list", "merge", "verify") else ["--no-progress"]
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "seeding", *map(str, args), *quiet],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(PROJECT), "PYTHONDONTWRITEBYTECODE": "1"},
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
    async def run(cls, *args: object, cwd: Path) -> Cli:
        cli = await cls.start(*args, cwd=cwd)
        await cli.finish()
        return cli


def gateway(stand: Stand, transport: str) -> list[str]:
    flag = "--grpc-target" if transport == "grpc" else "--http-url"
    return ["--transport", transport, flag, stand.target(transport)]  # type: ignore[arg-type]


def calls(stand: Stand) -> int:
    return sum(stand.faults.calls.values())


def user_lines(dump: Path) -> list[bytes]:
    """The dump's users as the bytes on their lines (the writer puts one user on each)."""
    return [line.rstrip(b",") for line in dump.read_bytes().splitlines() if line.startswith(b'{"user_id":')]


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_grow_then_reuse_then_a_shape_change_keeps_the_previous_dump(tmp_path: Path, transport: str) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=20, ops=2))
    dump = tmp_path / "dumps" / "p_seeds.json"
    async with Stand() as stand:
        run = ["p.yaml", *gateway(stand, transport)]
        first = await Cli.run(*run, cwd=tmp_path)
        assert first.proc.returncode == 0, first.stderr
        before, seeded_first = user_lines(dump), calls(stand)
        assert len(before) == 20 and len(stand.bank.users) == 20

        grown = await Cli.run(*run, "--users", "30", cwd=tmp_path)
        assert grown.proc.returncode == 0, grown.stderr
        assert "reused 20, seeded 10" in grown.stdout, grown.stdout
        after = user_lines(dump)
        assert len(after) == 30 and after[:20] == before, "the first 20 users are not the old ones, byte for byte"
        assert len(stand.bank.users) == 30, "the stand holds more than the 10 new users"
        added = calls(stand) - seeded_first
        assert 10 * CALLS_PER_USER <= added <= 10 * CALLS_PER_USER + 3, added  # + the pre-flight call
        ids = [user.user_id for user in open_dump(dump).users]
        assert len(set(ids)) == 30 and set(ids) == set(stand.bank.users)
        meta = read_meta(dump)
        assert meta is not None and meta["counts"]["users"] == 30 and meta["grown_from"] == 20
        assert meta["seed"] == read_meta(dump)["seed"]

        grown_bytes, quiet = dump.read_bytes(), calls(stand)
        for smaller in ("10", "30"):  # a count may shrink and grow again: no call while the dump holds enough
            reused = await Cli.run(*run, "--users", smaller, cwd=tmp_path)
            assert reused.proc.returncode == 0, reused.stderr
            assert "reused 30, seeded 0" in reused.stdout and "no call" in reused.stdout, reused.stdout
        assert calls(stand) == quiet, "a dump holding enough users was seeded again"
        assert dump.read_bytes() == grown_bytes

        (tmp_path / "p.yaml").write_text(PLAN.format(count=5, ops=1))  # another shape
        changed = await Cli.run(*run, cwd=tmp_path)
        assert changed.proc.returncode == 0, changed.stderr
        kept = tmp_path / "dumps" / "p_seeds.previous.json"
        assert f"kept as dumps/{kept.name}: shape changed" in changed.stdout, changed.stdout
        assert kept.read_bytes() == grown_bytes, "the replaced dump was not kept as it was"
        assert len(open_dump(dump).users) == 5 and len(open_dump(kept).users) == 30

        listed = await Cli.run("list", cwd=tmp_path)
        (tmp_path / "p.yaml").write_text(PLAN.format(count=8, ops=1))
        wants_more = await Cli.run("list", cwd=tmp_path)
        (tmp_path / "p.yaml").write_text(PLAN.format(count=8, ops=3))
        other_shape = await Cli.run("list", cwd=tmp_path)
    assert "plan changed" not in listed.stdout + wants_more.stdout + other_shape.stdout
    assert "no plan of that name" in listed.stdout  # p.yaml is not in plans/: list reads plans/ only
    for out in (wants_more.stdout, other_shape.stdout):
        assert "shape changed" not in out and "plan wants" not in out  # no plans dir: nothing is claimed


async def test_list_says_what_is_true_of_each_dump(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "p.yaml").write_text(PLAN.format(count=4, ops=1))
    async with Stand() as stand:
        seeded = await Cli.run("p", *gateway(stand, "grpc"), cwd=tmp_path)
        assert seeded.proc.returncode == 0, seeded.stderr
    lines = {}
    for count, ops in ((4, 1), (9, 1), (2, 1), (4, 2)):
        (plans / "p.yaml").write_text(PLAN.format(count=count, ops=ops))
        listed = await Cli.run("list", cwd=tmp_path)
        lines[count, ops] = next(line for line in listed.stdout.splitlines() if "p_seeds.json" in line)
    assert "plan unchanged" in lines[4, 1]
    assert "4 users, plan wants 9" in lines[9, 1] and "shape" not in lines[9, 1]
    assert "4 users, plan wants 2" in lines[2, 1]
    assert "shape changed" in lines[4, 2] and "plan wants" not in lines[4, 2]
    assert not any("plan changed" in line for line in lines.values())


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_growth_under_processes_and_through_shards_and_merge(tmp_path: Path, transport: str) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=10, ops=2))
    dump = tmp_path / "dumps" / "p_seeds.json"
    async with Stand() as stand:
        run = ["p.yaml", *gateway(stand, transport)]
        assert (await Cli.run(*run, "--processes", "2", cwd=tmp_path)).proc.returncode == 0
        first = user_lines(dump)

        grown = await Cli.run(*run, "--processes", "2", "--users", "16", cwd=tmp_path)
        assert grown.proc.returncode == 0, grown.stderr
        assert "reused 10, seeded 6" in grown.stdout, grown.stdout
        second = user_lines(dump)
        assert len(second) == 16 and second[:10] == first and len(stand.bank.users) == 16

        quiet = calls(stand)
        reused = await Cli.run(*run, "--processes", "2", "--users", "12", cwd=tmp_path)
        assert reused.proc.returncode == 0 and "reused 16, seeded 0" in reused.stdout, reused.stdout + reused.stderr
        assert calls(stand) == quiet

        for shard in ("1/2", "2/2"):
            part = await Cli.run(*run, "--users", "21", "--shard", shard, cwd=tmp_path)
            assert part.proc.returncode == 0, part.stderr
        merged = await Cli.run("merge", "p", cwd=tmp_path)
        assert merged.proc.returncode == 0, merged.stderr
        assert "reused 16, seeded 5" in merged.stdout, merged.stdout
        third = user_lines(dump)
        assert len(third) == 21 and third[:16] == second and len(stand.bank.users) == 21
        assert {user.user_id for user in open_dump(dump).users} == set(stand.bank.users)


async def wait_for_journal(path: Path, users: int, cli: Cli, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not path.exists() or path.read_bytes().count(b',"user":') < users:  # complete users, not parts
        assert cli.proc.returncode is None, f"the run ended early ({cli.proc.returncode})"
        assert loop.time() < deadline, "the run made no progress"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_an_interrupted_growth_prints_its_command_and_resume_alone_finishes_it(
    tmp_path: Path, transport: str
) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=10, ops=2))
    dump, journal = tmp_path / "dumps" / "p_seeds.json", tmp_path / "dumps" / "p_seeds.journal"
    async with Stand(latency_ms=20) as stand:
        first = await Cli.run("p.yaml", *gateway(stand, transport), cwd=tmp_path)
        assert first.proc.returncode == 0, first.stderr
        before = user_lines(dump)
        growing = await Cli.start(
            "p.yaml", *gateway(stand, transport), "--users", "40", "--concurrency", "2", cwd=tmp_path
        )
        await wait_for_journal(journal, 2, growing)
        growing.proc.send_signal(signal.SIGINT)
        assert await growing.finish() == 1
        line = growing.stderr.strip().splitlines()[-1]
        assert "interrupted" in line and "finish with: python -m seeding p.yaml" in line, growing.stderr
        assert "--users 40" in line and line.endswith("--no-progress --resume"), line
        assert user_lines(dump) == before, "an interrupted growth touched the dump"

        other = await Cli.run("p.yaml", "--resume", "--users", "30", cwd=tmp_path)
        assert other.proc.returncode == 2, other.stderr
        done = journal.read_bytes().count(b',"user":')
        assert f"--users 40 was given before; pass it again, or --restart to discard its {done} users" in other.stderr

        resumed = await Cli.run("p.yaml", "--resume", cwd=tmp_path)  # no --users, no gateway: the journal's
        assert resumed.proc.returncode == 0, resumed.stderr
        assert "reused 10, seeded 30" in resumed.stdout, resumed.stdout
    after = user_lines(dump)
    assert len(after) == 40 and after[:10] == before and not journal.exists()
    ids = {user.user_id for user in open_dump(dump).users}
    assert len(ids) == 40 and ids <= set(stand.bank.users)
    # Users in flight when the signal came were cut mid-tree and stay on the stand unused: 2 calls in flight at most.
    assert len(stand.bank.users) - 40 <= 2, "users the journal held were seeded again"


def _journal(tmp_path: Path, **header: object) -> None:
    from seeding import load_plan

    plan = load_plan(tmp_path / "p.yaml")
    fields = {
        "journal": 1,
        "scenario": "p",
        "plan_hash": plan.hash,
        "shape_hash": plan.shape_hash,
        "transport": "grpc",
        "target": "127.0.0.1:1",
        "seed": 1,
        "users": 30,
        **header,
    }
    path = tmp_path / "dumps" / "p_seeds.journal"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(orjson.dumps(fields) + b'\n{"index":0,"user":{"user_id":"u0"}}\n')


def _dump(tmp_path: Path, **meta: object) -> None:
    from seeding import load_plan, write_dump

    plan = load_plan(tmp_path / "p.yaml")
    fields = {"scenario": "p", "shape_hash": plan.shape_hash, "seed": 1, "transport": "grpc", "target": "127.0.0.1:1"}
    users = [{"user_id": f"u{i}", "debit_card_accounts": []} for i in range(3)]
    write_dump(tmp_path / "dumps" / "p_seeds.json", {**fields, "counts": {"users": 3}, **meta}, users)


BAD = [
    # (case, how the dumps dir is spoiled, extra flags, words of the one line)
    (
        "dump's users do not match its meta",
        lambda t: _dump(t, counts={"users": 5}),
        [],
        ["promises 5 users", "--reseed"],
    ),
    ("journal of another shape", lambda t: _journal(t, shape_hash="0" * 16), ["--resume"], ["another shape"]),
    ("--resume with other --users", lambda t: _journal(t), ["--resume", "--users", "20"], ["--users 30 was given"]),
    ("--resume with other --seed", lambda t: _journal(t), ["--resume", "--seed", "2"], ["seed 1", "--seed 1"]),
    (
        "growing across transports",
        lambda t: _dump(t),
        ["--transport", "http", "--http-url", "http://127.0.0.1:1"],
        ["seeded over grpc at 127.0.0.1:1", "over http at http://127.0.0.1:1", "--reseed"],
    ),
    ("growing across targets", lambda t: _dump(t), ["--grpc-target", "127.0.0.2:1"], ["127.0.0.2:1", "127.0.0.1:1"]),
    (  # it replaced the gateway's dump, and a second such run lost it
        "an embedded run on a gateway's dump",
        lambda t: _dump(t),
        ["--stand", "embedded"],
        ["seeded over grpc at 127.0.0.1:1", "a fresh embedded stand", "--reseed", "p_seeds.previous.json"],
    ),
]


@pytest.mark.parametrize(("case", "spoil", "flags", "words"), BAD, ids=[row[0] for row in BAD])
async def test_bad_inputs_are_one_line_and_touch_nothing(tmp_path, case, spoil, flags, words) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=6, ops=2))
    spoil(tmp_path)
    before = _files(tmp_path / "dumps")
    where = [] if "--stand" in flags else ["--grpc-target", "127.0.0.1:1"]  # the stand has an address of its own
    run = await Cli.run("p.yaml", *where, *flags, cwd=tmp_path)
    assert run.proc.returncode == 2, (case, run.stdout, run.stderr)
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    for word in words:
        assert word in run.stderr, (case, run.stderr)
    assert _files(tmp_path / "dumps") == before


def _files(directory: Path) -> dict[str, bytes]:
    """The dumps directory's files and their bytes (the plan's lock file, empty and hidden, aside)."""
    return {path.name: path.read_bytes() for path in directory.iterdir() if not path.name.endswith(".lock")}


async def test_an_explicit_other_seed_is_another_shape_and_keeps_the_old_dump(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=4, ops=2))
    async with Stand() as stand:
        assert (await Cli.run("p.yaml", *gateway(stand, "grpc"), "--seed", "1", cwd=tmp_path)).proc.returncode == 0
        old = (tmp_path / "dumps" / "p_seeds.json").read_bytes()
        other = await Cli.run("p.yaml", *gateway(stand, "grpc"), "--seed", "2", "--users", "6", cwd=tmp_path)
        assert other.proc.returncode == 0, other.stderr
        assert "seed changed (the dump's 1, this run's 2)" in other.stdout, other.stdout
        assert len(stand.bank.users) == 4 + 6, "a run of another seed grew the dump instead of seeding anew"
    assert (tmp_path / "dumps" / "p_seeds.previous.json").read_bytes() == old
