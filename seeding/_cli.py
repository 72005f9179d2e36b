"""``python -m seeding PLAN [PLAN ...]``: seed plans into dumps; ``python -m seeding verify DUMP``.

Exit codes: 0 every plan seeded; 1 seeding failed or was interrupted (the journal keeps what was
done, ``--resume`` finishes it) or the gateway is unreachable; 2 bad usage, plan or settings
(nothing was sent). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from ._arguments import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    OneLineParser,
    add_gateway_arguments,
    gateway_address,
    non_negative_int,
    positive_int,
    seed_number,
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
from ._run import DEFAULT_SCENARIO, PlanRun, format_ranges
from ._settings import Settings, load_settings
from ._shutdown import Shutdown
from .gateway import GatewayClient, Transport, connect

__all__ = ["main"]


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    defaults = settings.seeding
    parser = OneLineParser(
        prog=PROG,
        description="Seed the bank gateway from plans and write dumps/<scenario>_seeds.json for load tests. "
        f"`{PROG} verify DUMP` checks a dump against the gateway; `{PROG} serve` runs the service.",
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
    run.add_argument("--seed", type=seed_number, help="reproducible names, phones and amounts (emails stay unique)")
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
    if argv[:1] == ["verify"]:
        from ._verify import main as verify_main

        return verify_main(argv[1:])
    if argv[:1] == ["serve"]:
        from .service._cli import main as serve_main

        return serve_main(argv[1:])
    with Shutdown(PROG, exit_code=EXIT_FAILED) as shutdown:
        try:
            settings = load_settings()
            args = build_parser(settings).parse_args(argv)
            args.address, args.timeout = gateway_address(args, settings)
            plans = _load_plans(args.plans)
            if args.resume and args.stand == "embedded":
                raise SeedingError("--resume cannot be used with --stand embedded: its data ended with its process")
        except (PlanError, SeedingError) as exc:
            return _error(exc, EXIT_USAGE)
        except KeyboardInterrupt:
            return _error("interrupted before anything was sent", EXIT_FAILED)
        try:
            return asyncio.run(_seed_all(args, plans, shutdown))
        except KeyboardInterrupt:  # a signal between the run's end and the loop's
            return EXIT_FAILED
        except Exception as exc:  # a bug: still one line, and the journal (closed on the way out) keeps its users
            return _error(f"unexpected {type(exc).__name__}: {exc} (please report it)", EXIT_FAILED)


def _error(message: object, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _load_plans(paths: list[Path]) -> list[SeedsPlan]:
    plans = [load_plan(path) for path in paths]
    seen: dict[str, Path] = {}
    for path, plan in zip(paths, plans, strict=True):
        scenario = plan.scenario or DEFAULT_SCENARIO
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


async def _seed_all(args: argparse.Namespace, plans: list[SeedsPlan], shutdown: Shutdown) -> int:
    shutdown.attach()
    code = EXIT_FAILED
    try:
        code = await _seed_plans(args, plans)
    except asyncio.CancelledError:  # stopped before the first plan began
        code = _error("interrupted; nothing was seeded", EXIT_FAILED)
    finally:
        shutdown.finishing(code)  # cleanup (the gRPC channel, the stand) gets a few seconds, no more
    return code


async def _seed_plans(args: argparse.Namespace, plans: list[SeedsPlan]) -> int:
    """Every plan's journal is taken before the first call; then one pre-flight call; then the plans in order."""
    options = BuildOptions(
        concurrency=args.concurrency,
        retries=args.retries,
        timeout=args.timeout,
        parallel_operations=args.parallel_operations,
    )
    async with contextlib.AsyncExitStack() as stack:
        address, recorded = await stack.enter_async_context(_gateway_target(args))
        client = await stack.enter_async_context(_closing(connect(args.transport, address, timeout=args.timeout)))
        runs = [
            PlanRun(
                plan,
                client,
                dumps_dir=args.dumps_dir,
                options=options,
                seed=args.seed,
                resume=args.resume,
                restart=args.restart,
                target=recorded,
            )
            for plan in plans
        ]
        for run in runs:
            stack.callback(run.close)
            try:
                run.open()
            except JournalError as exc:  # nothing was sent: bad usage, whichever plan it is
                return _error(exc, EXIT_USAGE)
            for warning in run.warnings:
                print(f"{PROG}: warning: {warning}", file=sys.stderr)
        try:
            await client.preflight(args.timeout)
        except GatewayUnreachableError as exc:
            return _error(f"cannot reach the gateway over {args.transport} at {address}: {exc.detail}", EXIT_FAILED)
        for run in runs:
            code = await _seed_one(run, progress=not args.no_progress)
            if code != EXIT_OK:
                return code
    return EXIT_OK


@contextlib.asynccontextmanager
async def _closing(client: GatewayClient) -> AsyncIterator[GatewayClient]:
    """The client, closed on the way out within a bound: a channel that never connected can hang its close."""
    try:
        yield client
    finally:
        with contextlib.suppress(TimeoutError, Exception):
            async with asyncio.timeout(2.0):
                await client.aclose()


async def _seed_one(run: PlanRun, *, progress: bool) -> int:
    try:
        async with Progress(run, enabled=None if progress else False):
            path = await run.execute()
    except JournalError as exc:
        return _error(exc, EXIT_USAGE)
    except asyncio.CancelledError:
        _report_missing(run, "interrupted")
        return EXIT_FAILED
    except (BuildError, GatewayError, SeedingError) as exc:
        _report_missing(run, f"failed: {exc}")
        return EXIT_FAILED
    _report_done(run, path)
    return EXIT_OK


def _report_missing(run: PlanRun, what: str) -> None:
    count = run.plan.users.count
    missing = run.missing_count
    print(
        f"{PROG}: {run.scenario}: {what}; {count - missing} of {count} users are safe in {run.journal_path}, "
        f"missing plan indices: {format_ranges(run.missing_ranges()) or 'none'}; no dump written; "
        "finish with --resume",
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
