"""Where the gateway is, from the environment or ``.env``: compatible with the course's settings.

The course's load-test projects configure ``GATEWAY_HTTP_CLIENT.URL`` and
``GATEWAY_GRPC_CLIENT.HOST`` / ``.PORT`` (nested with ``.``); we read the same names, so one
``.env`` serves both. Our own defaults live under ``SEEDING.*`` (``SEEDING.TRANSPORT=http``).
Command-line flags override all of it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, PositiveInt, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._build_options import DEFAULT_CONCURRENCY, DEFAULT_RETRIES
from ._exceptions import SeedingError
from .gateway import DEFAULT_TIMEOUT, MAX_TIMEOUT, Transport, grpc_target, http_url, transport_spec

# Seconds per call: finite (``inf`` overflows httpx and expires every gRPC deadline at once) and sane.
Timeout = Annotated[float, Field(gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)]

__all__ = ["Settings", "load_settings"]


class HttpClientSettings(BaseModel):
    url: Annotated[str, AfterValidator(http_url)] = "http://localhost:8003"
    timeout: Timeout = DEFAULT_TIMEOUT

    @property
    def target(self) -> str:
        return self.url


class GrpcClientSettings(BaseModel):
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


class SeedingSettings(BaseModel):
    transport: Transport = "grpc"
    concurrency: PositiveInt = DEFAULT_CONCURRENCY
    retries: int = Field(default=DEFAULT_RETRIES, ge=0)
    dumps_dir: str = "dumps"
    service_token: str | None = None  # SEEDING.SERVICE_TOKEN: the bearer token of `python -m seeding serve`


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_nested_delimiter=".", extra="ignore"
    )

    gateway_http_client: HttpClientSettings = Field(default_factory=HttpClientSettings)
    gateway_grpc_client: GrpcClientSettings = Field(default_factory=GrpcClientSettings)
    seeding: SeedingSettings = Field(default_factory=SeedingSettings)

    def target(self, transport: Transport) -> str:
        """The configured address for ``transport``."""
        return transport_spec(transport).client_settings(self).target

    def timeout(self, transport: Transport) -> float:
        """The configured seconds per call for ``transport``."""
        return transport_spec(transport).client_settings(self).timeout


def load_settings() -> Settings:
    """Settings from the environment and ``.env``; a bad value is one ``SeedingError`` line."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]).upper()
        message = first["msg"].removeprefix("Value error, ")
        raise SeedingError(f"settings: {name}: {message} (from the environment or .env)") from None
