"""The command line as a load tester uses it, through the real CLI in subprocesses.

``--users``, ``--dry-run``, ``--report``, plain progress off a terminal, the summary's target,
``--version``, bare plan names, ``list``, and a table of their bad inputs.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from seeding import open_dump, read_meta
from seeding.stand import StandProcess

PROJECT = Path(__file__).resolve().parents[2]
PLAN_11_2 = PROJECT / "plans" / "scenario-11-2.yaml"
SMALL = "users:\n  count: 3\n  debit_card_accounts:\n    count: 1\n    top_up_operations: 2\n"


def cli(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "seeding", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture(scope="module")
def stand() -> StandProcess:
    with StandProcess() as running:
        yield running


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_users_override_and_report(tmp_path: Path, transport: str) -> None:
    report = tmp_path / "report.json"
    done = cli(
        PLAN_11_2, "--stand", "embedded", "--transport", transport, "--users", "4", "--seed", "3",
        "--dumps-dir", tmp_path, "--report", report, "--no-progress", cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert len(open_dump(tmp_path / "scenario-11-2_seeds.json").users) == 4
    assert f"over {transport} at the embedded stand (" in done.stdout  # the summary names the target
    data = orjson.loads(report.read_bytes())
    assert data["exit_code"] == 0 and data["transport"] == transport
    assert data["target"].startswith("embedded (")
    (plan,) = data["plans"]
    assert plan["status"] == "seeded" and plan["seed"] == 3 and plan["dump"].endswith("scenario-11-2_seeds.json")
    assert plan["counts"] == {"users": 4, "accounts": 8, "cards": 16, "operations": 32}
    assert plan["calls"] == 60 and plan["duration_s"] > 0
    rpcs = plan["rpcs"]
    assert rpcs["CreateUser"]["calls"] == 4 and rpcs["CreateUser"]["statuses"] == {"OK": 4}
    assert sum(rpc["calls"] for rpc in rpcs.values()) == 60
    for rpc in rpcs.values():
        latency = rpc["latency_ms"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]


def test_report_counts_retries_by_rpc_and_status(tmp_path: Path) -> None:
    with StandProcess(fail_rate=0.3, seed=7) as flaky:
        report = tmp_path / "report.json"
        plan = tmp_path / "small.yaml"
        plan.write_text(SMALL)
        done = cli(
            plan, "--transport", "http", "--http-url", flaky.http_url, "--dumps-dir", tmp_path,
            "--report", report, "--no-progress", "--retries", "20", cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (entry,) = orjson.loads(report.read_bytes())["plans"]
    rpcs = entry["rpcs"]
    assert entry["retries"] > 0
    assert sum(rpc["retries"] for rpc in rpcs.values()) == entry["retries"]
    assert any(rpc["statuses"].get("503") for rpc in rpcs.values()), rpcs
    assert rpcs["CreateUser"]["statuses"]["OK"] == 3
    assert f"at {flaky.http_url}" in done.stdout


def test_report_of_failed_and_refused_runs(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    down = cli(PLAN_11_2, "--grpc-target", f"127.0.0.1:{free_port()}", "--report", report, cwd=tmp_path)
    assert down.returncode == 1
    data = orjson.loads(report.read_bytes())
    assert data["exit_code"] == 1 and "cannot reach the gateway" in data["error"]

    bad = tmp_path / "bad.yaml"
    bad.write_text("users: {count: -1}\n")
    refused = cli(bad, "--report", report, cwd=tmp_path)
    assert refused.returncode == 2
    data = orjson.loads(report.read_bytes())
    assert data["exit_code"] == 2 and "users.count" in data["error"] and data["plans"] == []


def test_plain_progress_off_a_terminal(tmp_path: Path) -> None:
    # 45 calls, 4 at a time, 60 ms each: at least 12 × 60 ms = 0.72 s, so at least 3 lines at 0.2 s
    # however fast the machine (at 30 ms a fast run ended after one line).
    with StandProcess(latency_ms=60) as slow:
        args = [PLAN_11_2, "--grpc-target", slow.grpc_target, "--dumps-dir", tmp_path, "--concurrency", "4"]
        plain = cli(*args, "--progress-interval", "0.2", "--users", "3", cwd=tmp_path)
        quiet = cli(*args, "--progress-interval", "0.2", "--users", "3", "--no-progress", "--restart", cwd=tmp_path)
    assert plain.returncode == 0 and quiet.returncode == 0, plain.stderr + quiet.stderr
    lines = plain.stderr.strip().splitlines()
    assert len(lines) >= 2, plain.stderr
    progress = re.compile(
        r"^scenario-11-2: (\d+)/45 entities \(\d+%\), \d+ calls, \d+ calls/s, \d+ in flight(, round trip \d+/\d+ ms)?, "
        r"\d+ retries, \d+ s$"
    )
    done = [int(m.group(1)) for m in map(progress.match, lines) if m]
    assert len(done) == len(lines), lines  # plain lines only: no carriage returns, no bar
    assert done == sorted(done)
    assert quiet.stderr == ""


def test_dry_run_sends_nothing(tmp_path: Path) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens: a dry run never notices
    report = tmp_path / "report.json"
    done = cli(
        PLAN_11_2,
        "--dry-run",
        "--grpc-target",
        nowhere,
        "--dumps-dir",
        tmp_path / "d",
        "--report",
        report,
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "scenario-11-2: dry run, nothing sent" in out
    assert re.search(r"^\s+users\s+10$", out, re.MULTILINE)
    assert re.search(r"^\s+debit_card_accounts\s+10$", out, re.MULTILINE)
    assert re.search(r"^\s+purchase_operations\s+10$", out, re.MULTILINE)
    assert "(+ 40 cards the card accounts open with" in out
    assert "150 calls in all; the longest chain is 6 calls" in out
    # one estimate, and what it assumes
    # 150 calls: 5 one at a time (the unloaded round trip), then 2, 4, …, 64, and the last 19: 12 rounds of 20 ms
    assert "estimate: at least 0.24 s, assuming" in out and out.count("at least") == 1
    assert "- 20 ms per call over grpc, however many are in flight (--latency-ms sets it)" in out
    assert (
        "- 5 calls one at a time first (the gateway's unloaded round trip), then twice as many in flight each "
        "round trip from 2 up to 400, the round trip staying within 1.5 × the unloaded one: the default" in out
    )
    assert not (tmp_path / "d").exists()
    (plan,) = orjson.loads(report.read_bytes())["plans"]
    assert plan["status"] == "dry-run" and plan["calls"] == 150 and plan["longest_chain"] == 6

    wide = cli(PLAN_11_2, "--dry-run", "--users", "1000", "--transport", "http", "--latency-ms", "100", cwd=tmp_path)
    assert "15,000 calls in all" in wide.stdout
    # 15,000 calls: 5 one at a time, 2 + 4 + … + 256 in the next 8 round trips, then 400 at a time: 5 + 8 + 37 rounds
    assert "estimate: at least 5.00 s, assuming" in wide.stdout and wide.stdout.count("at least") == 1
    assert "- 100 ms per call over http, however many are in flight" in wide.stdout
    off = cli(PLAN_11_2, "--dry-run", "--users", "1000", "--latency-ms", "100", "--latency-budget", "off", cwd=tmp_path)
    # --latency-budget off: 50 + 100 + 200 in the first three round trips, then 400 at a time: 3 + 37 rounds
    assert "estimate: at least 4.00 s, assuming" in off.stdout
    assert "- 50 calls in flight at first, twice as many each round trip up to 400: --latency-budget off" in off.stdout
    capped = cli(PLAN_11_2, "--dry-run", "--users", "1000", "--rate", "200", "--report", report, cwd=tmp_path)
    assert "estimate: at least 75.00 s, assuming" in capped.stdout  # 15,000 calls at 200 a second
    assert "- at most 200 calls per second (--rate sets it)" in capped.stdout
    (plan,) = orjson.loads(report.read_bytes())["plans"]
    assert plan["rate"] == 200 and plan["latency_budget"] == 1.5 and plan["seconds_at_least"] == 75.0
    fixed = cli(PLAN_11_2, "--dry-run", "--users", "1000", "--concurrency", "50", cwd=tmp_path)
    assert "estimate: at least 6.00 s, assuming" in fixed.stdout  # 15,000 calls, 50 at a time, 20 ms each
    assert "- 50 calls in flight (--concurrency sets it)" in fixed.stdout and fixed.stdout.count("at least") == 1

    serial = cli(PLAN_11_2, "--dry-run", "--parallel-operations", cwd=tmp_path)
    assert "the longest chain is 3 calls" in serial.stdout  # user → account → any one operation


def test_version_and_bare_plan_names(tmp_path: Path) -> None:
    version = cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and re.fullmatch(r"seeding \S+\n", version.stdout)

    shutil.copytree(PROJECT / "plans", tmp_path / "plans")
    (tmp_path / "plans" / "tiny.yaml").write_text(SMALL)
    named = cli("tiny", "--stand", "embedded", "--dumps-dir", tmp_path, "--no-progress", cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert len(open_dump(tmp_path / "tiny_seeds.json").users) == 3
    shipped = cli("get-operations", "--dry-run", cwd=tmp_path)  # the example
    assert shipped.returncode == 0 and "get-operations: dry run" in shipped.stdout

    missing = cli("no-such-plan", "--dry-run", cwd=tmp_path)
    assert missing.returncode == 2
    assert one_line(missing.stderr).endswith("no-such-plan: no such plan file (nor plans/no-such-plan.yaml)")


def test_list_shows_plans_dumps_and_unfinished_runs(tmp_path: Path, stand: StandProcess) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "tiny.yaml").write_text(SMALL)
    (plans / "other.yaml").write_text(SMALL.replace("count: 3", "count: 5", 1))
    (plans / "broken.yaml").write_text("users: {count: x}\n")
    seeded = cli("tiny", "--grpc-target", stand.grpc_target, "--no-progress", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    (tmp_path / "dumps" / "other_seeds.journal").write_text(
        '{"scenario":"other","users":5,"started_at":"2020-01-01T00:00:00+00:00"}\n{"index":0,"user":{}}\n'
        '{"index":1,"made":"user","id":"u1","at":[]}\n{"index":0,"made":"user","id":"u0","at":[]}\n'
    )

    listed = cli("list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout
    assert re.search(r"^  tiny\s+3 users\s+12 calls\s+plans/tiny.yaml$", out, re.MULTILINE), out
    assert re.search(r"^  broken\s+invalid: .*users.count", out, re.MULTILINE), out
    line = next(line for line in out.splitlines() if "tiny_seeds.json" in line)
    assert "3 users" in line and "s ago" in line and f"grpc {stand.grpc_target}" in line and "plan unchanged" in line
    assert "other  1 of 5 users (and 1 begun)  started" in out  # user 1 is being made: a part, not a user

    (plans / "tiny.yaml").write_text(SMALL.replace("top_up_operations: 2", "top_up_operations: 1"))
    changed = cli("list", cwd=tmp_path)
    assert "shape changed" in changed.stdout and "plan changed" not in changed.stdout
    empty = cli("list", "--plans-dir", tmp_path / "none", "--dumps-dir", tmp_path / "none", cwd=tmp_path)
    assert empty.returncode == 0 and "plans in " in empty.stdout and ": none" in empty.stdout


def test_a_plan_without_a_name_is_named_after_its_hash(tmp_path: Path, stand: StandProcess) -> None:
    script = (
        "import asyncio, sys; from seeding import SeedsPlan, SeedUsersPlan, build_seeds; "
        "plan = SeedsPlan(users=SeedUsersPlan(count=2)); "
        "seeds = asyncio.run(build_seeds(plan, transport='grpc', target=sys.argv[1], dumps_dir=sys.argv[2])); "
        "print(plan.name, len(seeds.users))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, stand.grpc_target, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    name, users = done.stdout.split()
    assert re.fullmatch(r"plan-[0-9a-f]{8}", name) and users == "2"
    assert (tmp_path / f"{name}_seeds.json").exists()
    assert not (tmp_path / "seeds_seeds.json").exists()
    meta = read_meta(tmp_path / f"{name}_seeds.json")
    assert meta is not None and meta["scenario"] == name


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--users", "0"], {}, "argument --users: must be at least 1, got 0"),
        (["--users", "many"], {}, "argument --users: 'many' is not a whole number"),
        (["--users", "200000000"], {}, "at most 100,000,000 are seeded in one plan"),
        (["--progress-interval", "0"], {}, "argument --progress-interval: must be within 0.1-86400 (seconds), got 0"),
        (["--progress-interval", "1e-9"], {}, "must be within 0.1-86400 (seconds), got 1e-9"),  # 260 lines in 0.7 s
        (["--progress-interval", "nan"], {}, "argument --progress-interval: must be a finite number"),
        (["--latency-ms", "-5"], {}, "argument --latency-ms: must be more than 0, got -5"),
        (["--report", "{tmp}/no/such/dir/r.json"], {}, "no such directory"),
        (["--report", "{tmp}"], {}, "is a directory"),
        (["--dry-run"], {"SEEDING_TRANSPORT": "smtp"}, "settings: SEEDING_TRANSPORT (or SEEDING.TRANSPORT):"),
        (["--dry-run"], {"GATEWAY_GRPC_CLIENT_PORT": "0"}, "GATEWAY_GRPC_CLIENT_PORT (or GATEWAY_GRPC_CLIENT.PORT)"),
        (["--dry-run"], {"SEEDING_CONCURRENCY": "lots"}, "SEEDING_CONCURRENCY (or SEEDING.CONCURRENCY)"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_bad_run_flags(tmp_path: Path, args: list[str], env: dict[str, str], expected: str) -> None:
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    done = cli(PLAN_11_2, *args, "--grpc-target", f"127.0.0.1:{free_port()}", cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stderr
    assert expected in one_line(done.stderr)
    assert not (tmp_path / "dumps").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["list", "--bogus"], "unrecognized arguments: --bogus"),
        (["list", "--plans-dir"], "argument --plans-dir: expected one argument"),
        (["export"], "the following arguments are required: DUMP, --format"),
        (["export", "x", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["export", "nowhere", "--format", "csv"], "no such dump"),
        (["export", "{dump}", "--format", "csv", "--fields", "idx"], "unknown field 'idx' (did you mean 'index'?)"),
        (["export", "{dump}", "--format", "csv", "--fields", ","], "--fields: no field named"),
        (["export", "{dump}", "--format", "csv", "--fields", "index,index"], "a field is named twice"),
        (["export", "{broken}", "--format", "jsonl"], "broken_seeds.json"),
        (["export", "{dump}", "--format", "csv", "-o", "{tmp}/no/dir/x.csv"], "x.csv: no such directory"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_bad_list_and_export_usage(tmp_path: Path, args: list[str], expected: str) -> None:
    dump = tmp_path / "good_seeds.json"
    dump.write_text('{"users":[{"user_id":"u1"}]}')
    (tmp_path / "broken_seeds.json").write_text('{"meta":{},"users":[\n{"user_id":"u1"')
    paths = {"{dump}": str(dump), "{broken}": str(tmp_path / "broken_seeds.json"), "{tmp}": str(tmp_path)}
    for key, value in paths.items():
        args = [arg.replace(key, value) for arg in args]
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert expected in one_line(done.stderr)
    assert done.stdout == ""
