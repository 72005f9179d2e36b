"""kill -9 of the service in the middle of a run: the restarted service says interrupted, resume ends exact."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from seeding import open_dump
from seeding.gateway import Transport
from seeding.service import ServiceProcess
from seeding.stand import Stand

from .conftest import wait_run

USERS = 40
PLAN = {"scenario": "crash", "users": {"count": USERS, "debit_card_accounts": {"count": 1, "top_up_operations": 2}}}
PER_USER = 1 + 1 + 2


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_kill_9_mid_run_then_resume_is_exact(dirs: tuple[Path, Path], transport: Transport) -> None:
    dumps, plans = dirs
    async with Stand(latency_ms=15) as stand:  # ~4 s of calls at concurrency 4: killed well inside
        with ServiceProcess(dumps_dir=dumps, plans_dir=plans) as first:
            async with httpx.AsyncClient(base_url=first.url) as http:
                body = {"plan": PLAN, "transport": transport, "target": stand.target(transport), "concurrency": 4}
                run_id = (await http.post("/v1/runs", json=body)).json()["run"]["id"]
                deadline = time.monotonic() + 30
                while (await http.get(f"/v1/runs/{run_id}")).json()["run"]["done"] < 20 * PER_USER:
                    assert time.monotonic() < deadline, "the run made no progress"
                    await asyncio.sleep(0.02)
                first.kill()
        created_before = len(stand.bank.users)
        assert 20 <= created_before < USERS
        with ServiceProcess(dumps_dir=dumps, plans_dir=plans) as second:
            async with httpx.AsyncClient(base_url=second.url) as http:
                interrupted = (await http.get(f"/v1/runs/{run_id}")).json()["run"]
                assert interrupted["state"] == "interrupted"
                resumed = await http.post(f"/v1/runs/{run_id}/resume")
                assert resumed.status_code == 202, resumed.text
                final = await wait_run(http, run_id)
    assert final["state"] == "succeeded", final
    assert (final["done"], final["planned"], final["missing"]) == (USERS * PER_USER,) * 2 + (0,)
    users = open_dump(dumps / "crash_seeds.json").users
    ids = [user.user_id for user in users]
    assert len(ids) == USERS and len(set(ids)) == USERS  # no duplicates in the dump
    assert set(ids) <= set(stand.bank.users)
    # Users in flight at the kill were created on the gateway but never journaled: at most the concurrency.
    assert USERS <= len(stand.bank.users) <= USERS + 4
    for user in users:
        (account,) = user.debit_card_accounts
        assert len(stand.bank.get_operations(account.account_id)) == 2
    assert not (dumps / "crash_seeds.journal").exists()
