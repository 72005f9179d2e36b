"""``python -m seeding PLAN [PLAN ...]``: seed plans into dumps; ``verify``, ``list`` and ``export`` subcommands.

A PLAN is a file, or a bare name for ``plans/<name>.yaml``. ``--dry-run`` shows what the plans would
create and cost and sends nothing; ``--report FILE.json`` leaves a machine-readable summary for CI.

Exit codes: 0 every plan seeded; 1 seeding failed or was interrupted (the journal keeps what was
done, ``--resume`` finishes it) or the gateway is unreachable; 2 bad usage, plan or settings
(nothing was sent). Errors are one line on stderr, never a traceback.

``--shard I/N`` seeds one shard of the plan (``_shard``), ``--processes N`` runs all ``N`` shards
here and merges them (``_processes``), ``merge SCENARIO`` joins shards seeded elsewhere (``_merge``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import sys
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    BuildError,
    GatewayError,
    GatewayUnreachableError,
    JournalError,
    PlanError,
    SeedingError,
)
from ..command import _collector
from ..engine._options import DEFAULT_LATENCY_BUDGET, DEFAULT_RETRIES
from ..engine._shards import Shard, resolve_shard
from ..gateway import TRANSPORTS, GatewayClient, connect
from ._arguments import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    OneLineParser,
    add_gateway_arguments,
    concurrency,
    latency_budget,
    positive_float,
    positive_int,
    process_count,
    progress_interval,
    rate,
    retries,
    seed_number,
    shard_count,
    shard_flag,
)
from ._progress import DEFAULT_PLAIN_INTERVAL
from ._report import CommandReport, print_error
from ._seed_command import (
    GatewayChoice,
    OutputOptions,
    RunOptions,
    gateway_choice,
    journal_gateway,
    output_options,
    run_options,
)
from ._shutdown import Shutdown
from ._summary import SUMMARIES

if TYPE_CHECKING:  # the rest loads when a run needs it: ``--help`` imports no plan, dump or builder
    from .._settings import Settings
    from ..engine._run import PlanRun
    from ..plan._models import SeedsPlan

__all__ = ["main"]

# Subcommands, each in its own module with its own ``main(argv) -> exit code``.
SUBCOMMANDS = {
    "verify": "._verify",
    "list": "._listing",
    "export": "._export",
    "merge": "._merge",
    "serve": "..service._cli",
    "stand": "._stand",
    "completion": "._completion",
}


def build_parser() -> argparse.ArgumentParser:
    """The options; those the settings also set are None unless given (``_apply_settings`` fills them).

    So ``--help`` reads no settings, and says where each default comes from instead.
    """
    parser = OneLineParser(
        prog=PROG,
        description="Seed the bank gateway from plans and write dumps/<scenario>_seeds.json for load tests. "
        f"`{PROG} verify DUMP` checks a dump against the gateway, `{PROG} list` shows plans and dumps, "
        f"`{PROG} export DUMP --format csv|jsonl` writes a dump for other load tools, `{PROG} merge SCENARIO` "
        f"joins the shards of a plan seeded with --shard, `{PROG} serve` runs the service, `{PROG} stand` the "
        f"embedded stand, `{PROG} completion bash|zsh` prints a shell completion script.",
    )
    parser.add_argument(
        "plans", nargs="+", type=Path, metavar="PLAN", help="plan files (YAML, or JSON), or names in plans/"
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    target = add_gateway_arguments(parser)
    target.add_argument(
        "--stand",
        choices=["embedded"],
        help="start the in-memory stand in this process and seed it (no real gateway needed)",
    )
    run = parser.add_argument_group("run")
    adaptive = "auto: adapts to the gateway, more while latency stays flat, fewer when it rises or calls fail"
    run.add_argument(
        "--concurrency",
        type=concurrency,
        default=argparse.SUPPRESS,  # unset: the settings' (where None, "auto", is a value of its own)
        metavar="N|auto",
        help=f"calls in flight; N fixes them (default {adaptive}; SEEDING.CONCURRENCY sets another)",
    )
    run.add_argument(
        "--latency-budget",
        type=latency_budget,
        default=argparse.SUPPRESS,  # unset: the settings' (where None, "off", is a value of its own)
        metavar="X|off",
        help="the default limit keeps the round trip within X × the gateway's unloaded one: more calls in flight "
        f"while it does (default: SEEDING.LATENCY_BUDGET, else {DEFAULT_LATENCY_BUDGET:g}; off: fill the gateway's "
        "capacity, queueing it)",
    )
    run.add_argument(
        "--rate",
        type=rate,
        metavar="N",
        help="at most N calls per second, whatever the limit (a gateway's quota; default: SEEDING.RATE, else none)",
    )
    run.add_argument(
        "--retries",
        type=retries,
        help=f"further attempts after a transient failure (default: SEEDING.RETRIES, else {DEFAULT_RETRIES})",
    )
    run.add_argument("--dumps-dir", type=Path, help="default: SEEDING.DUMPS_DIR, else dumps")
    run.add_argument("--seed", type=seed_number, help="reproducible names, phones and amounts (emails stay unique)")
    run.add_argument("--users", type=positive_int, help="seed this many users instead of the plan's count")
    run.add_argument(
        "--parallel-operations",
        action="store_true",
        help="run operations on one account concurrently (the real gateway then loses balance updates)",
    )
    shards = parser.add_argument_group("shards (one plan over processes and machines)")
    shards.add_argument(
        "--shard",
        type=shard_flag,
        metavar="I/N",
        help="seed only shard I of N (1-based) into dumps/<scenario>_seeds.shard-I-of-N.json; "
        "`merge` joins them (default: SEEDING_SHARD, or JOB_COMPLETION_INDEX+1 of --shards)",
    )
    shards.add_argument(
        "--shards",
        type=shard_count,
        metavar="N",
        help="how many shards a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (0-based) counts "
        "(default: SEEDING_SHARDS)",
    )
    shards.add_argument(
        "--processes",
        type=process_count,
        metavar="N",
        help="seed the plan as N shards in N processes on this machine, then merge them (--concurrency is per process)",
    )
    shards.add_argument("--progress-jsonl", action="store_true", help=argparse.SUPPRESS)  # a --processes child
    run.add_argument(
        "--reseed",
        action="store_true",
        help="seed the plan anew even when the dump on disk could be grown or reused, or was made on "
        "another gateway (the old dump is kept as <scenario>_seeds.previous.json)",
    )
    journal = run.add_mutually_exclusive_group()
    journal.add_argument("--resume", action="store_true", help="finish an interrupted run from its journal")
    journal.add_argument("--restart", action="store_true", help="discard an interrupted run's journal")
    output = parser.add_argument_group("output")
    output.add_argument(
        "--dry-run", action="store_true", help="print what the plans would create and cost; send nothing"
    )
    output.add_argument(
        "--latency-ms",
        type=positive_float,
        help="latency per call that --dry-run assumes (default: 20 over grpc, 200 over http)",
    )
    output.add_argument("--report", type=Path, metavar="FILE.json", help="write a machine-readable summary there")
    output.add_argument(
        "--summary",
        choices=SUMMARIES,
        default="auto",
        help="how a run ends: a table (entities by kind, per RPC calls and p50/p95/p99, wall, rate, dump) or one "
        "line; auto (the default): the table on a terminal, the line elsewhere (CI logs)",
    )
    output.add_argument("--no-progress", action="store_true", help="no progress at all")
    output.add_argument(
        "--progress-interval",
        type=progress_interval,
        default=DEFAULT_PLAIN_INTERVAL,
        metavar="S",
        help="off a terminal, a plain progress line every S seconds (default %(default)g)",
    )
    return parser


class _Version(argparse.Action):
    """argparse's ``version`` action, asking the installed package only when ``--version`` is given."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from .._version import seeding_version

        print(f"seeding {seeding_version()}")  # on stdout, as argparse's own version action
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m seeding`` and of the ``seeding`` console script; returns the exit code.

    A reader that stops reading (``seeding list | head -1``) ends the command quietly with 0, as
    ``ls | head`` does: what it printed was all that was wanted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            if argv[:1] and argv[0] in SUBCOMMANDS:
                module = importlib.import_module(SUBCOMMANDS[argv[0]], __package__)
                _collector.start_up_done()
                code: int = module.main(argv[1:])
            else:
                code = _seed(argv)
        except SystemExit:  # argparse's --help and errors
            sys.stdout.flush()
            raise
        sys.stdout.flush()  # here, where a closed pipe is caught, not at the interpreter's exit
    except BrokenPipeError:
        return _reader_gone()
    return code


