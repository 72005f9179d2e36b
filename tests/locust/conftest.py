"""Fixtures for Locust runs: a stand in its own process, seeding through the CLI, Locust as a subprocess.

Locust is never imported into the test process: it monkey-patches the standard library with
gevent, which the asyncio tests sharing this process must not meet.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from seeding.stand import StandProcess

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"

RunLocust = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def stand_process() -> Iterator[StandProcess]:
    """One embedded stand in a subprocess, shared by a module's Locust runs."""
    with StandProcess() as stand:
        yield stand


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def locust_env(variables: dict[str, str | Path]) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update({name: str(value) for name, value in variables.items()})
    return env


def private_master_port(args: Sequence[str], port: int) -> list[str]:
    """Bind Locust's master (``--processes``, also from a ``.conf``) on a free loopback port, never 5557."""
    if "--master" in args or "--worker" in args:
        return list(args)  # the test chose the ports
    host = "127.0.0.1"
    return [
        *args,
        f"--master-bind-host={host}",
        f"--master-bind-port={port}",
        f"--master-host={host}",
        f"--master-port={port}",
    ]


def stop_group(process: subprocess.Popen[str]) -> None:
    """Kill a Locust process and the workers it forked (its process group, started by us)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture
def run_locust(tmp_path: Path) -> RunLocust:
    """``run_locust(args, env={...}, timeout=60)``: run Locust to its end in ``tmp_path``."""

    def run(args: Sequence[str], env: dict[str, str | Path], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "locust", *private_master_port(args, _free_port())],
            env=locust_env(env),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: forked workers die with it on timeout
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_group(process)
            raise
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    return run


@pytest.fixture
def start_locust(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``start_locust(args, env={...})``: a Locust process left running; killed at teardown if still alive."""
    started: list[subprocess.Popen[str]] = []

    def start(args: Sequence[str], env: dict[str, str | Path]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "locust", *args],
            env=locust_env(env),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            stop_group(process)


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def repo_root() -> Path:
    return ROOT
