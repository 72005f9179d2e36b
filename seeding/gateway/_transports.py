"""One table of transports: everything outside the two clients that differs between gRPC and HTTP.

A new transport is a client module, a row here, and the stand's side of it (a server module and
its port field in ``stand/_options.py``); its settings section is ``<SECTION>.TARGET`` / ``.TIMEOUT``
unless the row names a model of its own (the course's names for gRPC and HTTP); every place that used to choose
with ``if transport == "grpc"`` (connecting, the settings' sections, command-line flags, the
stand's addresses, the seeder's child process, Locust's ``--host``) reads its row instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ._address import Transport, grpc_target, http_url

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ._client import GatewayClient

__all__ = ["DEFAULT_TRANSPORT", "TRANSPORTS", "Transport", "TransportSpec", "transport_spec"]

DEFAULT_TRANSPORT: Transport = "grpc"  # when neither --transport nor SEEDING.TRANSPORT says


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ClientClass(Protocol):
    """A transport's client class: made from an address and a per-call timeout."""

    def __call__(self, target: str, /, *, timeout: float = ...) -> GatewayClient: ...


class ClientSettings(Protocol):
    """What every transport's settings section has, whatever its own names (the course's HOST / PORT)."""

    @property
    def target(self) -> str: ...

    @property
    def timeout(self) -> float: ...


@dataclass(frozen=True)
class TransportSpec:
    name: Transport
    client: Callable[[], ClientClass]  # the client class, imported when asked for (grpc, aiohttp are heavy)
    default_target: str
    describe: str  # what its address is called in errors: "gRPC target"
    check: Callable[[str], str]  # the address, checked (ValueError names what is accepted)
    flag: str  # the command line's option for the address: "--grpc-target"
    settings: str  # the Settings section of its client: "gateway_grpc_client"
    # That section's model (.target, .timeout), imported when asked for (pydantic); None: TARGET, TIMEOUT.
    settings_model: Callable[[], type[BaseModel]] | None
    address: Callable[[str, int], str]  # how a server listening on (host, port) is addressed
    locust_host: Callable[[str], str | None]  # Locust's --host as an address of this transport, if it is one

    @property
    def dest(self) -> str:
        """The argparse attribute of ``flag``."""
        return self.flag.removeprefix("--").replace("-", "_")

    def client_class(self) -> ClientClass:
        return self.client()

    def settings_class(self) -> type[BaseModel]:
        """The model of this transport's settings section (pydantic: ``--help`` never builds it)."""
        if self.settings_model is None:
            from ._client_settings import target_settings

            return target_settings(f"{self.name.title()}ClientSettings", self.default_target, self.check)
        return self.settings_model()

    def client_settings(self, settings: Any) -> ClientSettings:
        """This transport's client settings (``.target``, ``.timeout``) out of ``Settings``."""
        section: ClientSettings = getattr(settings, self.settings)
        return section


# Each row's classes, imported on first use: ``--help`` and reading a dump import neither grpc nor pydantic.
def _grpc_client() -> ClientClass:
    from ._grpc_client import GrpcGatewayClient

    return GrpcGatewayClient


def _http_client() -> ClientClass:
    from ._http_client import HttpGatewayClient

    return HttpGatewayClient


def _grpc_settings() -> type[BaseModel]:
    from ._client_settings import GrpcClientSettings

    return GrpcClientSettings


def _http_settings() -> type[BaseModel]:
    from ._client_settings import HttpClientSettings

    return HttpClientSettings


def _grpc_host(host: str) -> str | None:
    if host.startswith("grpc://"):
        return host.removeprefix("grpc://").rstrip("/")
    return None if "://" in host else host


def _http_host(host: str) -> str | None:
    return host.rstrip("/") if host.startswith(("http://", "https://")) else None


TRANSPORTS: dict[str, TransportSpec] = {
    "grpc": TransportSpec(
        name="grpc",
        client=_grpc_client,
        default_target="localhost:9003",
        describe="gRPC target",
        check=grpc_target,
        flag="--grpc-target",
        settings="gateway_grpc_client",
        settings_model=_grpc_settings,
        address=_hostport,
        locust_host=_grpc_host,
    ),
    "http": TransportSpec(
        name="http",
        client=_http_client,
        default_target="http://localhost:8003",
        describe="HTTP URL",
        check=http_url,
        flag="--http-url",
        settings="gateway_http_client",
        settings_model=_http_settings,
        address=lambda host, port: f"http://{_hostport(host, port)}",
        locust_host=_http_host,
    ),
}


def transport_spec(name: str) -> TransportSpec:
    """The row of ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return TRANSPORTS[name]
    except KeyError:
        raise ValueError(f"unknown transport {name!r}: expected {' or '.join(map(repr, TRANSPORTS))}") from None
