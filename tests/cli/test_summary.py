"""The end of a run: a table on a terminal (a real one: a pty), coloured unless NO_COLOR; CI's one line elsewhere.

Against the embedded stand, so every number in the table comes from a real run over real sockets.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

PROJECT = Path(__file__).resolve().parents[2]
PLAN_11_2 = PROJECT / "plans" / "scenario-11-2.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The CI line: what scripts and logs have always read, byte for byte the same shape.
CI_LINE = re.compile(
    r"^scenario-11-2: 4 users, 8 accounts, 16 cards, 32 operations in \d+\.\d\d s over (grpc|http) at the embedded "
    r"stand \((http://)?127\.0\.0\.1:\d+\) \(60 calls, \d+ calls/s, up to \d+ in flight"
    r"(, round trip \d+ ms \(unloaded \d+ ms\))?, 0 retries\) → .+_seeds\.json$"
)
RPCS = [
    "CreateUser",
    "IssuePhysicalCard",
    "IssueVirtualCard",
    "MakeCashWithdrawalOperation",
    "MakePurchaseOperation",
    "MakeTopUpOperation",
    "MakeTransferOperation",
    "OpenCreditCardAccount",
    "OpenDebitCardAccount",
]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    return {**env, "PYTHONPATH": str(PROJECT), "COLUMNS": "120", **(extra or {})}


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "seeding",
        str(PLAN_11_2),
        "--stand",
        "embedded",
        "--users",
        "4",
        "--dumps-dir",
        str(tmp_path),
        "--no-progress",
        *extra,
    ]


def run_in_terminal(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run ``args`` with stdout and stderr on a pseudo-terminal; (exit code, what it printed)."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(controller)
    return code, b"".join(chunks).decode().replace("\r\n", "\n")


def _assert_table(text: str, dump: Path) -> None:
    assert "scenario-11-2: seeded 4 users over grpc at the embedded stand" in text
    # entities by kind, the cards the accounts open with counted and named
    assert re.search(r"^  entities\s+created$", text, re.MULTILINE), text
    assert re.search(r"^  users\s+4$", text, re.MULTILINE)
    assert len(re.findall(r"^    opened cards\s+8$", text, re.MULTILINE)) == 2  # debit and credit, 4 accounts each
    assert re.search(r"^      physical_cards\s+4$", text, re.MULTILINE) is None  # one level under the account
    assert re.search(r"^    physical_cards\s+4$", text, re.MULTILINE)
    assert re.search(r"^  total\s+76$", text, re.MULTILINE), text  # 4 + 8 + 16 opened + 16 issued + 32
    # per RPC: calls, failed, retried, p50 / p95 / p99
    assert re.search(r"^  rpc\s+calls\s+failed\s+retried\s+p50\s+p95\s+p99$", text, re.MULTILINE), text
    for rpc in RPCS:
        assert re.search(rf"^  {rpc}\s+\d+\s+0\s+0(\s+\d[\d.,]* ms){{3}}$", text, re.MULTILINE), (rpc, text)
    assert re.search(r"^  total\s+60\s+0\s+0$", text, re.MULTILINE), text
    assert re.search(
        r"^  wall\s+\d+\.\d\d s, [\d,]+ calls/s, [\d,]+ entities/s, up to \d+ calls in flight"
        r"(, round trip \d+ ms \(unloaded \d+ ms\))?$",
        text,
        re.M,
    )
    assert re.search(rf"^  dump\s+{re.escape(str(dump))}$", text, re.MULTILINE)


def test_a_terminal_gets_the_table_in_colour(tmp_path: Path) -> None:
    code, text = run_in_terminal(_args(tmp_path), tmp_path, _env())
    assert code == 0, text
    assert "\x1b[1m" in text and "\x1b[32mseeded\x1b[0m" in text  # bold headings, the outcome in green
    _assert_table(ANSI.sub("", text), tmp_path / "scenario-11-2_seeds.json")
    assert "→" not in text  # not the CI line


def test_no_color_keeps_the_table_and_drops_the_colour(tmp_path: Path) -> None:
    code, text = run_in_terminal(_args(tmp_path), tmp_path, _env({"NO_COLOR": "1"}))
    assert code == 0, text
    assert "\x1b[" not in text
    _assert_table(text, tmp_path / "scenario-11-2_seeds.json")


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_off_a_terminal_the_ci_line_is_unchanged(tmp_path: Path, transport: str) -> None:
    report = tmp_path / "report.json"
    done = subprocess.run(
        [*_args(tmp_path, "--transport", transport, "--report", str(report))],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and CI_LINE.match(lines[0]), done.stdout
    assert f"over {transport} " in lines[0]
    # --report: the same keys as ever, and the limit's; its counts are the plan's (opened cards are the table's alone)
    (plan,) = orjson.loads(report.read_bytes())["plans"]
    assert plan["counts"] == {"users": 4, "accounts": 8, "cards": 16, "operations": 32}
    assert set(plan) == {
        "scenario",
        "status",
        "plan_hash",
        "seed",
        "counts",
        "duration_s",
        "calls",
        "retries",
        "pushbacks",  # what the limit met and kept (issue 27): the gateway's refusals, calls in flight,
        "peak_in_flight",  # the round trip it kept and the unloaded one
        "round_trip_ms",
        "unloaded_round_trip_ms",
        "resumed_users",
        "rpcs",
        "dump",
    }


def test_summary_table_off_a_terminal_has_no_colour(tmp_path: Path) -> None:
    done = subprocess.run(
        _args(tmp_path, "--summary", "table"), cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout
    _assert_table(done.stdout, tmp_path / "scenario-11-2_seeds.json")


def test_summary_line_on_a_terminal(tmp_path: Path) -> None:
    code, text = run_in_terminal(_args(tmp_path, "--summary", "line"), tmp_path, _env())
    assert code == 0, text
    assert CI_LINE.match(text.strip()), text


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (["--summary", "tables"], "argument --summary: invalid choice: 'tables' (choose from"),
        (["--summary"], "argument --summary: expected one argument"),
    ],
)
def test_bad_summary_flags(tmp_path: Path, flag: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seeding", str(PLAN_11_2), *flag],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_processes_end_with_one_table_of_every_childs_calls(tmp_path: Path, transport: str) -> None:
    # Each shard process counts its own calls; the parent adds their histograms up into one table
    # and the report's rpcs (it used to end with the one line even with --summary table).
    from seeding.stand import StandProcess

    with StandProcess() as stand:
        flag = "--grpc-target" if transport == "grpc" else "--http-url"
        args = [sys.executable, "-m", "seeding", str(PLAN_11_2), "--users", "4", "--transport", transport]
        args += [flag, stand.target(transport)]
        args += ["--processes", "2", "--dumps-dir", str(tmp_path), "--no-progress", "--summary", "table"]
        args += ["--report", str(tmp_path / "report.json")]
        done = subprocess.run(args, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"scenario-11-2: seeded 4 users over {transport} at " in text and " in 2 processes" in text, text
    assert re.search(r"^  total\s+76$", text, re.MULTILINE), text
    for rpc in RPCS:
        assert re.search(rf"^  {rpc}\s+\d+\s+0\s+0(\s+\d[\d.,]* ms){{3}}$", text, re.MULTILINE), (rpc, text)
    assert re.search(r"^  total\s+60\s+0\s+0$", text, re.MULTILINE), text  # both children's calls, added up
    assert re.search(r"^  wall\s+\d+\.\d\d s, [\d,]+ calls/s, [\d,]+ entities/s$", text, re.MULTILINE), text
    assert re.search(rf"^  dump\s+{re.escape(str(tmp_path / 'scenario-11-2_seeds.json'))}$", text, re.MULTILINE)
    rpcs = orjson.loads((tmp_path / "report.json").read_bytes())["plans"][0]["rpcs"]
    assert sorted(rpcs) == RPCS and sum(entry["calls"] for entry in rpcs.values()) == 60
    assert all(entry["statuses"] == {"OK": entry["calls"]} for entry in rpcs.values())
