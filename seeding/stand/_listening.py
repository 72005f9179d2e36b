"""Listening on a port with a clear error: what every server of the stand shares.

grpc says only "Failed to add port" and aiohttp raises a bare ``OSError``; a stand that cannot
start must say which side, which address and why, in one line (``StandStartError``).
"""

from __future__ import annotations

import errno
import socket

from ._errors import StandStartError

__all__ = ["STOP_GRACE_S", "bind_failure", "hostport", "probe_port"]

STOP_GRACE_S = 1.0  # in-flight calls get this long to finish on stop


def hostport(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def probe_port(what: str, host: str, port: int) -> None:
    """Fail with a clear message if ``port`` cannot be bound, before a server logs its own error."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is fine
            probe.bind(address)
    except OSError as exc:
        raise StandStartError(bind_failure(what, host, port, exc)) from None


def bind_failure(what: str, host: str, port: int, exc: OSError) -> str:
    """The one line for a failed bind: ``cannot listen for HTTP on 127.0.0.1:8003: address already in use``."""
    where = hostport(host, port)
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen for {what} on {where}: address already in use"
    return f"cannot listen for {what} on {where}: {exc.strerror or exc}"
