"""Where the gateway is, from the environment or ``.env``: compatible with the course's settings.

The course's load-test projects configure ``GATEWAY_HTTP_CLIENT.URL`` and
``GATEWAY_GRPC_CLIENT.HOST`` / ``.PORT`` (nested with ``.``); we read the same names, so one
``.env`` serves both. Our own defaults live under ``SEEDING.*`` (``SEEDING.TRANSPORT=http``).
Command-line flags override all of it.

A dotted name cannot be set inline in a shell (``SEEDING.TRANSPORT=http cmd`` is not an
assignment), so every setting is also read under its underscore spelling (``SEEDING_TRANSPORT``,
``GATEWAY_HTTP_CLIENT_URL``, ``GATEWAY_GRPC_CLIENT_HOST``). Precedence, first wins: the process
environment over ``.env``; within one of them, the dotted name over the underscore one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError, create_model
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ._exceptions import SeedingError
from .engine._options import (
    DEFAULT_CONCURRENCY,
    DEFAULT_LATENCY_BUDGET,
    DEFAULT_RETRIES,
    MAX_CONCURRENCY,
    MAX_LATENCY_BUDGET,
    MAX_RATE,
    MAX_RETRIES,
    MIN_RATE,
)
from .engine._shards import MAX_SHARDS, parse_shard
from .gateway import DEFAULT_TRANSPORT, TRANSPORTS, Transport, transport_spec

__all__ = ["Settings", "load_settings"]


def _auto_concurrency(value: Any) -> Any:
    """``SEEDING.CONCURRENCY=auto`` (or empty): the adaptive default, as when unset."""
    return None if isinstance(value, str) and value.strip().lower() in ("auto", "") else value


def _budget_off(value: Any) -> Any:
    """``SEEDING.LATENCY_BUDGET=off``: no latency budget (the limit fills the gateway)."""
    return None if isinstance(value, str) and value.strip().lower() == "off" else value


def _shard_text(text: str | None) -> str | None:
    if text is not None and text.strip():
        parse_shard(text)  # its ValueError is the one-line message
        return text.strip()
    return None


class SeedingSettings(BaseModel):
    transport: Transport = DEFAULT_TRANSPORT
    # None (unset, or "auto"): adaptive, see seeding.engine._limits; a number fixes the calls in flight.
    concurrency: Annotated[int | None, BeforeValidator(_auto_concurrency)] = Field(
        default=DEFAULT_CONCURRENCY, ge=1, le=MAX_CONCURRENCY
    )
    retries: int = Field(default=DEFAULT_RETRIES, ge=0, le=MAX_RETRIES)
    # The default limit's round trip / unloaded round trip; "off": fill the gateway (see seeding.engine._limits).
    latency_budget: Annotated[float | None, BeforeValidator(_budget_off)] = Field(
        default=DEFAULT_LATENCY_BUDGET, ge=1, le=MAX_LATENCY_BUDGET, allow_inf_nan=False
    )
    rate: float | None = Field(default=None, ge=MIN_RATE, le=MAX_RATE, allow_inf_nan=False)  # calls per second at most
    dumps_dir: str = "dumps"
    service_token: str | None = None  # SEEDING.SERVICE_TOKEN: the bearer token of `python -m seeding serve`
    shard: Annotated[str | None, AfterValidator(_shard_text)] = None  # SEEDING_SHARD=I/N: seed shard I of N only
    shards: int | None = Field(default=None, ge=1, le=MAX_SHARDS)  # with JOB_COMPLETION_INDEX: how many shards


# One section per transport, named and shaped by its row in the table of transports
# (``gateway_http_client``, ``gateway_grpc_client``): a new transport brings its own settings.
_TRANSPORTS = TRANSPORTS.values()
if TYPE_CHECKING:  # a model built from the table: to a type checker, the settings' base
    _ClientSections = BaseSettings
else:
    _ClientSections = create_model(
        "_ClientSections",
        __base__=BaseSettings,
        **{
            spec.settings: (spec.settings_class(), Field(default_factory=spec.settings_class())) for spec in _TRANSPORTS
        },
    )


class Settings(_ClientSections):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_nested_delimiter=".", extra="ignore"
    )

    seeding: SeedingSettings = Field(default_factory=SeedingSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Each source's underscore spellings rank right after its dotted names (see the module docstring)."""
        env_file = settings_cls.model_config.get("env_file")
        return (
            init_settings,
            env_settings,
            _UnderscoreNames(settings_cls, _environment()),
            dotenv_settings,
            _UnderscoreNames(settings_cls, _dotenv(env_file)),
            file_secret_settings,
        )

    def target(self, transport: Transport) -> str:
        """The configured address for ``transport``."""
        return transport_spec(transport).client_settings(self).target

    def timeout(self, transport: Transport) -> float:
        """The configured seconds per call for ``transport``."""
        return transport_spec(transport).client_settings(self).timeout


def underscore_names() -> dict[str, tuple[str, str]]:
    """``SEEDING_TRANSPORT`` → ``("seeding", "transport")``: every setting's shell-exportable name."""
    names = {}
    for section, info in Settings.model_fields.items():
        model = info.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for key in model.model_fields:
            names[f"{section}_{key}".upper()] = (section, key)
    return names


class _UnderscoreNames(PydanticBaseSettingsSource):
    """Settings from ``SECTION_KEY`` variables of one source (the environment, or ``.env``)."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str | None]) -> None:
        super().__init__(settings_cls)
        self._variables = {name.upper(): value for name, value in variables.items() if value is not None}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # ``__call__`` reads every field at once

    def __call__(self) -> dict[str, Any]:
        found: dict[str, dict[str, str]] = {}
        for name, (section, key) in underscore_names().items():
            if name in self._variables:
                found.setdefault(section, {})[key] = self._variables[name]
        return found


def _environment() -> dict[str, str]:
    return dict(os.environ)


def _dotenv(env_file: Any) -> dict[str, str | None]:
    if not env_file:
        return {}
    from dotenv import dotenv_values

    try:
        return dict(dotenv_values(env_file, encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}  # pydantic-settings reports an unreadable .env itself


_MAX_DOTENV = 1 << 20  # a .env is a few lines; a larger file is something else


def _check_dotenv(path: str = ".env") -> None:
    """A ``.env`` that exists is a regular UTF-8 file (a FIFO there would hang the read; pydantic-settings
    would raise a traceback on bytes that are not UTF-8)."""
    from .files import read_regular

    try:
        data = read_regular(path, what="a settings file", max_bytes=_MAX_DOTENV)
    except FileNotFoundError:
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SeedingError(f"{path}:{line}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    import io

    from dotenv.parser import parse_stream

    for binding in parse_stream(io.StringIO(text)):  # python-dotenv skips such a line with a warning, twice
        if binding.error:
            raise SeedingError(
                f"{path}:{binding.original.line}: not NAME=value (nor a comment); fix or remove the line"
            )


def load_settings() -> Settings:
    """Settings from the environment and ``.env``; a bad value is one ``SeedingError`` line."""
    _check_dotenv()
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]).upper()
        underscore = name.replace(".", "_")
        if underscore in underscore_names() and underscore in {key.upper() for key in _environment()}:
            name = f"{underscore} (or {name})"
        message = first["msg"].removeprefix("Value error, ")
        raise SeedingError(f"settings: {name}: {message} (from the environment or .env)") from None
