"""Every attempt a gateway client sends, by RPC: how it ended and a histogram of how long it took.

``CallLog`` is handed to a client (``client.call_log``) and records the RPC, how the attempt
ended (``OK``, or the gRPC status name / HTTP status code of the failure) and its latency.
Latencies go into a log-bucketed histogram (2 % wide buckets), so a run of any size costs a few
hundred counters per RPC, and p50 / p95 / p99 are read from it within 2 %. The command line's
``--report`` prints it (``seeding.cli._report``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CallLog", "RpcStats"]

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
                return min(math.pow(_BASE, bucket + 0.5) / 1e6, self.max_s)
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
