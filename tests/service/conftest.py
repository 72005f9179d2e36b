"""Service fixtures: a service on a free loopback port with its own dumps and plans dirs, an HTTP client, dumps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
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