def _reader_gone() -> int:
    """stdout's reader went away: nothing more can reach it, and Python's own flush at exit must not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_OK


def _seed(argv: list[str]) -> int:
    """``python -m seeding PLAN …``: seed the plans."""
    report = CommandReport()
    gateway: GatewayChoice | None = None
    output: OutputOptions | None = None
    code = EXIT_FAILED
    try:
        with Shutdown(PROG, exit_code=EXIT_FAILED) as shutdown:
            try:
                args = build_parser().parse_args(argv)  # --help ends here, before any setting is read
                from .._settings import load_settings  # pydantic-settings: more start-up than all the rest

                settings = load_settings()
                gateway = gateway_choice(args, settings)
                try:
                    _check_report_path(args.report)
                except SeedingError:
                    output = output_options(args, argv, report=None)  # no report of a report that cannot be written
                    raise
                output = output_options(args, argv, report=args.report)
                plans = _load_plans(args.plans, users=args.users)
                if args.resume and gateway.embedded_stand:
                    raise SeedingError("--resume cannot be used with --stand embedded: its data ended with its process")
                run = run_options(args, settings)
                run = replace(run, shard=_shard(args.shard, run, gateway, settings, plans))
                if run.resume and not gateway.given and not gateway.embedded_stand:
                    gateway = _journal_gateway(args, settings, gateway, run, plans)
            except (PlanError, SeedingError) as exc:
                code = report.fail(exc, EXIT_USAGE)
                return code
            except KeyboardInterrupt:
                code = report.fail("interrupted before anything was sent", EXIT_FAILED)
                return code
            if output.dry_run:
                code = _dry_run(plans, gateway, run, output, report)
                return code
            try:
                if run.processes:
                    from ._parallel import seed_in_processes

                    _collector.start_up_done()
                    shutdown.grace = max(shutdown.grace, 10.0)  # the shard processes stop first, then we do
                    work = seed_in_processes(plans[0], gateway, run, output, report)
                else:
                    work = _seed_all(plans, gateway, run, output, report)
                code = asyncio.run(_attached(shutdown, work))
            except KeyboardInterrupt:  # a signal between the run's end and the loop's
                code = EXIT_FAILED
            except Exception as exc:  # a bug: still one line, and the journal (closed on the way out) keeps its users
                code = report.fail(f"unexpected {type(exc).__name__}: {exc} (please report it)", EXIT_FAILED)
            return code
    finally:
        if gateway is not None and output is not None and output.report is not None:
            _write_report(output.report, gateway, report, code)


async def _attached(shutdown: Shutdown, work: Coroutine[Any, Any, int]) -> int:
    """``work``'s exit code; a signal cancels it, and cleanup (the gRPC channel, the stand) gets seconds, no more."""
    shutdown.attach()
    code = EXIT_FAILED
    try:
        code = await work
    finally:
        shutdown.finishing(code)
    return code


