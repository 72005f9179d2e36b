"""What a run did, for machines: per-RPC call counts, statuses and latencies, and ``--report FILE.json``.

``CallLog`` is handed to a gateway client (``client.call_log``) and records every attempt it
sends: the RPC, how it ended (``OK``, or the gRPC status name / HTTP status code of the failure)
and how long it took. Latencies go into a log-bucketed histogram (2 % wide buckets), so a run of
any size costs a few hundred counters per RPC, and p50 / p95 / p99 are read from it within 2 %.

``write_report`` writes the summary atomically: CI jobs read it after the command exits, with
whatever exit code, so a failed or interrupted run writes one too.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..engine._run import format_ranges, seeding_version

if TYPE_CHECKING:
    from ..engine._run import PlanRun

__all__ = ["REPORT_VERSION", "CallLog", "RpcStats", "plan_report", "run_report", "write_report"]

REPORT_VERSION = 1
_BASE = 1.02  # bucket i holds latencies in [_BASE**i, _BASE**(i+1)) microseconds
_LOG_BASE = math.log(_BASE)


@dataclass
class RpcStats:
    """One RPC's attempts: how each ended, and a histogram of their latencies."""

    calls: int = 0
    retried: int = 0  # attempts that failed transiently (the builder tries them again while retries last)
    statuses: Counter[str] = field(default_factory=Counter)
    buckets: Counter[int] = field(default_factory=Counter)
    max_s: float = 0.0

    def add(self, status: str, seconds: float, *, transient: bool) -> None:
        self.calls += 1
        self.statuses[status] += 1
        self.retried += transient
        micros = max(seconds * 1e6, 1.0)
        self.buckets[int(math.log(micros) / _LOG_BASE)] += 1
        self.max_s = max(self.max_s, seconds)

    def percentile(self, share: float) -> float:
        """The latency (seconds) under which ``share`` of the attempts ended: a bucket's midpoint."""
        if not self.calls:
            return 0.0
        rank = max(1, math.ceil(share * self.calls))
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return min(_BASE ** (bucket + 0.5) / 1e6, self.max_s)
        return self.max_s  # pragma: no cover - the counts add up to ``calls``

    def as_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "retries": self.retried,
            "statuses": dict(sorted(self.statuses.items())),
            "latency_ms": {
                "p50": _ms(self.percentile(0.50)),
                "p95": _ms(self.percentile(0.95)),
                "p99": _ms(self.percentile(0.99)),
                "max": _ms(self.max_s),
            },
        }


class CallLog:
    """Every attempt a client sent, by RPC; cheap enough for the hot path (a counter bump or two)."""

    def __init__(self) -> None:
        self.rpcs: dict[str, RpcStats] = {}

    def record(self, rpc: str, status: str, seconds: float, *, transient: bool = False) -> None:
        stats = self.rpcs.get(rpc)
        if stats is None:
            stats = self.rpcs[rpc] = RpcStats()
        stats.add(status, seconds, transient=transient)

    def as_json(self) -> dict[str, Any]:
        return {rpc: stats.as_json() for rpc, stats in sorted(self.rpcs.items())}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


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
