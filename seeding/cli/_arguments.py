"""The command line's own flags: the gateway, calls in flight, retries, timeouts, shards and processes.

Built on the conventions every command follows (``seeding.command``: one-line errors, exit codes,
number flags), which it passes on so the subcommands import their flags from one place.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._exceptions import SeedingError
from ..command._arguments import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    OneLineParser,
    bounded,
    fraction,
    non_negative_float,
    non_negative_int,
    port,
    positive_float,
    positive_int,
    seed_number,
)
from ..engine._options import MAX_CONCURRENCY, MAX_LATENCY_BUDGET, MAX_RATE, MAX_RETRIES, MIN_RATE
from ..engine._shards import MAX_PROCESSES, MAX_SHARDS, Shard, parse_shard
from ..gateway import DEFAULT_TRANSPORT, MAX_TIMEOUT, TRANSPORTS, transport_spec

if TYPE_CHECKING:
    from ..gateway import Transport

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "OneLineParser",
    "add_gateway_arguments",
    "address_flag",
    "concurrency",
    "flags_transport",
    "fraction",
    "latency_budget",
    "non_negative_float",
    "non_negative_int",
    "port",
    "positive_float",
    "positive_int",
    "process_count",
    "rate",
    "retries",
    "seed_number",
    "shard_count",
    "shard_flag",
    "timeout_seconds",
]

_fixed_concurrency = bounded(int, f"within 1-{MAX_CONCURRENCY}", lambda v: 1 <= v <= MAX_CONCURRENCY)


def concurrency(text: str) -> int | None:
    """``--concurrency``: a number of calls in flight, or ``auto`` (None: the adaptive default)."""
    return None if text.strip().lower() == "auto" else _fixed_concurrency(text)


_budget = bounded(float, f"within 1-{MAX_LATENCY_BUDGET:g}", lambda v: 1 <= v <= MAX_LATENCY_BUDGET)


def latency_budget(text: str) -> float | None:
    """``--latency-budget``: round trip / unloaded round trip the default limit keeps within, or ``off`` (None)."""
    return None if text.strip().lower() == "off" else _budget(text)


latency_budget.__name__ = "X|off"
rate = bounded(
    float, f"at least {MIN_RATE:g} and at most {MAX_RATE:g} (calls per second)", lambda v: MIN_RATE <= v <= MAX_RATE
)
retries = bounded(int, f"within 0-{MAX_RETRIES}", lambda v: 0 <= v <= MAX_RETRIES)
# Off a terminal the progress is a log: a line every tenth of a second is a flood already (1e-9 printed 260 lines
# in 0.7 s), and a day apart says nothing.
progress_interval = bounded(float, "within 0.1-86400 (seconds)", lambda v: 0.1 <= v <= 86_400)
timeout_seconds = bounded(float, f"more than 0 and at most {MAX_TIMEOUT:g} (seconds)", lambda v: 0 < v <= MAX_TIMEOUT)
shard_count = bounded(int, f"within 1-{MAX_SHARDS}", lambda v: 1 <= v <= MAX_SHARDS)
process_count = bounded(int, f"within 1-{MAX_PROCESSES}", lambda v: 1 <= v <= MAX_PROCESSES)


def shard_flag(text: str) -> Shard:
    """``--shard I/N``: shard I of N, 1-based."""
    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


shard_flag.__name__ = "I/N"


def _checked(check: Callable[[str], str], name: str) -> Callable[[str], str]:
    """An argparse type from an address check: its ValueError message becomes the one-line error."""

    def convert(text: str) -> str:
        try:
            return check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def add_gateway_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """``--transport``, ``--http-url``, ``--grpc-target``, ``--timeout``; unset, they are None.

    Their defaults are the settings', applied after parsing (``_seed_command.gateway_choice``), so ``--help``
    reads no settings: pydantic-settings alone costs more start-up than the rest of ``--help``.
    """
    group = parser.add_argument_group("gateway")
    group.add_argument(
        "--transport", choices=list(TRANSPORTS), help=f"default: SEEDING.TRANSPORT, else {DEFAULT_TRANSPORT}"
    )
    for spec in TRANSPORTS.values():
        group.add_argument(
            spec.flag,
            type=_checked(spec.check, spec.describe),
            help=f"default: the {spec.settings.upper()}.* settings, else {spec.default_target}",
        )
    group.add_argument(
        "--timeout",
        type=timeout_seconds,
        help="seconds per call attempt (default: the transport's GATEWAY_*_CLIENT.TIMEOUT, else 10)",
    )
    return group


def address_flag(args: argparse.Namespace, transport: str) -> str | None:
    """What the command line gave as ``transport``'s address (its flag's value)."""
    given: str | None = getattr(args, transport_spec(transport).dest)
    return given


def flags_transport(args: argparse.Namespace) -> Transport | None:
    """``--transport``, else the transport of the one address flag given (``--http-url`` alone means HTTP);
    None when the flags name neither. ``SeedingError`` when they disagree: the address would be ignored."""
    named: list[Transport] = [spec.name for spec in TRANSPORTS.values() if address_flag(args, spec.name)]
    chosen: Transport | None = args.transport
    if chosen is None and len(named) > 1:
        raise SeedingError("--grpc-target and --http-url name two gateways: give --transport to say which one")
    if chosen is None:
        return named[0] if len(named) == 1 else None
    if named and chosen not in named:
        other = transport_spec(named[0]).flag
        raise SeedingError(
            f"{other} is an address for --transport {named[0]}, and this run uses --transport {chosen}: "
            f"give {transport_spec(chosen).flag} instead, or drop --transport"
        )
    return chosen
