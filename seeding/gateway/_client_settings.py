"""Each transport's settings section as a model, named by its row in the table of transports.

Apart from the table (``_transports``) because these are pydantic models: the table is read by
``--help`` and argument parsing, which build no model.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, create_model, model_validator

from ._address import grpc_target, http_url
from ._timeouts import DEFAULT_TIMEOUT, MAX_TIMEOUT

__all__ = ["GrpcClientSettings", "HttpClientSettings", "TargetSettings", "target_settings"]

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


class TargetSettings(BaseModel):
    """A section of a transport without names of its own: ``<SECTION>.TARGET`` and ``.TIMEOUT``."""

    target: str
    timeout: Timeout = DEFAULT_TIMEOUT


@cache
def target_settings(name: str, default_target: str, check: Callable[[str], str]) -> type[TargetSettings]:
    """The section of a transport whose row names no model: its target, checked as its row checks it."""
    return create_model(
        name,
        __base__=TargetSettings,
        target=(Annotated[str, AfterValidator(check)], default_target),
    )
