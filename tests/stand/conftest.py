"""Fixtures for the stand's own tests: raw clients (no seeding client) on the shared ``stand``."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable

import aiohttp
import grpc
import pytest

from seeding.stand import Stand


@pytest.fixture
async def http(stand: Stand) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session on the stand's HTTP side; paths start with /api/v1."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(base_url=stand.http_url, connector=connector) as session:
        yield session


@pytest.fixture
async def channel(stand: Stand) -> AsyncIterator[grpc.aio.Channel]:
    """A plain grpc.aio channel on the stand's gRPC side."""
    async with grpc.aio.insecure_channel(stand.grpc_target) as ch:
        yield ch


@pytest.fixture
def new_email() -> Callable[[], str]:
    """Unique, valid emails: the stand refuses a second user with the same one."""
    counter = itertools.count()
    return lambda: f"user{next(counter)}@example.com"
