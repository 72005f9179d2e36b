"""Bad ``--shard``, ``--shards``, ``--processes`` and shard settings: one line, exit 2, nothing sent.

The gateway address is a port nothing listens on: a run that got as far as its pre-flight would
exit 1, so exit 2 proves it was refused before any call. The table runs ``main`` in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seeding.cli._main import main

PROJECT = Path(__file__).resolve().parents[2]
PLAN = "scenario: s\nusers:\n  count: 4\n  debit_card_accounts: {count: 1}\n"

CASES: dict[str, tuple[list[str], dict[str, str], list[str]]] = {
    "shard 0": (["--shard=0/3"], {}, ["--shard", "within 1-3 (1-based)"]),
    "shard past N": (["--shard=4/3"], {}, ["--shard", "4/3"]),
    "shard of 0": (["--shard=1/0"], {}, ["--shard", "count must be within"]),
    "shard not I/N": (["--shard=2"], {}, ["--shard", "is not I/N"]),
    "shard count too large": (["--shard=1/100000"], {}, ["--shard"]),
    "shards not a number": (["--shards=x"], {}, ["--shards", "not a whole number"]),
    "shards 0": (["--shards=0"], {}, ["--shards", "within 1-"]),
    "processes 0": (["--processes=0"], {}, ["--processes", "within 1-256"]),
    "processes not a number": (["--processes=two"], {}, ["--processes", "not a whole number"]),
    "processes too many": (["--processes=1000"], {}, ["--processes", "within 1-256"]),
    "processes and shard": (["--processes=2", "--shard=1/2"], {}, ["cannot be combined with --shard"]),
    "processes and SEEDING_SHARD": (["--processes=2"], {"SEEDING_SHARD": "1/2"}, ["SEEDING_SHARD"]),
    "processes with two plans": (["--processes=2", "q.yaml"], {}, ["one plan at a time, got 2"]),
    "processes on the embedded stand": (["--processes=2", "--stand=embedded"], {}, ["--stand embedded"]),
    "SEEDING_SHARD malformed": ([], {"SEEDING_SHARD": "three"}, ["SEEDING_SHARD", "is not I/N"]),
    "SEEDING_SHARD past N": ([], {"SEEDING_SHARD": "5/4"}, ["SEEDING_SHARD", "within 1-4"]),
    "SEEDING_SHARDS 0": ([], {"SEEDING_SHARDS": "0"}, ["SEEDING_SHARDS"]),
    "JOB_COMPLETION_INDEX out of range": (
        ["--shards=3"],
        {"JOB_COMPLETION_INDEX": "3"},
        ["JOB_COMPLETION_INDEX=3 is out of range for 3 shards"],
    ),
    "JOB_COMPLETION_INDEX not a number": (
        [],
        {"JOB_COMPLETION_INDEX": "x", "SEEDING_SHARDS": "3"},
        ["JOB_COMPLETION_INDEX: 'x'"],
    ),
    "JOB_COMPLETION_INDEX superscript two": (
        [],
        {"JOB_COMPLETION_INDEX": "²", "SEEDING_SHARDS": "3"},
        ["JOB_COMPLETION_INDEX: '²' is not a whole number"],
    ),
    "JOB_COMPLETION_INDEX arabic-indic digit": (
        ["--shards=3"],
        {"JOB_COMPLETION_INDEX": "٣"},
        ["JOB_COMPLETION_INDEX: '٣' is not a whole number"],
    ),
    "JOB_COMPLETION_INDEX 40 digits": (
        ["--shards=3"],
        {"JOB_COMPLETION_INDEX": "9" * 40},
        ["JOB_COMPLETION_INDEX: '999"],
    ),
    "unfinished shard without --resume": (
        ["--processes=2"],
        {},
        ["s_seeds.shard-2-of-2.journal", "pass --resume"],
    ),
    "resume a shard of another plan": (
        ["--processes=2", "--resume"],
        {},
        ["s_seeds.shard-2-of-2.journal", "another plan"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_shard_options_are_one_line_and_exit_2(
    tmp_path: Path,
    free_port: int,
    case: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args, env, says = CASES[case]
    (tmp_path / "p.yaml").write_text(PLAN)
    (tmp_path / "q.yaml").write_text(PLAN.replace("scenario: s", "scenario: q"))
    if "unfinished" in case or "another plan" in case:
        (tmp_path / "s_seeds.shard-2-of-2.journal").write_text('{"journal":1,"plan_hash":"0000","seed":1}\n')
    monkeypatch.chdir(tmp_path)  # no .env of ours
    for name in [name for name in os.environ if name.upper().startswith(("SEEDING", "JOB_COMPLETION"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    argv = [
        "p.yaml",
        *sorted(args, key=lambda arg: arg.startswith("-")),  # plans first
        f"--grpc-target=127.0.0.1:{free_port}",
        f"--dumps-dir={tmp_path}",
        "--no-progress",
    ]
    try:
        code = main(argv)  # in this process: the table stays fast (argparse's refusals exit)
    except SystemExit as exc:
        code = exc.code
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m seeding: error: "), stderr
    for part in says:
        assert part in lines[0], lines[0]
    assert not list(tmp_path.glob("*.json")), "nothing was seeded"


def test_the_command_line_refuses_a_bad_shard_the_same_way(tmp_path: Path) -> None:
    """One case through ``python -m seeding`` itself: the exit status and the line are the process's."""
    (tmp_path / "p.yaml").write_text(PLAN)
    done = subprocess.run(
        [sys.executable, "-m", "seeding", "p.yaml", "--shard=4/3", f"--dumps-dir={tmp_path}"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("python -m seeding: error: argument --shard: shard 4/3")
    assert done.stderr.count("\n") == 1
