"""``seeding.cli._shutdown``: a command ends within seconds even when its cleanup hangs for good.

grpc-core could hang the interpreter's shutdown (a channel to an unresolvable target joined a thread
forever). Each case runs a small command in a subprocess whose cleanup blocks the way that did.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]

COMMAND = """
import asyncio, sys, time
from seeding.cli._shutdown import Shutdown, exit_within

async def main(shutdown, how):
    shutdown.attach()
    loop = asyncio.get_running_loop()
    if how == "executor":  # asyncio.run's cleanup joins this thread: the hang grpc-core caused
        loop.run_in_executor(None, time.sleep, 60)
        shutdown.finishing(0)
        return 0
    if how == "atexit":
        return 0
    print("running", flush=True)
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        time.sleep(60)  # a cleanup that never ends, blocking the loop
    return 0

how = sys.argv[1]
with Shutdown("cmd", exit_code=1) as shutdown:
    code = asyncio.run(main(shutdown, how))
if how == "atexit":  # a non-daemon thread: the interpreter joins it on the way out
    import threading
    threading.Thread(target=time.sleep, args=(60,)).start()
exit_within(1.0, code)
sys.exit(code)
"""


def start(how: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", COMMAND, how],
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("how", ["executor", "atexit"])
def test_a_hung_cleanup_after_the_end_still_exits_with_the_code(how: str) -> None:
    proc = start(how)
    started = time.monotonic()
    proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert time.monotonic() - started < 6.0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_a_command_whose_cleanup_hangs(signum: int) -> None:
    proc = start("cancel")
    assert proc.stdout is not None and proc.stdout.readline().strip() == "running"
    sent = time.monotonic()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "Traceback" not in stderr
    assert time.monotonic() - sent < 5.0


def test_a_second_signal_ends_it_at_once() -> None:
    proc = start("cancel")
    assert proc.stdout is not None and proc.stdout.readline().strip() == "running"
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert time.monotonic() - sent < 1.5
