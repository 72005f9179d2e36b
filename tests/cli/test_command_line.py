"""The command line's papercuts, each as a user meets it: in a subprocess, through pipes, a console script, bash.

A closed pipe ends quietly with 0; a dump is named by its scenario everywhere; a misspelt plan or
dump gets "did you mean"; ``seeding stand`` beside ``serve``; ``--help`` names the program as it
was invoked; ``seeding completion bash`` completes in a real bash; ``verify`` says what it counts.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from seeding import read_meta
from seeding.stand import StandProcess

PROJECT = Path(__file__).resolve().parents[2]
PLAN_11_2 = PROJECT / "plans" / "scenario-11-2.yaml"
SMALL = "users:\n  count: 3\n  debit_card_accounts: {count: 1, top_up_operations: 1}\n"
SUBCOMMANDS = ["verify", "list", "export", "merge", "serve", "stand", "completion"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT)}


def cli(*args: str | Path, cwd: Path, stdout: int | None = subprocess.PIPE, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "seeding", *map(str, args)],
        cwd=cwd,
        env=_env(),
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )


def console_script(tmp_path: Path) -> Path:
    """What ``pip install`` writes for ``[project.scripts] seeding``: a file named ``seeding`` calling main."""
    script = tmp_path / "bin" / "seeding"
    script.parent.mkdir(exist_ok=True)
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom seeding.cli._main import main\nif __name__ == '__main__':\n"
        "    sys.exit(main())\n"
    )
    script.chmod(0o755)
    return script


def _project(tmp_path: Path) -> Path:
    """A project directory: the shipped plans, a small one, and a seeded dump of it (embedded stand)."""
    shutil.copytree(PROJECT / "plans", tmp_path / "plans")
    (tmp_path / "plans" / "small.yaml").write_text(SMALL)
    done = cli("small", "--stand", "embedded", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project for the tests that only read it (seeding it costs a second each time)."""
    return _project(tmp_path_factory.mktemp("project"))


# --- a reader that stops reading --------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["list"],
        ["export", "small", "--format", "csv"],
        ["export", "dumps/small_seeds.json", "--format", "jsonl"],
        ["export", "small", "--format", "csv", "--fields", "list"],
        ["small", "--dry-run"],
        ["verify", "--help"],
        ["serve", "--help"],
        ["stand", "--help"],
        ["completion", "bash"],
    ],
    ids=lambda args: "-".join(a.strip("-").replace("/", "_") for a in args),
)
def test_a_closed_pipe_ends_quietly_with_0(workdir: Path, args: list[str]) -> None:
    # `… | head -1` at its worst: the reader is gone before the first byte, so every write fails (EPIPE)
    read, write = os.pipe()
    os.close(read)
    try:
        done = cli(*args, cwd=workdir, stdout=write)
    finally:
        os.close(write)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no traceback, no "error: None: Broken pipe", no "Exception ignored"


def test_head_reads_its_line_and_the_pipeline_succeeds(workdir: Path) -> None:
    for command in ("list", "export small --format csv"):
        done = subprocess.run(
            f"set -o pipefail; {sys.executable} -m seeding {command} | head -1",
            shell=True,
            executable="/bin/bash",
            cwd=workdir,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0 and done.stderr == "", done.stderr
        assert len(done.stdout.splitlines()) == 1


# --- names: a bare scenario for a dump, "did you mean" for plans and dumps --------------------------


def test_every_command_that_takes_a_dump_takes_its_scenario_name(tmp_path: Path) -> None:
    workdir = _project(tmp_path)
    with StandProcess() as stand:
        seeded = cli("small", "--grpc-target", stand.grpc_target, "--restart", "--no-progress", cwd=workdir)
        assert seeded.returncode == 0, seeded.stderr
        verified = cli("verify", "small", "--sample", "0", cwd=workdir)
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.splitlines()[-1].startswith("dumps/small_seeds.json: sampled 3 of 3 users")
        assert f"over grpc at {stand.grpc_target}: 0 stale" in verified.stdout
    exported = cli("export", "small", "--format", "csv", cwd=workdir)
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == 4
    moved = workdir / "elsewhere"
    (workdir / "dumps").rename(moved)
    elsewhere = cli("export", "small", "--format", "jsonl", "--dumps-dir", moved, cwd=workdir)
    assert elsewhere.returncode == 0 and len(elsewhere.stdout.splitlines()) == 3
    assert read_meta(moved / "small_seeds.json") is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["get-operation", "--dry-run"],
            "get-operation: no such plan file (nor plans/get-operation.yaml); "
            "did you mean 'get-operations' or 'make-purchase-operation'?",
        ),
        (["smal", "--dry-run"], "smal: no such plan file (nor plans/smal.yaml); did you mean 'small'?"),
        (["plans/smal.yaml", "--dry-run"], "plans/smal.yaml: no such plan file; did you mean 'plans/small.yaml'?"),
        (["zzz", "--dry-run"], "zzz: no such plan file (nor plans/zzz.yaml)"),
        (["verify", "smal"], "smal: no such dump (nor dumps/smal_seeds.json); did you mean 'small'?"),
        (["verify", "zzz"], "zzz: no such dump (nor dumps/zzz_seeds.json)"),
        (["verify", "small", "--dumps-dir", "nowhere"], "small: no such dump (nor nowhere/small_seeds.json)"),
        (
            ["export", "smal", "--format", "csv"],
            "smal: no such dump (nor dumps/smal_seeds.json); did you mean 'small'?",
        ),
        (["verify", "dumps/nope_seeds.json"], "dumps/nope_seeds.json: no such dump"),
        (["verify"], "the following arguments are required: DUMP"),
        (["verify", "small", "--dumps-dir"], "argument --dumps-dir: expected one argument"),
        (["completion"], "the following arguments are required: shell"),
        (["completion", "fish"], "argument shell: invalid choice: 'fish'"),
        (["stand", "--http-port", "x"], "argument --http-port"),
    ],
)
def test_bad_names_get_one_line_and_a_suggestion(workdir: Path, args: list[str], message: str) -> None:
    done = cli(*args, cwd=workdir)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr, done.stderr
    assert done.stdout == ""


