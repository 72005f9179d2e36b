"""``BoundedListener``: every connection to an aiohttp server bounded in time and in number.

aiohttp bounds sizes (request line and header fields, ``client_max_size``) but not time before a
request is parsed: before 3.14 a connection that sends half a request head is held forever, and
nothing caps how many are open, so anyone who reaches the port can use up the descriptors (the
accept loop then fails and logs a traceback per attempt). aiohttp has no knob for either, and a
reverse proxy in front is more than a test service should need, so the smallest mechanism is here:

- the listener is our own ``loop.create_server`` whose protocol factory wraps aiohttp's handler;
- a connection whose request head (up to the blank line) is not in within ``header_timeout`` of
  its opening is answered 408 and closed; after a response, aiohttp's own ``keepalive_timeout``
  closes an idle (or half-sent) connection; a body is read within ``body_timeout`` by the handler
  that reads it (``read_body``), and an unread body is drained at most ``lingering_time``;
- at ``max_connections`` open (by default 64 under the process's descriptor limit), a new
  connection is answered 503 and closed at once, with one warning line when the cap is reached
  (and one when it is left), so the accept loop never runs out of descriptors;
- a request aiohttp cannot parse (bad chunk size, unknown method, 20 kB header) is answered with
  the JSON error body of every other refusal, and logged as one line (``OneLineLog``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import socket
import time
from dataclasses import dataclass
from typing import Any, cast

import orjson
from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestHandler

__all__ = ["BoundedListener", "ConnectionLimits", "read_body"]

_RESERVED_FDS = 64  # for dump files, journals, logs, the gateway's connections
# asyncio accepts up to its ``backlog`` argument at each wake-up, and a socket accepted (then refused)
# is closed two loop turns later: a few batches of descriptors must be free beyond the cap. The
# kernel's queue is set apart (``listen`` again on the socket).
_ACCEPT_BATCH = 16
_IN_FLIGHT_BATCHES = 4
_HEAD_END = b"\r\n\r\n"
_BAD_METHOD = getattr(http_exceptions, "BadHttpMethod", ())


@dataclass(frozen=True)
class ConnectionLimits:
    """How long and how many: ``max_connections=None`` is the descriptor limit less 64."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 15.0
    lingering_time: float = 2.0
    max_connections: int | None = None

    def cap(self) -> int:
        """The connections served at once."""
        if self.max_connections is not None:
            return self.max_connections
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            soft = 1 << 16
        return max(8, soft - _RESERVED_FDS - _ACCEPT_BATCH * _IN_FLIGHT_BATCHES)

    def handler_args(self) -> dict[str, Any]:
        """What aiohttp's own request handler takes from these limits."""
        return {"keepalive_timeout": self.keepalive_timeout, "lingering_time": self.lingering_time}


def _json_response(status: int, message: str) -> web.Response:
    response = web.Response(
        body=orjson.dumps({"error": " ".join(message.split())[:500]}), status=status, content_type="application/json"
    )
    response.force_close()
    return response


def _raw_answer(status: int, reason: str, message: str) -> bytes:
    body = orjson.dumps({"error": message})
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class _Handler(RequestHandler):
    """aiohttp's request handler, answering what it cannot parse with a JSON error instead of plain text."""

    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs (one line) and checks nothing was sent
        if _BAD_METHOD and isinstance(exc, _BAD_METHOD):
            return _json_response(405, f"method not allowed: {' '.join(str(exc).split())[:200]}")
        reason = " ".join(str(exc or message or "").split())[:300]
        return _json_response(status, f"the request cannot be parsed: {reason}" if status < 500 else reason)


class _Bounded(asyncio.Protocol):
    """One connection: aiohttp's handler inside, a deadline on its first request head around it."""

    def __init__(self, listener: BoundedListener, inner: RequestHandler) -> None:
        self._listener = listener
        self._inner = inner
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is one without subclassing asyncio.Transport, so no isinstance check).
        self._transport = transport = cast(asyncio.Transport, transport)
        self._listener.opened()
        timeout = self._listener.limits.header_timeout
        self._timer = asyncio.get_running_loop().call_later(timeout, self._too_slow)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._timer is not None:
            seen = self._tail + data
            if _HEAD_END in seen:
                self._timer.cancel()
                self._timer = None
                self._tail = b""
            else:
                self._tail = seen[-3:]
        self._inner.data_received(data)

    def eof_received(self) -> None:
        self._inner.eof_received()  # aiohttp's handler answers None: the transport closes itself

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._listener.closed()
        self._inner.connection_lost(exc)

    def _too_slow(self) -> None:
        self._timer = None
        transport = self._transport
        if transport is not None and not transport.is_closing():
            self._listener.slow += 1
            seconds = self._listener.limits.header_timeout
            transport.write(_raw_answer(408, "Request Timeout", f"no complete request head within {seconds:g} s"))
            transport.close()


