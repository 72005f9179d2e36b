"""``python -m seeding merge``: shards joined in plan order; every bad input refused naming it, nothing written.

The shards here are written the way ``--shard I/N`` writes them (``DumpWriter``, a shard ``meta``),
so each case can break exactly one thing; ``test_shards.py`` merges shards seeded for real.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from seeding import open_dump
from seeding.cli._merge import main as merge_main
from seeding.dumps._files import write_dump
from seeding.engine._plan_lock import PlanLock
from seeding.engine._shards import Shard

PROJECT = Path(__file__).resolve().parents[2]
USERS, SHARDS = 10, 3


def write_shard(directory: Path, index: int, count: int = SHARDS, **changes: object) -> Path:
    """Shard ``index`` of a 10-user plan, users ``u<plan index>``; ``changes`` override its meta."""
    shard = Shard(index, count)
    span = shard.indices(USERS)
    meta: dict[str, object] = {
        "scenario": "s",
        "plan_hash": "aaaa000011112222",
        "transport": "grpc",
        "target": "127.0.0.1:1",
        "seed": 7,
        "counts": {"users": len(span), "accounts": 2 * len(span), "cards": 0, "operations": 0},
        "shard": shard.meta(USERS),
        "calls": 3 * len(span),
        **changes,
    }
    path = shard.dump_path(directory / "s_seeds.json")
    users = ({"user_id": f"u{i}", "deposit_accounts": [{"account_id": f"a{i}"}]} for i in span)
    return write_dump(path, meta, users)


def merge(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seeding", "merge", *args],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def shards(tmp_path: Path) -> Path:
    for index in range(1, SHARDS + 1):
        write_shard(tmp_path, index)
    return tmp_path


def test_merge_joins_the_shards_in_plan_order(shards: Path) -> None:
    done = merge(shards, "s", "--dumps-dir", str(shards))
    assert done.returncode == 0, done.stderr
    assert "merged 3 shards, 10 users" in done.stdout
    merged = open_dump(shards / "s_seeds.json")
    assert [user.user_id for user in merged.users] == [f"u{i}" for i in range(USERS)]
    meta = merged.users.meta  # type: ignore[attr-defined]
    assert meta["plan_hash"] == "aaaa000011112222" and meta["seed"] == 7 and "shard" not in meta
    assert meta["counts"] == {"users": 10, "accounts": 20, "cards": 0, "operations": 0}
    assert meta["calls"] == 30 and meta["merged_from"]["shards"] == 3
    assert all(path.exists() for path in shards.glob("s_seeds.shard-*-of-3.json")), "the shards stay"


def test_merge_reads_the_dumps_dir_setting(shards: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(shards.parent)
    monkeypatch.setenv("SEEDING_DUMPS_DIR", str(shards))
    assert merge_main(["s"]) == 0
    assert (shards / "s_seeds.json").exists()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])


def _corrupt_middle_user(path: Path) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[2] = b'{"user_id":"u4","deposit_accounts":[{"account_id":}]},'  # shard 2's second user, no longer JSON
    path.write_bytes(b"\n".join(lines))


_UNDO: list[Callable[[], object]] = []


def _unwritable(directory: Path) -> None:
    """A directory that refuses the merged dump, for any user: read-only, or (root writes anywhere) a full disk."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        return
    # "Disk full" for root: writes past RLIMIT_FSIZE fail with EFBIG (SIGXFSZ ignored); undone after the merge.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, hard))
    _UNDO.append(
        lambda: (resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard)), signal.signal(signal.SIGXFSZ, handler))
    )


