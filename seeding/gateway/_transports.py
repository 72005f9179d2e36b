"""One table of transports: everything outside the two clients that differs between gRPC and HTTP.

A new transport is a client module, a row here (with its settings model), and the stand's side of
it (a server module and its port field in ``stand/_options.py``); every place that used to choose
with ``if transport == "grpc"`` (connecting, the settings' sections, command-line flags, the
stand's addresses, the seeder's child process, Locust's ``--host``) reads its row instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from ._address import grpc_target, http_url
from ._client import DEFAULT_TIMEOUT, MAX_TIMEOUT

if TYPE_CHECKING:
    from ._client import GatewayClient

__all__ = ["TRANSPORTS", "Transport", "TransportSpec", "transport_spec"]

Transport = Literal["grpc", "http"]

# Seconds per call: finite (``inf`` overflows httpx and expires every gRPC deadline at once) and sane.
Timeout = Annotated[float, Field(gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)]


class HttpClientSettings(BaseModel):
    """``GATEWAY_HTTP_CLIENT.URL`` / ``.TIMEOUT``: the course's names."""

    url: Annotated[str, AfterValidator(http_url)] = "http://localhost:8003"
    timeout: Timeout = DEFAULT_TIMEOUT

    @property
    def target(self) -> str:
        return self.url


class GrpcClientSettings(BaseModel):
    """``GATEWAY_GRPC_CLIENT.HOST`` / ``.PORT`` / ``.TIMEOUT``: the course's names."""

    host: str = "localhost"
    port: int = Field(default=9003, ge=1, le=65535)
    timeout: Timeout = DEFAULT_TIMEOUT

    @model_validator(mode="after")
    def _target_resolves(self) -> GrpcClientSettings:
        grpc_target(self.target)  # an empty or malformed HOST is bad usage now, not a hung channel later
        return self

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class TransportSpec:
    name: Transport
    client: str  # "module:Class" below seeding.gateway, imported on first use (grpc / aiohttp are heavy)
    default_target: str
    describe: str  # what its address is called in errors: "gRPC target"
    check: Callable[[str], str]  # the address, checked (ValueError names what is accepted)
    flag: str  # the command line's option for the address: "--grpc-target"
    settings: str  # the Settings section of its client: "gateway_grpc_client"
    settings_model: type[BaseModel]  # that section's model (with .target and .timeout)
    address: Callable[[str, int], str]  # how a server listening on (host, port) is addressed
    locust_host: Callable[[str], str | None]  # Locust's --host as an address of this transport, if it is one

    @property
    def dest(self) -> str:
        """The argparse attribute of ``flag``."""
        return self.flag.removeprefix("--").replace("-", "_")

    def client_class(self) -> type[GatewayClient]:
        module, _, name = self.client.partition(":")
        return getattr(importlib.import_module(module, __package__), name)

    def client_settings(self, settings: Any) -> Any:
        """This transport's client settings (``.target``, ``.timeout``) out of ``Settings``."""
        return getattr(settings, self.settings)


def _grpc_host(host: str) -> str | None:
    if host.startswith("grpc://"):
        return host.removeprefix("grpc://").rstrip("/")
    return None if "://" in host else host


def _http_host(host: str) -> str | None:
    return host.rstrip("/") if host.startswith(("http://", "https://")) else None


TRANSPORTS: dict[str, TransportSpec] = {
    "grpc": TransportSpec(
        name="grpc",
        client="._grpc_client:GrpcGatewayClient",
        default_target="localhost:9003",
        describe="gRPC target",
        check=grpc_target,
        flag="--grpc-target",
        settings="gateway_grpc_client",
        settings_model=GrpcClientSettings,
        address=_hostport,
        locust_host=_grpc_host,
    ),
    "http": TransportSpec(
        name="http",
        client="._http_client:HttpGatewayClient",
        default_target="http://localhost:8003",
        describe="HTTP URL",
        check=http_url,
        flag="--http-url",
        settings="gateway_http_client",
        settings_model=HttpClientSettings,
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
