"""``Stand``: the in-memory gateway on both transports, one bank behind both, in this event loop."""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import Any, Protocol

from seeding.gateway import Transport, transport_spec

from ..serving import StartStop
from ._bank import Bank
from ._faults import Faults
from ._options import StandOptions

__all__ = ["Stand"]


class Server(Protocol):
    """One transport's side of the stand (``HttpServer``, ``GrpcServer``), built on the shared bank."""

    def __init__(self, bank: Bank, faults: Faults) -> None: ...

    async def start(self, host: str, port: int) -> int: ...

    async def stop(self) -> None: ...


def _server_class(path: str) -> type[Server]:
    module, _, name = path.partition(":")
    server: type[Server] = getattr(importlib.import_module(module, __package__), name)  # imported by name
    return server


class Stand(StartStop):
    """The embedded stand: ``async with Stand() as stand:`` then point a client at ``stand.target(t)``.

    Configured by a ``StandOptions`` and/or its fields as keywords (``Stand(latency_ms=20)``): port 0
    picks a free port, the real ones are known after ``start()``; the fault fields configure
    ``stand.faults`` (see ``Faults``); ``missing_receipt_delay_s`` is how long a receipt that does
    not exist takes to fail (the real gateway: ~2.5 s over HTTP, ~5 s over gRPC; here 0 by default);
    ``max_in_flight`` bounds the calls served at once over both transports together, queueing the
    rest, as a gateway with that many workers does (None: no bound). ``stand.bank`` is the state,
    for tests.
    """

    def __init__(self, options: StandOptions | None = None, **fields: Any) -> None:
        self.options = options = replace(options or StandOptions(), **fields)
        self.host = options.host
        self.bank = Bank(seed=options.seed, missing_receipt_delay_s=options.missing_receipt_delay_s)
        self.faults = Faults.from_options(options)
        self._servers: list[Server] = []
        self._ports: dict[Transport, int] = {}  # transport → port bound, once every server listens

    @property
    def started(self) -> bool:
        return bool(self._ports)

    @property
    def http_port(self) -> int:
        return self._port("http")

    @property
    def grpc_port(self) -> int:
        return self._port("grpc")

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:PORT``: the base URL of the HTTP side (routes add ``/api/v1/...``)."""
        return self.target("http")

    @property
    def grpc_target(self) -> str:
        """``127.0.0.1:PORT``: the gRPC target, plaintext."""
        return self.target("grpc")

    @property
    def addresses(self) -> dict[str, str]:
        """``{transport: address}`` of every side, as the ready line names them."""
        return {transport: self.target(transport) for transport in self._ports}

    def target(self, transport: Transport) -> str:
        """The address a client of ``transport`` ("grpc" or "http") connects to."""
        return transport_spec(transport).address(self.host, self._port(transport))

    async def start(self) -> None:
        """Bind every side's port and serve; ``StandStartError`` (nothing left running) if one is taken."""
        if self.started or self._servers:
            raise RuntimeError("stand already started")
        ports: dict[Transport, int] = {}
        try:
            for transport, server_class, port in self.options.servers():
                server = _server_class(server_class)(self.bank, self.faults)
                self._servers.append(server)
                ports[transport] = await server.start(self.host, port)
        except BaseException:
            await self.stop()
            raise
        self._ports = ports

    async def stop(self) -> None:
        """Stop serving; calls still in flight get a short grace period. Safe to call twice."""
        servers, self._servers = self._servers, []
        self._ports = {}
        for server in reversed(servers):
            await server.stop()

    def _port(self, transport: str) -> int:
        if transport not in self._ports:
            raise RuntimeError("stand not started: use 'async with Stand()' or 'await stand.start()'")
        return self._ports[transport]
