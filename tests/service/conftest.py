"""Service fixtures: a service on a free loopback port with its own dumps and plans dirs, an HTTP client, dumps."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from seeding import DumpWriter, dump_path
from seeding.service import Service

PLAN = {
    "users": {
        "count": 6,
        "debit_card_accounts": {"count": 1, "physical_cards": 1, "top_up_operations": 2},
        "deposit_accounts": 1,
    }
}


def write_dump(dumps: Path, scenario: str, users: int, created_at: str = "2026-01-01T00:00:00+00:00") -> Path:
    """A dump of ``users`` made-up users (ids ``u-<scenario>-<i>``), as a run writes it."""
    meta = {"scenario": scenario, "created_at": created_at, "counts": {"users": users}, "plan_hash": "x"}
    with DumpWriter(dump_path(scenario, dumps), meta) as writer:
        for i in range(users):
            writer.write({"user_id": f"u-{scenario}-{i}", "debit_card_accounts": [], "deposit_accounts": []})
    return writer.path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    dumps, plans = tmp_path / "dumps", tmp_path / "plans"
    dumps.mkdir()
    plans.mkdir()
    return dumps, plans


@pytest.fixture
async def service(dirs: tuple[Path, Path]) -> AsyncIterator[Service]:
    async with Service(dumps_dir=dirs[0], plans_dir=dirs[1]) as running:
        yield running


@pytest.fixture
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    async with httpx.AsyncClient(base_url=service.url, timeout=20.0, limits=limits) as client:
        yield client


async def wait_run(http: httpx.AsyncClient, run_id: str, *, within: float = 60.0) -> dict[str, Any]:
    """The run's record once it is no longer queued or running (bounded in time)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        run = (await http.get(f"/v1/runs/{run_id}")).json()["run"]
        if run["state"] not in ("queued", "running"):
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} still live after {within} s: {run}")


# --- Redis: a real redis-server of our own on a free loopback port ------------------------------------


class RedisServer:
    """``redis-server`` on a free loopback port, its append-only file in ``directory`` (so a restart keeps all)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            message = "redis-server is not installed (apt-get install -y redis-server)"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.directory), "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(64).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise AssertionError(f"redis-server did not answer on port {self.port} within 10 s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["embedded", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The pool store to serve with: ``embedded``, or the URL of a fresh redis-server."""
    if request.param == "embedded":
        yield "embedded"
        return
    yield request.getfixturevalue("redis_server").url


@pytest.fixture
async def pool_service(dirs: tuple[Path, Path], store: str) -> AsyncIterator[Service]:
    async with Service(dumps_dir=dirs[0], plans_dir=dirs[1], store=store) as running:
        yield running


@pytest.fixture
async def pool_http(pool_service: Service) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    async with httpx.AsyncClient(base_url=pool_service.url, timeout=20.0, limits=limits) as client:
        yield client