def _journal_gateway(
    args: argparse.Namespace, settings: Settings, gateway: GatewayChoice, run: RunOptions, plans: list[SeedsPlan]
) -> GatewayChoice:
    """``--resume`` without gateway flags finishes the run on the gateway its journal names."""
    from ..dumps._files import dump_path
    from ..engine._journal import journal_path, peek_header

    whole = dump_path(plans[0].name, run.dumps_dir)
    header = peek_header(journal_path(run.shard.dump_path(whole) if run.shard else whole)) or {}
    transport, target = header.get("transport"), header.get("target")
    if transport in TRANSPORTS and isinstance(target, str) and target != "embedded":
        return journal_gateway(args, settings, transport, target)
    return gateway


def _shard(
    flag: Shard | None, run: RunOptions, gateway: GatewayChoice, settings: Settings, plans: list[SeedsPlan]
) -> Shard | None:
    """The shard this run seeds (flag, setting, or Indexed Job), checked against ``--processes`` and the plans."""
    try:
        shard = resolve_shard(flag, run.shards, settings.seeding.shard)
    except ValueError as exc:
        raise SeedingError(str(exc)) from None
    if run.processes is not None:
        if shard is not None:
            source = "--shard" if flag else "SEEDING_SHARD or JOB_COMPLETION_INDEX"
            raise SeedingError(f"--processes runs every shard itself; it cannot be combined with {source} ({shard})")
        if len(plans) != 1:
            raise SeedingError(f"--processes seeds one plan at a time, got {len(plans)}")
        if gateway.embedded_stand:
            raise SeedingError("--processes cannot be used with --stand embedded: each process would seed its own")
    return shard


