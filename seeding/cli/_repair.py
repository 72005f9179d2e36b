"""``python -m seeding verify DUMP --repair``: re-seed the stale users ``verify`` finds, each at its own index.

A gateway that was reset, or users someone deleted or blocked, make a dump stale; seeding it whole
again costs as much as the first time. Repair checks the sample (all users with ``--sample 0``),
then seeds only the stale plan indices again, journaled like a run (``PlanRun`` with ``repair=``:
Ctrl-C keeps what was re-seeded, ``--resume`` finishes from the journal without checking again),
and rewrites the dump atomically with its index: every other user stays byte for byte where it
was, so hand-outs given by index stay valid. The plan comes from the dump's own meta (its shape
and seed), so a repaired user has the same shape, name and profile as the one it replaces.

Exit codes: 0 nothing stale, or every stale user repaired; 1 the gateway is unreachable or the
repair failed or was interrupted (the journal keeps what was done; nothing is rewritten); 2 bad
usage (a dump whose meta records no plan or shape, an unfinished repair without ``--resume``).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import DumpError, GatewayUnreachableError, JournalError, SeedingError
from ..engine._journal import format_ranges, journal_path, peek_header
from ..engine._options import BuildOptions
from ..engine._run import PlanRun
from ..engine._stale import check_sample, repair_plan
from ..gateway import connect
from ._arguments import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PROG
from ._shutdown import Shutdown

__all__ = ["repair_main"]

NAME = f"{PROG} verify"


@dataclass
class _Outcome:
    """What the repair found and did; ``run`` is set once re-seeding began."""

    stale_lines: list[str] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    checked: int = 0
    from_journal: bool = False
    run: PlanRun | None = None


def repair_main(args: argparse.Namespace, dump: Path, check: Any, meta: dict[str, Any], shutdown: Shutdown) -> int:
    """Check ``check``'s sample, re-seed the stale users and rewrite ``dump`` (the file ``args.dump`` names: a
    bare scenario is found in the dumps dir); the exit code."""
    try:
        plan = repair_plan(dump, meta, len(check.seeds.users))
    except SeedingError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    header = peek_header(journal_path(dump)) if args.resume else None
    pending = header.get("repair") if header else None
    outcome = _Outcome(from_journal=isinstance(pending, list))

    async def repair() -> None:
        shutdown.attach()
        try:
            async with connect(check.transport, check.address, timeout=check.timeout) as client:
                await client.preflight(check.timeout)
                if isinstance(pending, list):
                    outcome.stale = [int(index) for index in pending]
                else:
                    report = await check_sample(check)
                    outcome.checked = len(check.sample)
                    outcome.stale = sorted(report.stale)
                    outcome.stale_lines = [line for index in outcome.stale for line in report.stale[index]]
                if not outcome.stale:
                    return
                run = outcome.run = PlanRun(
                    plan,
                    client,
                    dumps_dir=dump.parent,
                    options=BuildOptions(retries=check.retries, timeout=check.timeout),
                    resume=args.resume,
                    restart=args.restart,
                    target=check.address,
                    repair=outcome.stale,
                )
                try:
                    await run.execute()
                finally:
                    run.close()
        finally:
            shutdown.finishing(EXIT_FAILED)

    try:
        asyncio.run(repair())
    except GatewayUnreachableError as exc:
        where = f"{check.transport} at {check.address}"
        print(f"{NAME}: error: cannot reach the gateway over {where}: {exc.detail}; nothing rewritten", file=sys.stderr)
        return EXIT_FAILED
    except JournalError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DumpError as exc:  # a damaged user read while checking: the file is bad input, not a stale user
        print(f"{NAME}: error: {exc}; {_left(outcome, args)}", file=sys.stderr)
        return EXIT_USAGE
    except (asyncio.CancelledError, KeyboardInterrupt):
        print(f"{NAME}: error: interrupted; {_left(outcome, args)}", file=sys.stderr)
        return EXIT_FAILED
    except SeedingError as exc:
        print(f"{NAME}: error: {' '.join(str(exc).split())}; {_left(outcome, args)}", file=sys.stderr)
        return EXIT_FAILED
    for line in outcome.stale_lines:
        print(line)
    found = "from the journal of the interrupted repair" if outcome.from_journal else f"of {outcome.checked} checked"
    run = outcome.run
    calls = run.builder.stats.calls if run is not None and run.builder is not None else 0
    repaired = len(outcome.stale)
    print(
        f"{dump}: checked {outcome.checked}, stale {repaired} ({found}), repaired {repaired} "
        f"(re-seeded at their own indices, {calls} calls over {check.transport} at {check.address})"
        + (f"; the dump is rewritten with its index → {dump}" if repaired else "; nothing to rewrite")
    )
    return EXIT_OK


def _left(outcome: _Outcome, args: argparse.Namespace) -> str:
    """Where an interrupted or failed repair stands, and the command that finishes it."""
    run = outcome.run
    if run is None or (run.journal is None and run.resumed_users == 0 and not run.journal_path.exists()):
        return "nothing rewritten"
    done = run.count - run.missing_count
    missing = format_ranges(run.missing_ranges()) or "none"
    command = shlex.join([*PROG.split(), "verify", str(args.dump), "--repair", "--resume"])
    return (
        f"{done} of {run.count} stale users re-seeded are safe in {run.journal_path} (missing: {missing}); "
        f"the dump is not rewritten yet; finish with: {command}"
    )
