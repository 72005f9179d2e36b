"""``--max-in-flight N``: the stand serves at most N calls at once over both transports and queues
the rest in arrival order, its latency applying while a call is served; bad values are one-line errors."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import grpc
import pytest

from contracts.services.gateway.users import rpc_create_user_pb2, users_gateway_service_pb2_grpc
from seeding.stand import Faults, Stand, StandOptions, StandProcess

PROJECT_ROOT = Path(__file__).resolve().parents[2]
USER = {"lastName": "L", "firstName": "F", "middleName": "M", "phoneNumber": "1"}


async def burst(http_url: str, grpc_target: str, per_transport: int) -> list[float]:
    """``per_transport`` CreateUser calls at once on each transport; when each answered (monotonic)."""
    finished: list[float] = []
    async with (
        aiohttp.ClientSession(base_url=http_url, connector=aiohttp.TCPConnector(limit=0)) as http,
        grpc.aio.insecure_channel(grpc_target) as channel,
    ):
        stub = users_gateway_service_pb2_grpc.UsersGatewayServiceStub(channel)

        async def over_http(i: int) -> None:
            async with http.post("/api/v1/users", json={"email": f"h{i}@example.com", **USER}) as response:
                assert response.status == 200, await response.text()
            finished.append(time.monotonic())

        async def over_grpc(i: int) -> None:
            await stub.CreateUser(rpc_create_user_pb2.CreateUserRequest(email=f"g{i}@example.com"), timeout=30)
            finished.append(time.monotonic())

        calls = [*(over_http(i) for i in range(per_transport)), *(over_grpc(i) for i in range(per_transport))]
        await asyncio.wait_for(asyncio.gather(*calls), timeout=60)
    return sorted(finished)


async def test_at_most_n_served_at_once_the_rest_queued_on_both_transports() -> None:
    async with Stand(latency_ms=100, max_in_flight=3) as stand:
        started = time.monotonic()
        finished = await burst(stand.http_url, stand.grpc_target, per_transport=6)
        assert stand.faults.peak_in_flight == 3  # never more than the workers, and all of them used
        assert stand.faults.peak_queued >= 6  # the others waited their turn
        assert stand.faults.in_flight == stand.faults.queued == 0
        assert len(stand.bank.users) == 12  # queued calls are served, not refused
    # 12 calls, 3 at a time, 100 ms each: four rounds, so at least 0.4 s (a lower bound holds on any machine)
    assert finished[-1] - started >= 0.39


async def test_without_a_limit_every_call_is_served_at_once() -> None:
    async with Stand(latency_ms=100) as stand:
        await burst(stand.http_url, stand.grpc_target, per_transport=6)
        assert stand.faults.peak_in_flight >= 10 and stand.faults.peak_queued == 0


def test_stand_process_bounds_service_over_real_sockets() -> None:
    # Observed from outside: with 2 workers and 150 ms per call, the third answer comes at least one
    # latency after the first, the fifth one after the third, and so on.
    with StandProcess(latency_ms=150, max_in_flight=2) as stand:
        assert "--max-in-flight=2" in stand.options.args()
        started = time.monotonic()
        finished = asyncio.run(burst(stand.http_url, stand.grpc_target, per_transport=4))
    assert finished[-1] - started >= 4 * 0.15 - 0.01
    assert all(later - earlier >= 0.14 for earlier, later in zip(finished, finished[2:], strict=False))


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "--max-in-flight: must be at least 1, got 0"),
        ("-4", "--max-in-flight: must be at least 1, got -4"),
        ("many", "--max-in-flight: 'many' is not a whole number"),
        ("2.5", "--max-in-flight: '2.5' is not a whole number"),
        ("", "--max-in-flight: '' is not a whole number"),
    ],
)
def test_bad_max_in_flight_is_one_line_and_exit_2(value: str, says: str) -> None:
    command = [sys.executable, "-m", "seeding.stand", "--max-in-flight", value]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=PROJECT_ROOT)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr


@pytest.mark.parametrize("value", [0, -1])
def test_bad_max_in_flight_in_python_is_a_value_error(value: int) -> None:
    with pytest.raises(ValueError, match="max_in_flight must be at least 1"):
        Faults(max_in_flight=value)
    with pytest.raises(ValueError, match="max_in_flight must be at least 1"):
        Stand(StandOptions(max_in_flight=value))


def test_help_says_what_the_option_does() -> None:
    command = [sys.executable, "-m", "seeding.stand", "--help"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=PROJECT_ROOT)
    assert "--max-in-flight" in result.stdout and "queue the rest" in " ".join(result.stdout.split())