def _check_report_path(path: Path | None) -> None:
    """A report that could not be written is found out before anything is sent, not after the run."""
    if path is None:
        return
    if path.is_dir():
        raise SeedingError(f"--report {path}: is a directory; name a file such as {path / 'report.json'}")
    if path.exists() and not path.is_file():  # written aside and renamed over it: as root, a device would be replaced
        raise SeedingError(f"--report {path}: is not a regular file (a device, pipe or socket); name a file")
    parent = path.parent
    if not parent.is_dir():
        raise SeedingError(f"--report {path}: no such directory {parent}")
    if not os.access(parent, os.W_OK):
        raise SeedingError(f"--report {path}: cannot write into {parent}")


def _write_report(path: Path, gateway: GatewayChoice, report: CommandReport, code: int) -> None:
    from ._report import run_report, write_report

    try:
        target = report.target if report.target is not None else gateway.address
        write_report(path, run_report(report, code=code, transport=gateway.transport, target=target))
    except OSError as exc:
        print(f"{PROG}: warning: {path}: cannot write the report: {exc.strerror or exc}", file=sys.stderr)


def _dry_run(
    plans: list[SeedsPlan], gateway: GatewayChoice, run: RunOptions, output: OutputOptions, report: CommandReport
) -> int:
    """Print each plan's preview; nothing is sent and no journal is taken."""
    from ..engine._preview import ASSUMED_LATENCY_MS, preview
    from ..engine._shards import default_seed

    latency = output.latency_ms or ASSUMED_LATENCY_MS[gateway.transport]
    for plan in plans:
        seed = run.seed if run.seed is not None else default_seed(plan.hash)
        options = run.build_options(gateway.timeout, seed=seed)
        indices = None
        if run.shard is not None:  # the shard's share of the plan
            indices = run.shard.indices(plan.users.count)
            if not plan.users.drawn:
                plan = plan.with_users(len(indices)).model_copy(update={"scenario": plan.name})
                indices = None
        shown = preview(plan, options, latency, indices)
        print("\n".join(shown.lines(gateway.transport)))
        report.plans.append({"status": "dry-run", **shown.as_json()})
    return EXIT_OK


def _load_plans(paths: list[Path], *, users: int | None = None) -> list[SeedsPlan]:
    from ..plan._models import find_plan, load_plan

    plans = [load_plan(find_plan(path)) for path in paths]
    if users is not None:
        plans = [plan.with_users(users) for plan in plans]
    seen: dict[str, Path] = {}
    for path, plan in zip(paths, plans, strict=True):
        scenario = plan.name
        if scenario in seen:
            raise PlanError(f"{path}: scenario {scenario!r} is also {seen[scenario]}'s; both would write one dump")
        seen[scenario] = path
    return plans


