"""What a run did, for machines: ``--report FILE.json`` with each plan's counts and its per-RPC calls.

The calls are counted by the gateway client's ``CallLog`` (``seeding.gateway``): per RPC, how each
attempt ended and p50 / p95 / p99 of their latencies.

``write_report`` writes the summary atomically: CI jobs read it after the command exits, with
whatever exit code, so a failed or interrupted run writes one too.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .._version import seeding_version
from ..engine._run import format_ranges

if TYPE_CHECKING:
    from ..engine._run import PlanRun

__all__ = ["REPORT_VERSION", "plan_report", "run_report", "write_report"]

REPORT_VERSION = 1


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Write ``report`` as JSON at ``path``, atomically (a temporary file renamed into place)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(orjson.dumps({"report_version": REPORT_VERSION, **report}, option=orjson.OPT_INDENT_2))
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def plan_report(run: PlanRun, status: str, *, dump: Path | None = None, error: str | None = None) -> dict[str, Any]:
    """One plan's part of the report: what it created, how the calls went, where the data is."""
    stats = run.builder.stats if run.builder else None
    log = run.client.call_log
    entry: dict[str, Any] = {
        "scenario": run.scenario,
        "status": status,
        "plan_hash": run.plan.hash,
        "seed": run.seed,
        "counts": run.totals(),
        "duration_s": round(stats.elapsed, 3) if stats else 0.0,
        "calls": stats.calls if stats else 0,
        "retries": stats.retries if stats else 0,
        "resumed_users": run.resumed_users,
        "rpcs": log.as_json() if log is not None else {},
    }
    if run.shard is not None:
        entry["shard"] = str(run.shard)
    if dump is not None:
        entry["dump"] = str(dump)
    else:
        entry["journal"] = str(run.journal_path)
        entry["missing_users"] = run.missing_count
        entry["missing_indices"] = format_ranges(run.missing_ranges())
    if error is not None:
        entry["error"] = error
    return entry


def run_report(collected: dict[str, Any], *, code: int, transport: str, target: str) -> dict[str, Any]:
    """The whole command's report: its exit code, the gateway, and every plan's part."""
    plans = collected.get("plans", [])
    report: dict[str, Any] = {
        "exit_code": code,
        "seeding_version": seeding_version(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "transport": transport,
        "target": target,
        "duration_s": round(sum(plan.get("duration_s", 0.0) for plan in plans), 3),
        "plans": plans,
    }
    if "error" in collected:
        report["error"] = collected["error"]
    return report
