"""Files that are not what they seem, and values from outside, through the real CLI in a subprocess.

Each row lays out files (regular ones, FIFOs, directories, links to ``/dev/zero``) under a fresh
directory, runs one command and asserts its exit code, at most one line on stderr naming the
problem, no traceback, and a time bound: a FIFO read blocks forever and ``/dev/zero`` reads until
memory runs out, so a row that regresses hangs and fails on the bound.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
ONE_USER = "users: 1\n"
DUMP = '{"meta":{"scenario":"x","counts":{"users":1}},"users":[\n{"user_id":"u0","deposit_accounts":[]}\n]}\n'
FIFO, DIR, ZERO = "<fifo>", "<dir>", "</dev/zero>"


@dataclass(frozen=True)
class Row:
    id: str
    args: list[str]
    code: int
    says: str  # in stderr (the one line), or in stdout when ``out`` is set
    files: dict[str, str | bytes] = field(default_factory=dict)  # FIFO, DIR or ZERO make that kind of file
    env: dict[str, str] = field(default_factory=dict)
    out: bool = False
    seconds: float = 15.0


ROWS = [
    # plans
    Row("plan-dev-zero", ["/dev/zero"], 2, "/dev/zero: cannot read it as a plan: it is a character device"),
    Row("plan-fifo", ["p.yaml"], 2, "p.yaml: cannot read it as a plan: it is a FIFO", {"p.yaml": FIFO}),
    Row("plan-link-to-zero", ["p.yaml"], 2, "it is a character device", {"p.yaml": ZERO}),
    Row("plan-directory", ["p.yaml"], 2, "p.yaml: cannot read it as a plan: it is a directory", {"p.yaml": DIR}),
    Row("plan-5mb", ["p.yaml"], 2, "too large for a plan", {"p.yaml": b"#" * (5 << 20)}),
    Row("plan-in-plans-dir-fifo", ["p"], 2, "p: no such plan file", {"plans/p.yaml": FIFO}),
    Row("plan-json-fifo", ["p.json"], 2, "p.json: cannot read it as a plan: it is a FIFO", {"p.json": FIFO}),
    Row("plan-not-utf8", ["p.yaml"], 2, "p.yaml: cannot read the plan", {"p.yaml": b"users: \xff\xfe\n"}),
    Row(  # a profile of users with no accounts: the table of kinds had none to size (a traceback)
        "dry-run-profile-without-accounts",
        ["p.yaml", "--dry-run"],
        0,
        "10 calls in all",
        {"p.yaml": "users:\n  count: 10\n  profiles:\n    - {name: bare, share: 1}\n"},
        out=True,
    ),
    # flags that contradict each other: one of them was ignored without a word
    Row(
        "stand-and-an-address",
        ["p.yaml", "--stand", "embedded", "--http-url", "http://127.0.0.1:1"],
        2,
        "--http-url cannot be used with --stand embedded",
        {"p.yaml": ONE_USER},
    ),
    Row(
        "two-addresses-no-transport",
        ["p.yaml", "--grpc-target", "127.0.0.1:1", "--http-url", "http://127.0.0.1:1"],
        2,
        "--grpc-target and --http-url name two gateways: give --transport",
        {"p.yaml": ONE_USER},
    ),
    # settings
    Row("dotenv-fifo", ["p.yaml"], 2, ".env: cannot read it as a settings file: it is a FIFO", {".env": FIFO}),
    Row("dotenv-directory", ["p.yaml"], 2, ".env: cannot read it as a settings file: it is a directory", {".env": DIR}),
    Row("dotenv-not-utf8", ["p.yaml"], 2, ".env:2: not UTF-8", {".env": b"A=1\nSEEDING_TRANSPORT=\xff\n"}),
    # lines python-dotenv skipped with a warning (twice, naming no file): the setting meant there was lost
    Row("dotenv-garbage-line", ["p.yaml"], 2, ".env:2: not NAME=value", {".env": "A=1\ngarbage line\n"}),
    Row("dotenv-no-name", ["p.yaml"], 2, ".env:1: not NAME=value", {".env": "=novalue\n"}),
    Row("dotenv-open-quote", ["p.yaml"], 2, ".env:1: not NAME=value", {".env": 'SEEDING_RATE="5\n'}),
    Row("dotenv-dev-zero", ["p.yaml"], 2, ".env: cannot read it as a settings file: it is a character", {".env": ZERO}),
    # journals
    Row(
        "journal-fifo",
        ["p.yaml", "--stand", "embedded", "--dumps-dir", "d"],
        2,
        "d/p_seeds.journal: cannot read it as a journal: it is a FIFO",
        {"d/p_seeds.journal": FIFO},
    ),
    Row(
        "journal-directory",
        ["p.yaml", "--stand", "embedded", "--dumps-dir", "d"],
        2,
        "d/p_seeds.journal",
        {"d/p_seeds.journal": DIR},
    ),
    Row("list-journal-fifo", ["list", "--dumps-dir", "d"], 0, "it is a FIFO", {"d/p_seeds.journal": FIFO}, out=True),
    Row("list-dump-fifo", ["list", "--dumps-dir", "d"], 0, "it is a FIFO", {"d/x_seeds.json": FIFO}, out=True),
    Row("list-plan-fifo", ["list", "--plans-dir", "pl"], 0, "plans in pl/: none", {"pl/q.yaml": FIFO}, out=True),
    # dumps
    Row(
        "export-fifo",
        ["export", "x_seeds.json", "--format", "csv"],
        2,
        "x_seeds.json: cannot read it as a dump: it is a FIFO",
        {"x_seeds.json": FIFO},
    ),
    Row(
        "export-dev-zero",
        ["export", "/dev/zero", "--format", "csv"],
        2,
        "/dev/zero: cannot read it as a dump: it is a character",
    ),
    Row(
        "export-directory", ["export", "x_seeds.json", "--format", "csv"], 2, "it is a directory", {"x_seeds.json": DIR}
    ),
    Row(
        "verify-fifo",
        ["verify", "x_seeds.json"],
        2,
        "x_seeds.json: cannot read it as a dump: it is a FIFO",
        {"x_seeds.json": FIFO},
    ),
    Row(
        "export-index-fifo",
        ["export", "x_seeds.json", "--format", "jsonl"],
        0,
        "u0",
        {"x_seeds.json": DUMP, "x_seeds.json.idx": FIFO},
        out=True,
    ),
    # outputs never overwrite inputs
    Row(
        "export-onto-the-dump",
        ["export", "x_seeds.json", "--format", "csv", "-o", "x_seeds.json"],
        2,
        "-o x_seeds.json: is the dump being exported",
        {"x_seeds.json": DUMP},
    ),
    Row(
        "export-onto-the-dump-by-another-name",
        ["export", "x_seeds.json", "--format", "csv", "-o", "./d/../x_seeds.json"],
        2,
        "is the dump being exported",
        {"x_seeds.json": DUMP, "d/keep": ""},
    ),
    Row(
        "export-onto-the-index",
        ["export", "x_seeds.json", "--format", "jsonl", "-o", "x_seeds.json.idx"],
        2,
        "is that dump's index",
        {"x_seeds.json": DUMP},
    ),
    Row(
        "export-onto-a-hard-link",
        ["export", "x_seeds.json", "--format", "csv", "-o", "y.json"],
        2,
        "is the dump being exported",
        {"x_seeds.json": DUMP, "y.json": "<link x_seeds.json>"},
    ),
    Row(
        "export-into-a-directory",
        ["export", "x_seeds.json", "--format", "csv", "-o", "d"],
        2,
        "-o d: is a directory",
        {"x_seeds.json": DUMP, "d/keep": ""},
    ),
    # a device or pipe as output: the file written aside was renamed over it (as root, /dev/full became a file)
    Row(
        "export-onto-a-fifo",
        ["export", "x_seeds.json", "--format", "csv", "-o", "out.csv"],
        2,
        "-o out.csv: is not a regular file (a device, pipe or socket)",
        {"x_seeds.json": DUMP, "out.csv": FIFO},
    ),
    Row(
        "export-into-no-directory",
        ["export", "x_seeds.json", "--format", "csv", "-o", "nope/out.csv"],
        2,
        "-o nope/out.csv: no such directory nope",
        {"x_seeds.json": DUMP},
    ),
    Row(
        "export-to-dash",
        ["export", "x_seeds.json", "--format", "jsonl", "-o", "-"],
        0,
        "u0",
        {"x_seeds.json": DUMP},
        out=True,
    ),
    Row(
        "report-onto-a-fifo",
        ["p.yaml", "--stand", "embedded", "--dumps-dir", "d", "--report", "r.json"],
        2,
        "--report r.json: is not a regular file (a device, pipe or socket)",
        {"p.yaml": ONE_USER, "r.json": FIFO},
    ),
    Row(
        "merge-shard-fifo",
        ["merge", "x", "--dumps-dir", "d"],
        2,
        "x_seeds.shard-1-of-2.json: cannot read it as a dump: it is a FIFO",
        {"d/x_seeds.shard-1-of-2.json": FIFO},
    ),
]


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) >= 20
    assert len({row.id for row in ROWS}) == len(ROWS)


def lay_out(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    (tmp_path / "p.yaml").write_text(ONE_USER)
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        if content == FIFO:
            os.mkfifo(path)
        elif content == DIR:
            path.mkdir()
        elif content == ZERO:
            path.symlink_to("/dev/zero")
        elif isinstance(content, str) and content.startswith("<link "):
            os.link(tmp_path / content[6:-1], path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    extra = ["--no-progress"] if args[:1] not in (["verify"], ["list"], ["export"], ["merge"]) else []
    result = subprocess.run(
        [sys.executable, "-m", "seeding", *args, *extra],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result, time.monotonic() - started


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_hostile(row: Row, tmp_path: Path) -> None:
    lay_out(tmp_path, row.files)
    result, seconds = run(row.args, tmp_path, row.env, row.seconds + 30)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 1, result.stderr
    assert result.returncode == row.code, result.stderr
    assert row.says in (result.stdout if row.out else result.stderr), (result.stdout, result.stderr)
    assert seconds < row.seconds, f"took {seconds:.1f} s"
    for name, content in row.files.items():  # inputs are never overwritten
        if isinstance(content, str) and content.startswith('{"meta"'):
            assert (tmp_path / name).read_text() == content, name