class _Refused(asyncio.Protocol):
    """A connection over the cap: 503 and closed, before aiohttp sees it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # a stream transport, whichever event loop made it
        transport.write(_raw_answer(503, "Service Unavailable", "too many connections open; try again shortly"))
        transport.close()


class _OneLineAcceptErrors(logging.Filter):
    """asyncio's "socket.accept() out of system resource", with its traceback, at most once every 10 s.

    The cap keeps descriptors free, but another part of the process may use them up; asyncio then
    retries every second and logs a traceback each time.
    """

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("socket.accept() out of system resource"):
            return True
        now = time.monotonic()
        if now - self._last < 10.0:
            return False
        self._last = now
        exc = record.exc_info[1] if record.exc_info else None
        reason = getattr(exc, "strerror", None) or exc or "unknown"
        record.msg, record.args, record.exc_info, record.exc_text = (
            "cannot accept connections: %s (descriptors used up; asyncio retries every second)",
            (reason,),
            None,
            None,
        )
        return True


_ACCEPT_LOG = logging.getLogger("asyncio")
_ONE_LINE_ACCEPT_ERRORS = _OneLineAcceptErrors()


class BoundedListener:
    """Serves an ``AppRunner`` (already set up) on ``host:port`` within ``limits``.

    Build the runner with ``**limits.handler_args()`` and ``logger=OneLineLog(...)``, and pass the
    same logger here (it is what aiohttp's handler logs unparsable requests to), and the access log
    arguments given to the runner as ``handler_args``: the handlers are made here, not by the runner.
    """

    def __init__(
        self,
        runner: web.AppRunner,
        limits: ConnectionLimits,
        *,
        logger: logging.LoggerAdapter[logging.Logger] | logging.Logger,
        handler_args: dict[str, Any] | None = None,
    ) -> None:
        self.limits = limits
        self._handler_args = {"access_log": None, **(handler_args or {}), **limits.handler_args()}
        self._runner = runner
        self._logger = logger
        self._cap = limits.cap()
        self._server: asyncio.Server | None = None
        self.open = 0
        self.refused = 0
        self.slow = 0
        self._at_cap = False

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int, *, backlog: int = 2048) -> None:
        """Listen; raises ``OSError`` when the address cannot be bound."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, host, port, backlog=_ACCEPT_BATCH, reuse_address=True, family=socket.AF_UNSPEC
        )
        for listening in self._server.sockets:  # the kernel's queue stays deep: hundreds may connect at once
            with socket.socket(fileno=os.dup(listening.fileno())) as same:
                same.listen(backlog)
        _ACCEPT_LOG.addFilter(_ONE_LINE_ACCEPT_ERRORS)

    def _protocol(self) -> asyncio.Protocol:
        if self.open >= self._cap:
            self.refused += 1
            if not self._at_cap:
                self._at_cap = True
                self._logger.warning(
                    "%d connections open, the cap: new ones are answered 503 until some close", self._cap
                )
            return _Refused()
        server = self._runner.server
        assert server is not None, "the runner is not set up"
        inner = _Handler(
            server,
            loop=asyncio.get_running_loop(),
            logger=self._logger,  # type: ignore[arg-type]  # aiohttp annotates a Logger; an adapter logs alike
            **self._handler_args,
        )
        return _Bounded(self, inner)

    def opened(self) -> None:
        self.open += 1

    def closed(self) -> None:
        self.open -= 1
        if self._at_cap and self.open < self._cap * 9 // 10:
            self._at_cap = False
            self._logger.warning("connections back under the cap (%d open, %d refused)", self.open, self.refused)

    async def close(self) -> None:
        """Stop listening (open connections are the runner's to close, on its cleanup)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            _ACCEPT_LOG.removeFilter(_ONE_LINE_ACCEPT_ERRORS)


async def read_body(request: web.Request, limits: ConnectionLimits) -> bytes:
    """The request's body, read within ``limits.body_timeout`` (else a 408 ``HTTPException``)."""
    try:
        return await asyncio.wait_for(request.read(), limits.body_timeout)
    except TimeoutError:
        raise web.HTTPRequestTimeout(reason=f"the body did not arrive within {limits.body_timeout:g} s") from None