# --- programs named as invoked ------------------------------------------------------------------


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_names_the_program_as_it_was_invoked(tmp_path: Path, command: str) -> None:
    module = cli(command, "--help", cwd=tmp_path)
    assert module.returncode == 0, module.stderr
    assert module.stdout.startswith(f"usage: python -m seeding {command} ")
    script = subprocess.run(
        [console_script(tmp_path), command, "--help"], cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout.startswith(f"usage: seeding {command} "), script.stdout[:80]
    assert "python -m" not in script.stdout


def test_errors_name_the_program_as_it_was_invoked(tmp_path: Path) -> None:
    script = subprocess.run(
        [console_script(tmp_path), "serve", "--port", "x"], cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert script.returncode == 2 and script.stderr.startswith("seeding serve: error: argument --port")
    top = subprocess.run([console_script(tmp_path), "--help"], cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert top.stdout.startswith("usage: seeding ") and "`seeding stand`" in top.stdout


# --- seeding stand --------------------------------------------------------------------------------


def test_seeding_stand_is_the_stand(tmp_path: Path, free_port: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "seeding", "stand", "--http-port", "0", "--grpc-port", str(free_port)],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("seeding stand ready: http=http://127.0.0.1:") and f"grpc=127.0.0.1:{free_port}" in line
        seeded = cli(
            PLAN_11_2, "--grpc-target", f"127.0.0.1:{free_port}", "--users", "2", "--no-progress", cwd=tmp_path
        )
        assert seeded.returncode == 0, seeded.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0
    same = cli("stand", "--help", cwd=tmp_path).stdout.split("\n", 2)[2]
    module = subprocess.run(
        [sys.executable, "-m", "seeding.stand", "--help"], cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert module.stdout.startswith("usage: python -m seeding.stand ")
    assert module.stdout.split("\n", 2)[2].strip() == same.strip()  # the same options after the usage


# --- shell completion -------------------------------------------------------------------------------


def _complete(script: str, words: list[str], cwd: Path) -> list[str]:
    """What bash offers for the last of ``words`` with the completion script loaded (a real bash)."""
    quoted = " ".join(f"'{word}'" for word in words)
    program = f"""source /dev/stdin <<'SCRIPT'
{script}
SCRIPT
COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMP_LINE="{" ".join(words)}"; COMP_POINT=${{#COMP_LINE}}
_shtab_seeding
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(["bash", "-c", program], cwd=cwd, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return sorted(filter(None, done.stdout.splitlines()))


def test_bash_completes_commands_flags_and_choices(tmp_path: Path) -> None:
    done = cli("completion", "bash", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    script = done.stdout
    # Registered for the command (shtab 1.7 writes `-o filenames`, newer ones `-o bashdefault`).
    assert re.search(r"^complete( -o \w+)* -F _shtab_seeding seeding$", script, re.MULTILINE), script[-300:]
    assert _complete(script, ["seeding", "ver"], tmp_path) == ["verify"]
    assert _complete(script, ["seeding", "s"], tmp_path) == ["serve", "stand"]
    assert _complete(script, ["seeding", "verify", "--sa"], tmp_path) == ["--sample"]
    assert _complete(script, ["seeding", "--conc"], tmp_path) == ["--concurrency"]
    assert _complete(script, ["seeding", "--summary", ""], tmp_path) == ["auto", "line", "table"]
    assert _complete(script, ["seeding", "export", "x", "--format", ""], tmp_path) == ["csv", "jsonl"]
    assert _complete(script, ["seeding", "serve", "--access"], tmp_path) in (["--access-log"], [])


@pytest.mark.parametrize("shell", ["zsh", "tcsh"])
def test_other_shells_get_a_script(tmp_path: Path, shell: str) -> None:
    done = cli("completion", shell, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "verify" in done.stdout and "serve" in done.stdout and "stand" in done.stdout
    if shutil.which(shell):
        checked = subprocess.run([shell, "-n"], input=done.stdout, capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr


# --- verify says what it checks ---------------------------------------------------------------------


def test_verify_help_says_what_it_checks(tmp_path: Path) -> None:
    text = " ".join(cli("verify", "--help", cwd=tmp_path).stdout.split())
    assert "(0: every user)" in text and "(0: all)" not in text
    assert "one operation per account" in text
    assert "the two each card account opens with included" in text
    assert "a dump file, or a scenario name in --dumps-dir" in text
