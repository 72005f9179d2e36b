"""SIGINT and SIGTERM end ``python -m seeding`` within seconds, whatever phase it is in, with one line and exit 1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
PLAN = PROJECT / "plans" / "scenario-11-2.yaml"


@pytest.fixture(scope="module")
def black_hole() -> Iterator[int]:
    """A port that completes TCP connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def phase_args(phase: str, hole: int, tmp_path: Path) -> list[str]:
    if phase == "pre-flight over http (black hole)":
        return [str(PLAN), "--transport", "http", "--http-url", f"http://127.0.0.1:{hole}"]
    if phase == "pre-flight over grpc (black hole)":
        return [str(PLAN), "--grpc-target", f"127.0.0.1:{hole}"]
    plan = tmp_path / "many.yaml"
    plan.write_text("users:\n  count: 20000\n  debit_card_accounts: {count: 1, top_up_operations: 3}\n")
    return [str(plan), "--stand", "embedded", "--concurrency", "4"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(
    "phase", ["pre-flight over http (black hole)", "pre-flight over grpc (black hole)", "seeding (embedded stand)"]
)
def test_a_signal_ends_the_run_within_seconds(black_hole: int, tmp_path: Path, phase: str, signum: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "seeding", *phase_args(phase, black_hole, tmp_path), "--dumps-dir", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = next(tmp_path.glob("*.yaml"), PLAN).with_suffix("").name + "_seeds.journal"
    deadline = time.monotonic() + 30
    while not in_phase(tmp_path / journal, phase):  # past imports and the plan: the journal is taken
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never reached the phase"
        time.sleep(0.05)
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        _, stderr = proc.communicate(timeout=10)
    finally:
        proc.kill()
    took = time.monotonic() - sent
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert "interrupted" in stderr
    assert took < 6.0, f"took {took:.1f} s to end"  # 3 s of grace at most, plus a loaded machine's slack


def in_phase(journal: Path, phase: str) -> bool:
    """The journal exists (pre-flight comes next), or holds users (seeding is under way)."""
    if not journal.exists():
        return False
    return not phase.startswith("seeding") or journal.read_bytes().count(b"\n") > 1
