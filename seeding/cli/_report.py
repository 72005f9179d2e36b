"""What a run did, for machines: ``--report FILE.json`` with each plan's counts and its per-RPC calls.

The calls are counted by the gateway client's ``CallLog`` (``seeding.gateway``): per RPC, how each
attempt ended and p50 / p95 / p99 of their latencies.

``write_report`` writes the summary atomically: CI jobs read it after the command exits, with
whatever exit code, so a failed or interrupted run writes one too.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import seeding_version
from ._arguments import PROG

if TYPE_CHECKING:
    from ..engine._builder import BuildStats
    from ..engine._run import PlanRun
    from ..plan._models import SeedsPlan

__all__ = ["REPORT_VERSION", "CommandReport", "plan_entry", "plan_report", "print_error", "run_report", "write_report"]

REPORT_VERSION = 1


def print_error(message: object) -> None:
    """``python -m seeding: error: <message>``: one line on stderr."""
    print(f"{PROG}: error: {message}", file=sys.stderr)


@dataclass
class CommandReport:
    """What ``--report`` gathers while the command runs: the gateway it reached, each plan's entry, the first error."""

    plans: list[dict[str, Any]] = field(default_factory=list)
    target: str | None = None  # where the calls went, once known (the embedded stand's address, say)
    error: str | None = None

    def fail(self, message: object, code: int) -> int:
        """Say ``message`` on stderr; the first error is the report's. Returns ``code``."""
        print_error(message)
        if self.error is None:
            self.error = str(message)
        return code


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Write ``report`` as JSON at ``path``, atomically (a temporary file renamed into place)."""
    import orjson

    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(orjson.dumps({"report_version": REPORT_VERSION, **report}, option=orjson.OPT_INDENT_2))
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def plan_entry(
    plan: SeedsPlan,
    status: str,
    *,
    seed: int | None,
    counts: dict[str, int],
    stats: BuildStats | None,
    duration_s: float | None = None,
    dump: Path | None = None,
    error: str | None = None,
    **details: Any,
) -> dict[str, Any]:
    """One plan's part of the report: what it created, how the calls went, where the data is.

    ``duration_s`` defaults to the builder's elapsed time; ``details`` are what only some runs have
    (``processes``, ``resumed_users``, ``rpcs``, ``shard``, ``journal`` and the missing users).
    """
    if duration_s is None:
        duration_s = stats.elapsed if stats else 0.0
    entry: dict[str, Any] = {
        "scenario": plan.name,
        "status": status,
        "plan_hash": plan.hash,
        "seed": seed,
        "counts": counts,
        "duration_s": round(duration_s, 3),
        "calls": stats.calls if stats else 0,
        "retries": stats.retries if stats else 0,
        "pushbacks": stats.pushbacks if stats else 0,
        "peak_in_flight": stats.peak_in_flight if stats else 0,
        "round_trip_ms": _ms(stats.round_trip if stats else None),
        "unloaded_round_trip_ms": _ms(stats.unloaded_round_trip if stats else None),
        **details,
    }
    if dump is not None:
        entry["dump"] = str(dump)
    if error is not None:
        entry["error"] = error
    return entry


def plan_report(run: PlanRun, status: str, *, dump: Path | None = None, error: str | None = None) -> dict[str, Any]:
    """``plan_entry`` of one run in this process: its calls by RPC, its shard, and what is missing unless it ended."""
    from ..engine._journal import format_ranges

    log = run.client.call_log
    details: dict[str, Any] = {
        "resumed_users": run.resumed_users,
        "rpcs": log.as_json() if log is not None else {},
    }
    if run.shard is not None:
        details["shard"] = str(run.shard)
    if dump is None:
        details["journal"] = str(run.journal_path)
        details["missing_users"] = run.missing_count
        details["missing_indices"] = format_ranges(run.missing_ranges())
    stats = run.builder.stats if run.builder else None
    return plan_entry(
        run.plan, status, seed=run.seed, counts=run.totals(), stats=stats, dump=dump, error=error, **details
    )


def run_report(collected: CommandReport, *, code: int, transport: str, target: str) -> dict[str, Any]:
    """The whole command's report: its exit code, the gateway, and every plan's part."""
    plans = collected.plans
    report: dict[str, Any] = {
        "exit_code": code,
        "seeding_version": seeding_version(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "transport": transport,
        "target": target,
        "duration_s": round(sum(plan.get("duration_s", 0.0) for plan in plans), 3),
        "plans": plans,
    }
    if collected.error is not None:
        report["error"] = collected.error
    return report
