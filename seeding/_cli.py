"""``python -m seeding PLAN [PLAN ...]``: seed plans into dumps; ``python -m seeding verify DUMP``.

Exit codes: 0 every plan seeded; 1 seeding failed or was interrupted (the journal keeps what was
done, ``--resume`` finishes it) or the gateway is unreachable; 2 bad usage, plan or settings
(nothing was sent). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from ._arguments import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    OneLineParser,
    add_gateway_arguments,
    gateway_address,
    non_negative_int,
    positive_int,
)
from ._builder import BuildOptions
from ._exceptions import (
    BuildError,
    GatewayError,
    GatewayUnreachableError,
    JournalError,
    PlanError,
    SeedingError,
)
from ._plan import SeedsPlan, load_plan
from ._progress import Progress
from ._run import PlanRun, format_indices
from ._settings import Settings, load_settings
from .gateway import Transport, connect

__all__ = ["main"]

PROG = "python -m seeding"


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    defaults = settings.seeding
    parser = OneLineParser(
        prog=PROG,
        description="Seed the bank gateway from plans and write dumps/<scenario>_seeds.json for load tests. "
        f"`{PROG} verify DUMP` checks a dump against the gateway.",
    )
    parser.add_argument("plans", nargs="+", type=Path, metavar="PLAN", help="plan files (YAML, or JSON)")
    target = add_gateway_arguments(parser, settings)
    target.add_argument(
        "--stand",
        choices=["embedded"],
        help="start the in-memory stand in this process and seed it (no real gateway needed)",
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--concurrency", type=positive_int, default=defaults.concurrency, help="calls in flight (default %(default)s)"
    )
    run.add_argument(
        "--retries",
        type=non_negative_int,
        default=defaults.retries,
        help="further attempts after a transient failure (default %(default)s)",
    )
    run.add_argument("--dumps-dir", type=Path, default=Path(defaults.dumps_dir), help="default %(default)s")
    run.add_argument("--seed", type=int, help="reproducible names, phones and amounts (emails stay unique)")
    run.add_argument(
        "--parallel-operations",
        action="store_true",
        help="run operations on one account concurrently (the real gateway then loses balance updates)",
    )
    journal = run.add_mutually_exclusive_group()
    journal.add_argument("--resume", action="store_true", help="finish an interrupted run from its journal")
    journal.add_argument("--restart", action="store_true", help="discard an interrupted run's journal")
    parser.add_argument("--no-progress", action="store_true", help="no live progress line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m seeding``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["verify"]:
            from ._verify import main as verify_main

            return verify_main(argv[1:])
        settings = load_settings()
        args = build_parser(settings).parse_args(argv)
        args.address, args.timeout = gateway_address(args, settings)
        plans = _load_plans(args.plans)
        if args.resume and args.stand == "embedded":
            raise SeedingError("--resume cannot be used with --stand embedded: its data ended with its process")
    except (PlanError, SeedingError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(_seed_all(args, plans))
    except KeyboardInterrupt:  # a second Ctrl-C while shutting down
        return EXIT_FAILED


def _load_plans(paths: list[Path]) -> list[SeedsPlan]:
    plans = [load_plan(path) for path in paths]
    seen: dict[str, Path] = {}
    for path, plan in zip(paths, plans, strict=True):
        scenario = plan.scenario or ""
        if scenario in seen:
            raise PlanError(f"{path}: scenario {scenario!r} is also {seen[scenario]}'s; both would write one dump")
        seen[scenario] = path
    return plans


@contextlib.asynccontextmanager
async def _gateway_target(args: argparse.Namespace) -> AsyncIterator[tuple[str, str]]:
    """(address to connect to, target to record in dumps): the embedded stand's, or the flags'."""
    transport: Transport = args.transport
    if args.stand == "embedded":
        from .stand import Stand

        async with Stand() as stand:
            yield stand.target(transport), "embedded"
    else:
        yield args.address, args.address


async def _seed_all(args: argparse.Namespace, plans: list[SeedsPlan]) -> int:
    current = asyncio.current_task()
    assert current is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, current.cancel)
    options = BuildOptions(
        concurrency=args.concurrency,
        retries=args.retries,
        timeout=args.timeout,
        parallel_operations=args.parallel_operations,
    )
    async with contextlib.AsyncExitStack() as stack:
        address, recorded = await stack.enter_async_context(_gateway_target(args))
        client = await stack.enter_async_context(connect(args.transport, address, timeout=args.timeout))
        try:
            await client.check_reachable(timeout=min(5.0, args.timeout))
        except GatewayUnreachableError as exc:
            print(
                f"{PROG}: error: cannot reach the gateway over {args.transport} at {address}: {exc.detail}",
                file=sys.stderr,
            )
            return EXIT_FAILED
        for plan in plans:
            run = PlanRun(
                plan,
                client,
                dumps_dir=args.dumps_dir,
                options=options,
                seed=args.seed,
                resume=args.resume,
                restart=args.restart,
                target=recorded,
            )
            code = await _seed_one(run, progress=not args.no_progress)
            if code != EXIT_OK:
                return code
    return EXIT_OK


async def _seed_one(run: PlanRun, *, progress: bool) -> int:
    try:
        async with Progress(run, enabled=None if progress else False):
            path = await run.execute()
    except JournalError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except asyncio.CancelledError:
        _report_missing(run, "interrupted")
        return EXIT_FAILED
    except (BuildError, GatewayError, SeedingError) as exc:
        _report_missing(run, f"failed: {exc}")
        return EXIT_FAILED
    _report_done(run, path)
    return EXIT_OK


def _report_missing(run: PlanRun, what: str) -> None:
    done = run.plan.users.count - len(run.missing)
    print(
        f"{PROG}: {run.scenario}: {what}; {done} of {run.plan.users.count} users are safe in {run.journal_path}, "
        f"missing plan indices: {format_indices(run.missing)}; no dump written; finish with --resume",
        file=sys.stderr,
    )


def _report_done(run: PlanRun, path: Path) -> None:
    totals = run.plan.totals()
    stats = run.builder.stats if run.builder else None
    counts = ", ".join(f"{n} {name}" for name, n in totals.items())
    rate = f"{stats.calls} calls, {stats.calls_per_second:.0f} calls/s, {stats.retries} retries" if stats else ""
    elapsed = f"{stats.elapsed:.2f} s" if stats else "?"
    resumed = f", {run.resumed_users} users from the journal" if run.resumed_users else ""
    print(f"{run.scenario}: {counts} in {elapsed} over {run.client.transport} ({rate}{resumed}) → {path}")
