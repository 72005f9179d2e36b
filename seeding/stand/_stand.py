"""``Stand``: the in-memory gateway on both transports, one bank behind both, in this event loop."""

from __future__ import annotations

import errno
import socket
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

import grpc
from aiohttp import web

from seeding.gateway import Transport, transport_spec

from ._bank import Bank
from ._errors import StandStartError
from ._faults import Faults
from ._grpc_server import build_server
from ._http_server import REQUEST_LOG, build_app
from ._options import StandOptions

__all__ = ["Stand"]


_HTTP_BACKLOG = 2048  # hundreds of clients connecting at once must not overflow the accept queue
_STOP_GRACE_S = 1.0  # in-flight calls get this long to finish on stop


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Stand:
    """The embedded stand: ``async with Stand() as stand:`` then point a client at ``stand.target(t)``.

    Configured by a ``StandOptions`` and/or its fields as keywords (``Stand(latency_ms=20)``): port 0
    picks a free port, the real ones are known after ``start()``; the fault fields configure
    ``stand.faults`` (see ``Faults``); ``missing_receipt_delay_s`` is how long a receipt that does
    not exist takes to fail (the real gateway: ~2.5 s over HTTP, ~5 s over gRPC; here 0 by default).
    ``stand.bank`` is the state, for tests.
    """

    def __init__(self, options: StandOptions | None = None, **fields: Any) -> None:
        self.options = options = replace(options or StandOptions(), **fields)
        self.host = options.host
        self._requested_ports = (options.http_port, options.grpc_port)
        self.bank = Bank(seed=options.seed, missing_receipt_delay_s=options.missing_receipt_delay_s)
        self.faults = Faults.from_options(options)
        self._runner: web.AppRunner | None = None
        self._grpc: grpc.aio.Server | None = None
        self._http_port: int | None = None
        self._grpc_port: int | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def started(self) -> bool:
        return self._http_port is not None

    @property
    def http_port(self) -> int:
        return self._bound(self._http_port)

    @property
    def grpc_port(self) -> int:
        return self._bound(self._grpc_port)

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:PORT``: the base URL of the HTTP side (routes add ``/api/v1/...``)."""
        return f"http://{_hostport(self.host, self.http_port)}"

    @property
    def grpc_target(self) -> str:
        """``127.0.0.1:PORT``: the gRPC target, plaintext."""
        return _hostport(self.host, self.grpc_port)

    def target(self, transport: Transport) -> str:
        """The address a client of ``transport`` ("grpc" or "http") connects to."""
        return getattr(self, transport_spec(transport).stand)

    async def start(self) -> None:
        """Bind both ports and serve; ``StandStartError`` (nothing left running) if a port is taken."""
        if self.started:
            raise RuntimeError("stand already started")
        http_port, grpc_port = self._requested_ports
        try:
            await self._start_http(http_port)
            await self._start_grpc(grpc_port)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop serving; calls still in flight get a short grace period. Safe to call twice."""
        server, self._grpc = self._grpc, None
        runner, self._runner = self._runner, None
        self._http_port = self._grpc_port = None
        if server is not None:
            await server.stop(_STOP_GRACE_S)
        if runner is not None:
            await runner.cleanup()

    async def _start_http(self, port: int) -> None:
        self._runner = web.AppRunner(
            build_app(self.bank, self.faults), access_log=None, logger=REQUEST_LOG, shutdown_timeout=_STOP_GRACE_S
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port, backlog=_HTTP_BACKLOG)
        try:
            await site.start()
        except OSError as exc:
            raise StandStartError(self._bind_failure("HTTP", port, exc)) from None
        self._http_port = self._runner.addresses[0][1]

    async def _start_grpc(self, port: int) -> None:
        if port:
            self._probe_port("gRPC", port)
        self._grpc = build_server(self.bank, self.faults)
        try:
            bound = self._grpc.add_insecure_port(_hostport(self.host, port))
        except RuntimeError:  # grpc says only "Failed to add port"; the probe above says why, mostly
            where = _hostport(self.host, port)
            raise StandStartError(f"cannot listen for gRPC on {where}: address in use or unavailable") from None
        await self._grpc.start()
        self._grpc_port = bound

    def _probe_port(self, what: str, port: int) -> None:
        """Fail with a clear message if ``port`` cannot be bound, before grpc logs its own error."""
        try:
            infos = socket.getaddrinfo(self.host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            family, kind, proto, _, address = infos[0]
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is fine
                probe.bind(address)
        except OSError as exc:
            raise StandStartError(self._bind_failure(what, port, exc)) from None

    def _bind_failure(self, what: str, port: int, exc: OSError) -> str:
        where = _hostport(self.host, port)
        if exc.errno == errno.EADDRINUSE:
            return f"cannot listen for {what} on {where}: address already in use"
        return f"cannot listen for {what} on {where}: {exc.strerror or exc}"

    def _bound(self, port: int | None) -> int:
        if port is None:
            raise RuntimeError("stand not started: use 'async with Stand()' or 'await stand.start()'")
        return port