Breakage = Callable[[Path], object]
CASES: dict[str, tuple[Breakage, list[str], str]] = {
    "missing shard": (lambda d: (d / "s_seeds.shard-2-of-3.json").unlink(), ["shard-2-of-3.json", "missing"], ""),
    "shard of another plan": (
        lambda d: write_shard(d, 3, plan_hash="bbbb000011112222"),
        ["s_seeds.shard-3-of-3.json", "another run", "bbbb000011112222"],
        "",
    ),
    "shard of another seed": (lambda d: write_shard(d, 1, seed=8), ["shard-1-of-3.json", "seed 8"], ""),
    "shard of another plan size": (
        lambda d: write_shard(d, 2, shard={**Shard(2, 3).meta(USERS), "users": 11}),
        ["shard-2-of-3.json", "11 users"],
        "",
    ),
    "N mismatch": (lambda d: write_shard(d, 1, count=2), ["shard-1-of-2.json", "two splits"], ""),
    "duplicate index": (
        lambda d: write_shard(d, 2, shard={**Shard(2, 3).meta(USERS), "start": 2}),
        ["shard-2-of-3.json", "there twice"],
        "",
    ),
    "shard under another's name": (
        lambda d: (d / "s_seeds.shard-1-of-3.json").write_bytes((d / "s_seeds.shard-2-of-3.json").read_bytes()),
        ["shard-1-of-3.json", "holds shard 2/3"],
        "",
    ),
    "damaged (truncated) shard": (
        lambda d: _truncate(d / "s_seeds.shard-3-of-3.json"),
        ["shard 3/3 is damaged", "shard-3-of-3.json"],
        "",
    ),
    "corrupt user inside a shard": (
        lambda d: _corrupt_middle_user(d / "s_seeds.shard-2-of-3.json"),
        ["shard-2-of-3.json", "user #1 (plan index 4) is corrupt"],
        "",
    ),
    "unfinished shard (journal left)": (
        lambda d: (d / "s_seeds.shard-2-of-3.journal").write_text('{"journal":1}\n'),
        ["s_seeds.shard-2-of-3.journal", "unfinished", "--shard 2/3 --resume"],
        "",
    ),
    "an unsharded dump under a shard's name": (
        lambda d: write_dump(d / "s_seeds.shard-3-of-3.json", {"scenario": "s"}, [{"user_id": "x"}]),
        ["shard-3-of-3.json", "records no shard"],
        "",
    ),
    "no shards at all": (
        lambda d: [path.unlink() for path in d.glob("s_seeds.shard-*")],
        ["no shards of s"],
        "",
    ),
    "no such dumps dir": (lambda d: None, ["nowhere", "no such dumps directory"], "nowhere"),
    "a path for the scenario": (lambda d: None, ["scenario name"], "../s"),
    "output not writable": (_unwritable, ["s_seeds.json: cannot write the merged dump"], ""),
    "output is a directory": (lambda d: (d / "s_seeds.json").mkdir(), ["s_seeds.json: is a directory"], ""),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_merges_are_refused_naming_the_shard(
    shards: Path, case: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    breakage, says, other = CASES[case]
    breakage(shards)
    args = ["s", "--dumps-dir", str(shards / other if other == "nowhere" else shards)]
    if other == "../s":
        args[0] = other
    monkeypatch.chdir(shards)
    try:
        code = merge_main(args)  # in this process: the table stays fast; the CLI entry is tested above
    finally:
        while _UNDO:
            _UNDO.pop()()
        shards.chmod(0o755)
    stderr = capsys.readouterr().err
    assert code == (1 if case == "output not writable" else 2), stderr  # 1: could not write, merge again
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m seeding merge: error: "), stderr
    for part in says:
        assert part in lines[0]
    assert not (shards / "s_seeds.json").is_file(), "nothing is written when the shards are refused"
    assert not [p for p in shards.glob(".s_seeds.json.*") if p.suffix != ".lock"], "no temporary file left"


def test_a_corrupt_user_never_reaches_a_merged_dump_even_past_the_first_shard(shards: Path) -> None:
    _corrupt_middle_user(shards / "s_seeds.shard-3-of-3.json")
    assert merge_main(["s", "--dumps-dir", str(shards)]) == 2
    assert not (shards / "s_seeds.json").exists()
    meta_line = (shards / "s_seeds.shard-1-of-3.json").read_bytes().split(b"\n", 1)[0]
    assert orjson.loads(meta_line.removesuffix(b',"users":[') + b"}")["meta"]["seed"] == 7  # shards untouched


def test_list_shows_the_shards_and_the_missing_ones(shards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seeding.cli._listing import main as list_main

    (shards / "s_seeds.shard-2-of-3.json").unlink()
    header = {"journal": 1, "scenario": "s", "users": 10, "shard": "2/3", "started_at": "2026-01-01T00:00:00+00:00"}
    (shards / "s_seeds.shard-2-of-3.journal").write_bytes(orjson.dumps(header) + b"\n")
    assert list_main(["--dumps-dir", str(shards), "--plans-dir", str(shards / "no-plans")]) == 0
    out = capsys.readouterr().out
    assert "s  2 of 3 shards, missing 2/3" in out
    assert "s shard 2/3  0 of 3 users" in out  # the shard's share of the plan's 10: [3, 6)


def test_a_merge_while_a_run_of_the_plan_lives_is_refused_naming_it(shards: Path) -> None:
    holder = PlanLock.take(shards / "s_seeds.json")  # what a live run of the plan holds
    try:
        refused = merge(shards, "s", "--dumps-dir", str(shards))
    finally:
        holder.release()
    assert refused.returncode == 2, refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert f"another run of this plan (pid {os.getpid()}) is running right now" in line, line
    assert not (shards / "s_seeds.json").exists()
    done = merge(shards, "s", "--dumps-dir", str(shards))  # once it ended
    assert done.returncode == 0, done.stderr
