"""Shared fixtures: an embedded stand on free loopback ports, and a client per transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from seeding.gateway import GatewayClient, Transport, connect
from seeding.stand import Stand

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
