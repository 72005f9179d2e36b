"""Calls per second of one cheap route at 10 to 300 in flight, per HTTP client stack and for gRPC.

Why this exists: the HTTP gateway client had to pick an HTTP stack. A plain ``httpx.AsyncClient``
loses most of its rate once ~50 calls are in flight (its pool scans every connection for each
request); this script shows that next to httpx on the aiohttp transport (what
``HttpGatewayClient`` uses), plain aiohttp as a ceiling, and our gRPC client, in one run.

    python bench/http_transports.py [--calls 2000] [--cap 8] [--in-flight 10 50 100 300]

The stand runs in its own process (``StandProcess``) on loopback ports, so server and client do
not share an event loop. Each cell makes at most ``--calls`` calls of ``GetUser`` for one existing
user, and stops after ``--cap`` seconds (calls still in flight then are cancelled, not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, not installed

from seeding.gateway import connect
from seeding.stand import StandProcess

Call = Callable[[], Awaitable[object]]


def _checked(get: Callable[[], Awaitable[httpx.Response]]) -> Call:
    async def call() -> object:
        response = await get()
        response.raise_for_status()
        return response.content

    return call


@asynccontextmanager
async def httpx_default(http_url: str, grpc_target: str, user_id: str) -> AsyncIterator[Call]:
    async with httpx.AsyncClient(base_url=http_url) as client:
        yield _checked(lambda: client.get(f"/api/v1/users/{user_id}"))


@asynccontextmanager
async def httpx_raised_limits(http_url: str, grpc_target: str, user_id: str) -> AsyncIterator[Call]:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    async with httpx.AsyncClient(base_url=http_url, limits=limits) as client:
        yield _checked(lambda: client.get(f"/api/v1/users/{user_id}"))


@asynccontextmanager
async def httpx_on_aiohttp(http_url: str, grpc_target: str, user_id: str) -> AsyncIterator[Call]:
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=100))
    async with httpx.AsyncClient(base_url=http_url, transport=transport) as client:
        yield _checked(lambda: client.get(f"/api/v1/users/{user_id}"))


@asynccontextmanager
async def plain_aiohttp(http_url: str, grpc_target: str, user_id: str) -> AsyncIterator[Call]:
    async with aiohttp.ClientSession(base_url=http_url) as session:

        async def call() -> object:
            async with session.get(f"/api/v1/users/{user_id}") as response:
                response.raise_for_status()
                return await response.read()

        yield call


@asynccontextmanager
async def our_http_client(http_url: str, grpc_target: str, user_id: str) -> AsyncIterator[Call]:
    async with connect("http", http_url) as gateway:
        yield lambda: gateway.get_user(user_id)


@asynccontextmanager
async def our_grpc_client(http_url: str, grpc_target: str, user_id: str) -> AsyncIterator[Call]:
    async with connect("grpc", grpc_target) as gateway:
        yield lambda: gateway.get_user(user_id)


STACKS = {
    "httpx.AsyncClient (default pool)": httpx_default,
    "httpx.AsyncClient (limits 1000)": httpx_raised_limits,
    "httpx + AiohttpTransport (raw GET)": httpx_on_aiohttp,
    "HttpGatewayClient.get_user (ours)": our_http_client,
    "aiohttp.ClientSession (ceiling)": plain_aiohttp,
    "GrpcGatewayClient.get_user (ours)": our_grpc_client,
}


async def measure(call: Call, in_flight: int, calls: int, cap: float) -> tuple[float, int, int]:
    """(calls/s, calls done, errors) with ``in_flight`` workers sharing ``calls`` calls, within ``cap`` s."""
    await asyncio.gather(*(call() for _ in range(min(in_flight, 50))))  # warm up connections
    remaining = calls
    done = errors = 0

    async def worker() -> None:
        nonlocal remaining, done, errors
        while remaining > 0:
            remaining -= 1
            try:
                await call()
                done += 1
            except Exception:
                errors += 1

    started = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(in_flight)]
    _, pending = await asyncio.wait(tasks, timeout=cap)
    elapsed = time.perf_counter() - started
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return done / elapsed, done, errors


async def run(levels: list[int], calls: int, cap: float, http_url: str, grpc_target: str) -> None:
    async with connect("http", http_url) as gateway:
        user = await gateway.create_user(
            email="bench@example.com", last_name="B", first_name="B", middle_name="B", phone_number="1"
        )
    width = max(map(len, STACKS))
    print(f"{'calls/s of GetUser':<{width}} | " + " | ".join(f"{n:>5} in flight" for n in levels))
    print("-" * width + "-|-" + "-|-".join("-" * 14 for _ in levels))
    for name, stack in STACKS.items():
        cells = []
        for in_flight in levels:
            async with stack(http_url, grpc_target, user.id) as call:
                rate, done, errors = await measure(call, in_flight, calls, cap)
            note = "" if done == calls else "*"
            note += f" {errors}err" if errors else ""
            cells.append(f"{rate:>12,.0f}{note:<2}")
        print(f"{name:<{width}} | " + " | ".join(cells), flush=True)
    print(f"\n* stopped by the {cap:g} s cap before {calls} calls.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per cell (default 2000)")
    parser.add_argument("--cap", type=float, default=8.0, help="seconds per cell at most (default 8)")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[10, 50, 100, 300])
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, httpx {httpx.__version__}, "
        f"aiohttp {aiohttp.__version__}; stand in a subprocess on loopback\n"
    )
    with StandProcess() as stand:
        asyncio.run(run(args.in_flight, args.calls, args.cap, stand.http_url, stand.grpc_target))


if __name__ == "__main__":
    main()