@contextlib.asynccontextmanager
async def _gateway_target(gateway: GatewayChoice) -> AsyncIterator[tuple[str, str]]:
    """(address to connect to, target to record in dumps): the embedded stand's, or the flags'."""
    if gateway.embedded_stand:
        from ..stand import Stand

        async with Stand() as stand:
            yield stand.target(gateway.transport), "embedded"
    else:
        yield gateway.address, gateway.address


async def _seed_all(
    plans: list[SeedsPlan], gateway: GatewayChoice, run: RunOptions, output: OutputOptions, report: CommandReport
) -> int:
    try:
        return await _seed_plans(plans, gateway, run, output, report)
    except asyncio.CancelledError:  # stopped before the first plan began
        return report.fail("interrupted; nothing was seeded", EXIT_FAILED)


async def _seed_plans(
    plans: list[SeedsPlan], gateway: GatewayChoice, run: RunOptions, output: OutputOptions, report: CommandReport
) -> int:
    """Every plan's journal is taken before the first call; then one pre-flight call; then the plans in order.

    The pre-flight call goes out before the engine is imported and is awaited once the journals are
    taken: the engine (Faker, the builder, the journal, the dump) is imported on a worker thread
    meanwhile, so the loop sends the call and takes its answer while the imports run (~25 ms less).
    """
    options = run.build_options(gateway.timeout)
    if _all_reused(plans, gateway, run, report):
        return EXIT_OK
    async with contextlib.AsyncExitStack() as stack:
        address, recorded = await stack.enter_async_context(_gateway_target(gateway))
        report.target = address if recorded == address else f"{recorded} ({address})"
        client = await stack.enter_async_context(_closing(connect(gateway.transport, address, timeout=gateway.timeout)))
        preflight = await stack.enter_async_context(_started(client.preflight(gateway.timeout)))
        await asyncio.to_thread(importlib.import_module, "seeding.engine._run")
        from ..engine._run import PlanRun
        from ..gateway import CallLog

        _collector.start_up_done()
        runs = [
            PlanRun(
                plan,
                client,
                dumps_dir=run.dumps_dir,
                options=options,
                seed=run.seed,
                resume=run.resume,
                restart=run.restart,
                target=recorded,
                shard=run.shard,
                reseed=run.reseed,
                adopt_count=run.users is None,
            )
            for plan in plans
        ]
        for plan_run in runs:
            stack.callback(plan_run.close)
            try:
                plan_run.open()
            except SeedingError as exc:  # nothing was sent: bad usage, whichever plan it is
                return report.fail(exc, EXIT_USAGE)
            for warning in plan_run.warnings:
                print(f"{PROG}: warning: {warning}", file=sys.stderr)
        try:
            await preflight
        except GatewayUnreachableError as exc:
            return report.fail(
                f"cannot reach the gateway over {gateway.transport} at {address}: {exc.detail}", EXIT_FAILED
            )
        for plan_run in runs:
            client.call_log = CallLog()
            code = await _seed_one(plan_run, output, report)
            if code != EXIT_OK:
                return code
    return EXIT_OK


def _all_reused(plans: list[SeedsPlan], gateway: GatewayChoice, run: RunOptions, report: CommandReport) -> bool:
    """Whether every plan's dump already holds enough users of its shape: then not even the pre-flight call goes out."""
    if run.resume or run.reseed or gateway.embedded_stand or run.shard:
        return False
    from ..dumps._files import dump_path
    from ..engine._fit import fit_dump
    from ._report import plan_entry

    fits = []
    for plan in plans:
        path = dump_path(plan.name, run.dumps_dir)
        try:
            fit = fit_dump(path, plan, seed=run.seed, transport=gateway.transport, target=gateway.address)
        except SeedingError:
            return False  # the run says why, in its own words
        if fit.action != "reuse":
            return False
        fits.append((plan, fit))
    for plan, fit in fits:
        wanted = plan.users.count
        print(
            f"{plan.name}: reused {fit.users}, seeded 0: the dump holds {fit.users} users of this plan's shape, "
            f"the plan wants {wanted} (a load test is served them from the first on); no call → {fit.path}"
        )
        report.plans.append(
            plan_entry(plan, "reused", seed=fit.seed, counts=plan.totals(0), stats=None, dump=fit.path, users=fit.users)
        )
    return True


