"""Shared fixtures: an embedded stand on free loopback ports, and a client per transport."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from seeding.gateway import GatewayClient, Transport, connect
from seeding.stand import Stand, StandProcess

TRANSPORTS: list[Transport] = ["grpc", "http"]


@pytest.fixture
async def stand() -> AsyncIterator[Stand]:
    """A fresh in-memory stand serving both transports on 127.0.0.1, free ports."""
    async with Stand() as running:
        yield running


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> Transport:
    return request.param


@pytest.fixture
async def client(stand: Stand, transport: Transport) -> AsyncIterator[GatewayClient]:
    """Our client for ``transport``, connected to the stand over real sockets."""
    async with connect(transport, stand.target(transport), timeout=5.0) as gateway:
        yield gateway


# --- shared by the CLI and Locust tests: seeding through the real CLI into a stand process ---------

ROOT = Path(__file__).resolve().parents[1]
SeedDump = Callable[..., Path]


@pytest.fixture
def seed_dump() -> SeedDump:
    """``seed_dump(plan, stand, dumps_dir, transport="http")``: seed with the CLI, return the dump's path."""

    def seed(plan: Path, stand: StandProcess, dumps_dir: Path, transport: str = "http") -> Path:
        flag = f"--grpc-target={stand.grpc_target}" if transport == "grpc" else f"--http-url={stand.http_url}"
        command = [sys.executable, "-m", "seeding", str(plan), f"--transport={transport}", flag]
        done = subprocess.run(
            [*command, f"--dumps-dir={dumps_dir}", "--no-progress"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        return dumps_dir / f"{plan.stem}_seeds.json"

    return seed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    """A loopback port nothing listens on (for a master, or for a gateway that is down)."""
    return _free_port()


@pytest.fixture
def scenario_plan() -> Path:
    """The course's scenario 11.2: 10 users with a debit-card and a credit-card account each."""
    return ROOT / "plans" / "scenario-11-2.yaml"
