"""Command-line conventions shared by ``python -m seeding``, ``… verify`` and ``python -m seeding.stand``.

A bad flag is one line on stderr and exit status 2, never argparse's usage block; number flags say
what they accept, non-numbers included.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

from ..engine._options import MAX_CONCURRENCY, MAX_RETRIES
from ..engine._shards import MAX_PROCESSES, MAX_SHARDS, Shard, parse_shard
from ..gateway import DEFAULT_TRANSPORT, MAX_TIMEOUT, TRANSPORTS, transport_spec

if TYPE_CHECKING:
    from .._settings import Settings

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "OneLineParser",
    "add_gateway_arguments",
    "address_flag",
    "concurrency",
    "fraction",
    "gateway_address",
    "non_negative_float",
    "non_negative_int",
    "port",
    "positive_float",
    "positive_int",
    "process_count",
    "retries",
    "seed_number",
    "shard_count",
    "shard_flag",
    "timeout_seconds",
]


def _invoked_as() -> str:
    """``seeding`` when run by the installed console script, else ``python -m seeding``."""
    name = sys.argv[0].rsplit("/", 1)[-1] if sys.argv and sys.argv[0] else ""
    return "seeding" if name in ("seeding", "seeding.exe") else "python -m seeding"


PROG = _invoked_as()  # how every command of the package names itself in usage and errors, as the user typed it

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

N = TypeVar("N", int, float)


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """``prog: error: <message> (see --help)`` on one line, exit status 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _bounded(kind: type[N], accepts: str, ok: Callable[[N], bool]) -> Callable[[str], N]:
    noun = "a whole number" if kind is int else "a number"

    def convert(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number {accepts}, got {text}")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {accepts}, got {text}")
        return value

    convert.__name__ = accepts  # argparse names the type in some messages
    return convert


positive_int = _bounded(int, "at least 1", lambda v: v >= 1)
_fixed_concurrency = _bounded(int, f"within 1-{MAX_CONCURRENCY}", lambda v: 1 <= v <= MAX_CONCURRENCY)


def concurrency(text: str) -> int | None:
    """``--concurrency``: a number of calls in flight, or ``auto`` (None: the adaptive default)."""
    return None if text.strip().lower() == "auto" else _fixed_concurrency(text)


retries = _bounded(int, f"within 0-{MAX_RETRIES}", lambda v: 0 <= v <= MAX_RETRIES)
non_negative_int = _bounded(int, "0 or more", lambda v: v >= 0)
positive_float = _bounded(float, "more than 0", lambda v: v > 0)
non_negative_float = _bounded(float, "0 or more", lambda v: v >= 0)
fraction = _bounded(float, "within [0, 1]", lambda v: 0 <= v <= 1)
port = _bounded(int, "a port number 0-65535 (0: any free port)", lambda v: 0 <= v <= 65535)
timeout_seconds = _bounded(float, f"more than 0 and at most {MAX_TIMEOUT:g} (seconds)", lambda v: 0 < v <= MAX_TIMEOUT)
# Seeds travel in journals and dumps as JSON integers, which orjson keeps to 64 bits.
seed_number = _bounded(int, "a whole number within ±9223372036854775807", lambda v: -(2**63) < v < 2**63)
shard_count = _bounded(int, f"within 1-{MAX_SHARDS}", lambda v: 1 <= v <= MAX_SHARDS)
process_count = _bounded(int, f"within 1-{MAX_PROCESSES}", lambda v: 1 <= v <= MAX_PROCESSES)


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

    Their defaults are the settings', applied after parsing (``gateway_address``), so ``--help``
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


def gateway_address(args: argparse.Namespace, settings: Settings) -> tuple[str, float]:
    """The address and per-call timeout for the transport the flags chose (``args.transport``, settled):
    the flags', else the settings'."""
    transport = args.transport
    return address_flag(args, transport) or settings.target(transport), args.timeout or settings.timeout(transport)


def address_flag(args: argparse.Namespace, transport: str) -> str | None:
    """What the command line gave as ``transport``'s address (its flag's value)."""
    return getattr(args, transport_spec(transport).dest)
