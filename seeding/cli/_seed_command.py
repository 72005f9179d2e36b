"""What ``python -m seeding PLAN …`` was asked to do, as frozen values: the flags with the settings applied.

Parsing ends here: the run, the processes and the report read these values, never the argparse
namespace, and nothing changes them once made. Light on purpose (``--help`` imports this module):
the plans and the settings are only named, under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .._exceptions import SeedingError
from ..engine._options import BuildOptions
from ..gateway import TRANSPORTS, transport_spec
from ._arguments import PROG, address_flag, flags_transport

if TYPE_CHECKING:
    from .._settings import Settings
    from ..engine._shards import Shard
    from ..gateway import Transport
    from ._summary import Summary

__all__ = [
    "GatewayChoice",
    "OutputOptions",
    "RunOptions",
    "gateway_choice",
    "journal_gateway",
    "output_options",
    "run_options",
]


@dataclass(frozen=True)
class GatewayChoice:
    """Where the calls go: the flags' transport, address and timeout, else the settings'."""

    transport: Transport
    address: str
    timeout: float  # seconds per call attempt
    embedded_stand: bool = False  # --stand embedded: a stand started in this process, at an address of its own
    given: bool = False  # the flags named it (--transport or an address): a journal's gateway does not replace it


@dataclass(frozen=True)
class RunOptions:
    """How the plans are seeded: calls in flight, retries, the journal, shards and processes."""

    dumps_dir: Path
    concurrency: int | None  # None: adaptive
    latency_budget: float | None  # the default limit's round-trip budget; None: off
    rate: float | None  # calls per second at most; None: no quota
    retries: int
    seed: int | None  # None: each plan's default seed (or its dump's)
    parallel_operations: bool
    resume: bool
    restart: bool
    reseed: bool  # seed anew even when the dump could be grown or reused
    users: int | None  # --users: the plans' count replaced (None: a grown dump may adopt its own count)
    shard: Shard | None = None  # this run seeds one shard of the plan (--shard, SEEDING_SHARD, an Indexed Job)
    shards: int | None = None  # --shards / SEEDING_SHARDS: what JOB_COMPLETION_INDEX counts
    processes: int | None = None  # --processes N: every shard here, then one merge

    def build_options(self, timeout: float, *, seed: int = 0) -> BuildOptions:
        """The builder's options for a run through a gateway with this per-call ``timeout``."""
        return BuildOptions(
            concurrency=self.concurrency,
            retries=self.retries,
            timeout=timeout,
            seed=seed,
            parallel_operations=self.parallel_operations,
            latency_budget=self.latency_budget,
            rate=self.rate,
        )


@dataclass(frozen=True)
class OutputOptions:
    """What the command shows and leaves behind: progress, the summary, ``--dry-run``'s preview, the report."""

    report: Path | None  # --report FILE.json
    summary: Summary  # "table", "line" or "auto"
    progress: bool | None  # False: --no-progress; None: shown on a terminal, plain lines elsewhere
    progress_interval: float
    progress_jsonl: bool  # a --processes child: counters as JSON lines for the parent
    dry_run: bool
    latency_ms: float | None  # what --dry-run assumes per call; None: the transport's
    command_line: tuple[str, ...] = ()  # the arguments as given: messages name the command that finishes a run

    def resume_command(self) -> str:
        """The command that finishes an interrupted run: this one's flags, ``--resume`` instead of ``--restart``."""
        import shlex

        argv = [arg for arg in self.command_line if arg not in ("--restart", "--resume")]
        return shlex.join([*PROG.split(), *argv, "--resume"])


def gateway_choice(args: argparse.Namespace, settings: Settings) -> GatewayChoice:
    """The gateway of the flags, else of the settings (``--transport``, the address flag, ``--timeout``)."""
    if args.stand == "embedded":  # the stand has an address of its own
        given = [name for name in TRANSPORTS if address_flag(args, name)]
        if given:
            flag = transport_spec(given[0]).flag
            raise SeedingError(f"{flag} cannot be used with --stand embedded: the run seeds the stand it starts")
    transport: Transport = flags_transport(args) or settings.seeding.transport
    return GatewayChoice(
        transport=transport,
        address=address_flag(args, transport) or settings.target(transport),
        timeout=args.timeout or settings.timeout(transport),
        embedded_stand=args.stand == "embedded",
        given=args.transport is not None or any(address_flag(args, name) for name in TRANSPORTS),
    )


def journal_gateway(args: argparse.Namespace, settings: Settings, transport: Transport, target: str) -> GatewayChoice:
    """The gateway a journal names (``--resume`` without gateway flags), with the flags' timeout."""
    return GatewayChoice(
        transport=transport,
        address=target,
        timeout=args.timeout or settings.timeout(transport),
        given=False,
    )


def run_options(args: argparse.Namespace, settings: Settings, shard: Shard | None = None) -> RunOptions:
    """The run's options: each flag, else its setting (``SEEDING.*``); ``shard`` as resolved from both."""
    defaults = settings.seeding
    return RunOptions(
        dumps_dir=args.dumps_dir if args.dumps_dir is not None else Path(defaults.dumps_dir),
        concurrency=args.concurrency if hasattr(args, "concurrency") else defaults.concurrency,
        latency_budget=args.latency_budget if hasattr(args, "latency_budget") else defaults.latency_budget,
        rate=args.rate if args.rate is not None else defaults.rate,
        retries=args.retries if args.retries is not None else defaults.retries,
        seed=args.seed,
        parallel_operations=args.parallel_operations,
        resume=args.resume,
        restart=args.restart,
        reseed=args.reseed,
        users=args.users,
        shard=shard,
        shards=args.shards if args.shards is not None else defaults.shards,
        processes=args.processes,
    )


def output_options(args: argparse.Namespace, argv: Sequence[str], *, report: Path | None) -> OutputOptions:
    """What to show and write; ``report`` is ``--report`` once checked (None: none is written)."""
    return OutputOptions(
        report=report,
        summary=args.summary,
        progress=False if args.no_progress else None,
        progress_interval=args.progress_interval,
        progress_jsonl=args.progress_jsonl,
        dry_run=args.dry_run,
        latency_ms=args.latency_ms,
        command_line=tuple(argv),
    )
