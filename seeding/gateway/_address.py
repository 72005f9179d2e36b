"""Gateway addresses checked when they are read, so a typo is one line of bad usage, not a hung channel.

``grpc_target("")`` or ``grpc_target("dns:///")`` used to reach grpc-core, which retried name
resolution until the caller's timeout and then hung the interpreter's shutdown; ``http_url("host:1")``
(no scheme) raised deep inside httpx. Both raise ``ValueError`` here with a message that says what
is accepted. Plain string work only: settings and argument parsing import this without grpc or httpx.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["Transport", "grpc_target", "http_url", "port_number"]

Transport = Literal["grpc", "http"]  # each one's row, with the kind of address it takes: ``_transports``

# Schemes grpc-core resolves itself; anything else is "host:port" (grpc prepends dns:///).
_GRPC_SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:", "vsock:")
_HOST = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_BRACKETED = re.compile(r"\[([0-9A-Fa-f:.%a-z]+)\]")


def port_number(text: str, *, what: str = "port") -> int:
    """``text`` as a TCP port, 1-65535."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{what} must be a number within 1-65535, got {text!r}")
    return int(text)


def grpc_target(text: str) -> str:
    """A gRPC target grpc-core can resolve: ``host:port``, ``[::1]:port``, ``dns:///host:port``, ``unix:path``."""
    target = text.strip()
    if not target:
        raise ValueError("the gRPC target is empty (expected host:port, for example localhost:9003)")
    scheme = next((s for s in _GRPC_SCHEMES if target.startswith(s)), None)
    if scheme is None:
        _host_port(target, text)
    elif scheme == "dns:":
        rest = target[len(scheme) :]
        if rest.startswith("//"):  # dns://authority/host:port: the authority (a DNS server) may be empty
            _, slash, rest = rest[2:].partition("/")
            if not slash:
                raise ValueError(f"gRPC target {text!r}: expected dns:///host:port")
        _host_port(rest, text)
    elif scheme in ("ipv4:", "ipv6:"):
        for address in target[len(scheme) :].split(","):
            _ip_port(address, scheme, text)
    elif not target[len(scheme) :].strip("/"):
        raise ValueError(f"gRPC target {text!r} names no address after {scheme!r}")
    return target


def _ip_port(address: str, scheme: str, text: str) -> None:
    """One address of an ``ipv4:`` / ``ipv6:`` target: grpc-core takes no host names there."""
    address = address.removeprefix("//").lstrip("/")
    if scheme == "ipv6:":
        host, _, port = address.partition("]:") if address.startswith("[") else (address, "", "")
        host = host.strip("[]")
    else:
        host, _, port = address.partition(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"gRPC target {text!r}: {host!r} is not an IP address") from None
    if port:
        port_number(port, what=f"gRPC target {text!r}: the port")


def _host_port(address: str, text: str) -> None:
    if "://" in address or "/" in address:
        raise ValueError(f"gRPC target {text!r} is not host:port (a URL is for --http-url)")
    bracketed = _BRACKETED.match(address)
    if bracketed:
        host, rest = bracketed.group(0), address[bracketed.end() :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"gRPC target {text!r} is not [ipv6]:port")
        port = rest[1:] if rest else None
    else:
        host, colon, port_text = address.rpartition(":")
        if not colon:
            host, port = address, None
        else:
            port = port_text
        if not host or not _HOST.fullmatch(host):
            raise ValueError(f"gRPC target {text!r} has no valid host (expected host:port, for example localhost:9003)")
    if port is not None:
        port_number(port, what=f"gRPC target {text!r}: the port")


def http_url(text: str) -> str:
    """An ``http://`` or ``https://`` URL with a host (and a valid port, if any); no trailing slash."""
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        shown = f"{parts.scheme}://" if parts.scheme and "://" in url else "no scheme"
        raise ValueError(f"HTTP URL {text!r} must start with http:// or https:// (it has {shown})")
    if not parts.hostname:
        raise ValueError(f"HTTP URL {text!r} has no host")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise ValueError(f"HTTP URL {text!r}: the port must be a number within 1-65535") from None
    if parts.port == 0:
        raise ValueError(f"HTTP URL {text!r}: the port must be a number within 1-65535")
    if parts.query or parts.fragment:
        raise ValueError(f"HTTP URL {text!r} must not carry a query or fragment")
    return url.rstrip("/")