@contextlib.asynccontextmanager
async def _started(work: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """``work`` running as a task from the loop's next turn; cancelled if left unawaited."""
    task = asyncio.ensure_future(work)
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # its outcome was not wanted
            await task


@contextlib.asynccontextmanager
async def _closing(client: GatewayClient) -> AsyncIterator[GatewayClient]:
    """The client, closed on the way out within a bound: a channel that never connected can hang its close."""
    try:
        yield client
    finally:
        with contextlib.suppress(TimeoutError, Exception):
            async with asyncio.timeout(2.0):
                await client.aclose()


async def _seed_one(run: PlanRun, output: OutputOptions, report: CommandReport) -> int:
    from ..engine._fit import FitError
    from ._progress import Progress
    from ._report import plan_report

    try:
        progress = Progress(
            run,
            enabled=output.progress,
            plain_interval=output.progress_interval,
            users=run.count,
            json_lines=output.progress_jsonl,
        )
        async with progress:
            path = await run.execute()
    except (JournalError, FitError) as exc:
        report.plans.append(plan_report(run, "failed", error=str(exc)))
        print_error(exc)
        return EXIT_USAGE
    except asyncio.CancelledError:
        report.plans.append(plan_report(run, "interrupted"))
        _report_missing(run, "interrupted", output)
        return EXIT_FAILED
    except (BuildError, GatewayError, SeedingError) as exc:
        report.plans.append(plan_report(run, "failed", error=str(exc)))
        _report_missing(run, f"failed: {exc}", output)
        return EXIT_FAILED
    report.plans.append(plan_report(run, "seeded", dump=path))
    _report_done(run, path, output)
    return EXIT_OK


def _report_missing(run: PlanRun, what: str, output: OutputOptions) -> None:
    from ..engine._journal import format_ranges

    count = run.count
    missing = run.missing_count
    # The embedded stand's users ended with it: there is nothing to resume, only to run again.
    finish = "run again" if run.target == "embedded" else f"finish with: {output.resume_command()}"
    if output.progress_jsonl:  # a --processes child: its parent prints the command (this one's plan file is temporary)
        finish = "finish with --resume"
    print(
        f"{PROG}: {run.scenario}: {what}; {count - missing} of {count} users are safe in {run.journal_path}, "
        f"missing plan indices: {format_ranges(run.missing_ranges()) or 'none'}; no dump written; {finish}",
        file=sys.stderr,
    )


def _report_done(run: PlanRun, path: Path, output: OutputOptions) -> None:
    from ._summary import Style, summary_lines, table_lines, wants_table

    log = run.client.call_log
    if output.progress_jsonl and log is not None:  # a --processes child: its calls, for the parent's table
        import orjson

        print(orjson.dumps({"call_log": log.histograms()}).decode(), flush=True)
    summary = output.summary
    fit = run.fit
    if fit is not None and fit.action == "reuse":
        wanted = run.plan.users.count
        print(
            f"{run.scenario}: reused {fit.users}, seeded 0: the dump holds {fit.users} users of this plan's shape, "
            f"the plan wants {wanted} (a load test is served them from the first on); no call → {path}"
        )
        return
    if wants_table(summary, sys.stdout):
        lines = table_lines(run, path, Style.for_stream(sys.stdout))
    else:
        lines = summary_lines(run, path)
    print("\n".join(lines))
    if run.kept is not None:
        print(f"{run.scenario}: the dump it replaced is kept as {run.kept}: {fit.reason if fit else 'replaced'}")
