"""``python -m seeding`` as users run it: exit codes, one-line errors, and nothing lost on a stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from seeding import open_dump, read_meta
from seeding.stand import StandProcess

PROJECT = Path(__file__).resolve().parents[2]
PLAN_11_2 = PROJECT / "plans" / "scenario-11-2.yaml"


def seeding_cli(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "seeding", *map(str, args), "--no-progress"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(*args: str | Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "seeding", *map(str, args), "--no-progress"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write_plan(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_embedded_stand_run_writes_the_dump(tmp_path: Path, transport: str) -> None:
    result = seeding_cli(
        PLAN_11_2, "--stand", "embedded", "--transport", transport, "--dumps-dir", tmp_path, "--seed", "5", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    dump = tmp_path / "scenario-11-2_seeds.json"
    assert f"→ {dump}" in result.stdout
    seeds = open_dump(dump)
    assert len(seeds.users) == 10
    assert all(len(u.debit_card_accounts) == len(u.credit_card_accounts) == 1 for u in seeds.users)
    meta = read_meta(dump)
    assert meta is not None
    assert meta["transport"] == transport and meta["target"] == "embedded" and meta["seed"] == 5
    assert meta["counts"] == {"users": 10, "accounts": 20, "cards": 40, "operations": 80}
    assert meta["scenario"] == "scenario-11-2" and len(meta["plan_hash"]) == 16
    assert not (tmp_path / "scenario-11-2_seeds.journal").exists()


def test_several_plans_in_one_run(tmp_path: Path) -> None:
    one = write_plan(tmp_path, "one.yaml", "users: 2\n")
    two = write_plan(tmp_path, "two.json", '{"users": {"count": 3, "deposit_accounts": 1}}')
    result = seeding_cli(one, two, "--stand", "embedded", "--dumps-dir", tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(open_dump(tmp_path / "one_seeds.json").users) == 2
    assert len(open_dump(tmp_path / "two_seeds.json").users[2].deposit_accounts) == 1


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ("users:\n  count: -3\n", "bad.yaml:2: users.count: input should be greater than or equal to 0"),
        ("users:\n  debit_card_acounts: 1\n", "did you mean 'debit_card_accounts'?"),
        ("users:\n  deposit_accounts: {count: 1, top_up_operations: 1}\n", "deposit accounts have no cards"),
        ("users: [\n", "bad.yaml:2: invalid YAML"),
    ],
)
def test_bad_plan_exits_2_with_one_line_before_any_call(tmp_path: Path, plan: str, message: str) -> None:
    path = write_plan(tmp_path, "bad.yaml", plan)
    good = write_plan(tmp_path, "good.yaml", "users: 1\n")
    # a closed port: had anything been sent, the run would fail with "cannot reach" and exit 1
    result = seeding_cli(good, path, "--grpc-target", f"127.0.0.1:{free_port()}", "--dumps-dir", tmp_path, cwd=tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result.stderr)
    assert message in result.stderr
    assert list(tmp_path.glob("*_seeds.*")) == []


@pytest.mark.parametrize(
    "args",
    [["--concurrency", "0"], ["--transport", "smtp"], ["--timeout", "-1"], ["--resume", "--restart"], []],
)
def test_bad_usage_exits_2_with_one_line(tmp_path: Path, args: list[str]) -> None:
    result = seeding_cli(*([PLAN_11_2] if args else []), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result.stderr)


def test_missing_plan_file(tmp_path: Path) -> None:
    result = seeding_cli(tmp_path / "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result.stderr)
    assert "nope.yaml: no such plan file" in result.stderr


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_unreachable_gateway_is_one_line_and_exit_1(tmp_path: Path, transport: str) -> None:
    port = free_port()
    target = (
        ["--grpc-target", f"127.0.0.1:{port}"] if transport == "grpc" else ["--http-url", f"http://127.0.0.1:{port}"]
    )
    result = seeding_cli(
        PLAN_11_2, "--transport", transport, *target, "--dumps-dir", tmp_path, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 1
    assert_one_line_error(result.stderr)
    assert f"cannot reach the gateway over {transport} at" in result.stderr and str(port) in result.stderr


def test_course_settings_names_set_the_default_target(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / ".env").write_text(f"GATEWAY_GRPC_CLIENT.HOST=127.0.0.1\nGATEWAY_GRPC_CLIENT.PORT={port}\n")
    result = seeding_cli(PLAN_11_2, "--dumps-dir", tmp_path, cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr


def test_fault_injecting_stand_still_gives_exact_counts(tmp_path: Path) -> None:
    with StandProcess(fail_rate=0.2, seed=11) as stand:
        result = seeding_cli(
            PLAN_11_2, "--grpc-target", stand.grpc_target, "--dumps-dir", tmp_path, "--retries", "12", cwd=tmp_path
        )
    assert result.returncode == 0, result.stderr
    assert "0 retries" not in result.stdout
    seeds = open_dump(tmp_path / "scenario-11-2_seeds.json")
    assert len(seeds.users) == 10
    for user in seeds.users:
        for account in (*user.debit_card_accounts, *user.credit_card_accounts):
            assert len(account.physical_cards) == len(account.virtual_cards) == 1
            assert len(account.top_up_operations) == len(account.cash_withdrawal_operations) == 1


def journal_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines(keepends=True)[1:] if line.endswith(b"\n")]
    return [line for line in lines if "made" not in line]  # complete users (parts of one aside)


def wait_for_journal(path: Path, users: int, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(journal_lines(path)) < users:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_a_stopped_run_keeps_its_users_and_resume_completes_it(tmp_path: Path, how: str) -> None:
    plan = write_plan(
        tmp_path, "big.yaml", "users:\n  count: 40\n  debit_card_accounts:\n    count: 1\n    top_up_operations: 2\n"
    )
    dump, journal = tmp_path / "big_seeds.json", tmp_path / "big_seeds.journal"
    with StandProcess(latency_ms=15) as stand:
        args = (plan, "--grpc-target", stand.grpc_target, "--dumps-dir", tmp_path, "--concurrency", "3")
        proc = start_cli(*args, cwd=tmp_path)
        wait_for_journal(journal, 5, proc)
        proc.send_signal(getattr(signal, how))
        _, stderr = proc.communicate(timeout=30)
        if how == "SIGTERM":
            assert proc.returncode == 1
            assert_one_line_error(stderr)
            assert "interrupted" in stderr and "missing plan indices" in stderr and "--resume" in stderr
        else:
            assert proc.returncode == -signal.SIGKILL
        assert not dump.exists(), "a stopped run wrote a dump"
        before = {line["index"]: line["user"]["user_id"] for line in journal_lines(journal)}
        assert 5 <= len(before) < 40

        again = seeding_cli(*args, cwd=tmp_path)
        assert again.returncode == 2
        assert_one_line_error(again.stderr)
        assert "pass --resume to finish it, or --restart to discard it" in again.stderr

        resumed = seeding_cli(*args, "--resume", cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        assert f"{len(before)} users from the journal" in resumed.stdout
    users = open_dump(dump).users
    assert len(users) == 40
    ids = [user.user_id for user in users]
    assert len(set(ids)) == 40, "a user appears twice in the dump"
    assert all(ids[index] == user_id for index, user_id in before.items()), "resume rebuilt a finished user"
    assert all(len(user.debit_card_accounts[0].top_up_operations) == 2 for user in users)
    assert not journal.exists()


def test_restart_discards_an_unfinished_run(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, "small.yaml", "users: 3\n")
    (tmp_path / "small_seeds.journal").write_bytes(b'{"journal":1,"plan_hash":"other","users":3}\n')
    resumed = seeding_cli(plan, "--stand", "embedded", "--resume", "--dumps-dir", tmp_path, cwd=tmp_path)
    assert resumed.returncode == 2 and "its data ended with its process" in resumed.stderr
    restarted = seeding_cli(plan, "--stand", "embedded", "--restart", "--dumps-dir", tmp_path, cwd=tmp_path)
    assert restarted.returncode == 0, restarted.stderr
    assert len(open_dump(tmp_path / "small_seeds.json").users) == 3


def test_exhausted_retries_fail_the_run_with_exit_1_and_no_dump(tmp_path: Path) -> None:
    with StandProcess(fail_rate=1.0, seed=1) as stand:
        result = seeding_cli(
            PLAN_11_2,
            "--transport",
            "http",
            "--http-url",
            stand.http_url,
            "--retries",
            "1",
            "--dumps-dir",
            tmp_path,
            cwd=tmp_path,
        )
    assert result.returncode == 1
    assert_one_line_error(result.stderr)
    assert "failed: plan user #" in result.stderr and "503" in result.stderr
    assert "0 of 10 users are safe" in result.stderr and "missing plan indices: 0-9" in result.stderr
    assert not (tmp_path / "scenario-11-2_seeds.json").exists()


def test_http_timeout_setting_applies_to_http_runs(tmp_path: Path) -> None:
    """GATEWAY_HTTP_CLIENT.TIMEOUT bounds each HTTP call (the gRPC setting does not)."""
    with StandProcess(latency_ms=1500) as stand:
        (tmp_path / ".env").write_text("GATEWAY_HTTP_CLIENT.TIMEOUT=0.3\nGATEWAY_GRPC_CLIENT.TIMEOUT=30\n")
        plan = write_plan(tmp_path, "one.yaml", "users: 1\n")
        result = seeding_cli(
            plan,
            "--transport",
            "http",
            "--http-url",
            stand.http_url,
            "--retries",
            "0",
            "--dumps-dir",
            tmp_path,
            cwd=tmp_path,
            timeout=60,
        )
    assert result.returncode == 1
    assert_one_line_error(result.stderr)
    assert "failed: plan user #0" in result.stderr
