"""``StandOptions``: how a stand runs, one value for ``Stand``, ``StandProcess`` and ``python -m seeding.stand``.

Each field carries its command-line flag's converter and help, so the flags are generated from the
fields, ``StandProcess`` turns the value back into the same flags, and the ready line is written
and parsed here only. A new option (a fault mode, say) is a field here and its effect in the
module that uses it (``_faults`` for faults). A port field also names the transport it serves and
its server class: a new transport's stand side is such a field and its server module.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ..command._arguments import fraction, non_negative_float, non_negative_int, port, positive_float, positive_int

if TYPE_CHECKING:
    from seeding.gateway import Transport

__all__ = ["READY_PREFIX", "StandOptions", "parse_ready_line", "ready_line"]

READY_PREFIX = "seeding stand ready:"
_READY_RE = re.compile(rf"^{READY_PREFIX}(?P<addresses>(?: [a-z][a-z0-9]*=\S+)+)\s*$")


def _option(default: Any, convert: Callable[[str], Any], help: str) -> Any:
    return field(default=default, metadata={"convert": convert, "help": help})


def _port(transport: Transport, server: str) -> Any:
    """The port a transport's server listens on; ``server`` is its class, "module:Class" in this package."""
    return field(
        default=0, metadata={"convert": port, "help": "0 picks a free port", "serves": transport, "server": server}
    )


@dataclass(frozen=True)
class StandOptions:
    """Addresses and fault injection of an embedded stand. Ports 0 pick free ones."""

    host: str = _option("127.0.0.1", str, "address to listen on")
    http_port: int = _port("http", "._http_server:HttpServer")
    grpc_port: int = _port("grpc", "._grpc_server:GrpcServer")
    latency_ms: float = _option(0.0, non_negative_float, "delay added to every call")
    jitter_ms: float = _option(0.0, non_negative_float, "extra random delay, 0..jitter")
    fail_rate: float = _option(0.0, fraction, "share of calls answered 503 / UNAVAILABLE, unapplied")
    max_in_flight: int | None = _option(
        None,
        positive_int,
        "serve at most this many calls at once and queue the rest, as a gateway with that many "
        "workers (default: no limit)",
    )
    pushback_above: int | None = _option(
        None,
        non_negative_int,
        "with --max-in-flight: refuse a call that would queue behind more than N others, answering 429 "
        "Retry-After / RESOURCE_EXHAUSTED grpc-retry-pushback-ms, as a shared gateway that sheds load "
        "(default: queue them all)",
    )
    pushback_ms: float = _option(100.0, positive_float, "the pushback --pushback-above answers with")
    late_rate: float = _option(
        0.0,
        fraction,
        "share of calls made, then answered --late-ms later: past a client's timeout, a call it cannot tell "
        "was made (a gateway whose answers get lost)",
    )
    late_ms: float = _option(2000.0, non_negative_float, "how late --late-rate's calls answer")
    seed: int | None = _option(None, int, "seed for faults and card data (reproducible)")
    missing_receipt_delay_s: float = _option(
        0.0, non_negative_float, "how long a missing receipt takes to fail (real gateway: ~2.5 s HTTP, ~5 s gRPC)"
    )

    def servers(self) -> list[tuple[Transport, str, int]]:
        """``(transport, "module:Class", port)`` for every server a stand runs, in the ready line's order."""
        ports = [f for f in fields(self) if "serves" in f.metadata]
        return [(f.metadata["serves"], f.metadata["server"], getattr(self, f.name)) for f in ports]

    def args(self) -> list[str]:
        """The value as ``python -m seeding.stand`` flags (what ``from_args`` reads back)."""
        return [f"--{_flag(f.name)}={getattr(self, f.name)}" for f in fields(self) if getattr(self, f.name) is not None]

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, defaults: StandOptions | None = None) -> None:
        """One flag per field, with ``defaults``' values (the command line serves fixed ports)."""
        defaults = defaults or cls()
        for f in fields(cls):
            default = getattr(defaults, f.name)
            parser.add_argument(
                f"--{_flag(f.name)}",
                type=f.metadata["convert"],
                default=default,
                help=f.metadata["help"] + (f" (default: {default})" if default is not None else ""),
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> StandOptions:
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})


def _flag(name: str) -> str:
    return name.replace("_", "-")


def ready_line(addresses: dict[str, str]) -> str:
    """The one line the stand prints on stdout once every side listens: ``… http=URL grpc=TARGET``."""
    return " ".join([READY_PREFIX, *(f"{transport}={address}" for transport, address in addresses.items())])


def parse_ready_line(line: str) -> dict[str, str] | None:
    """``{transport: address}`` out of a ready line; None for any other line."""
    match = _READY_RE.match(line)
    if match is None:
        return None
    return dict(pair.split("=", 1) for pair in match["addresses"].split())
