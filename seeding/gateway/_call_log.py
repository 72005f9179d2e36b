"""Every attempt a gateway client sends, by RPC: how it ended and a histogram of how long it took.

``CallLog`` is handed to a client (``client.call_log``) and records the RPC, how the attempt
ended (``OK``, or the gRPC status name / HTTP status code of the failure) and its latency.
Latencies go into a log-bucketed histogram (2 % wide buckets), so a run of any size costs a few
hundred counters per RPC, and p50 / p95 / p99 are read from it within 2 %. The command line's
``--report`` prints it (``seeding.cli._report``). The histograms add up: a ``--processes`` child
sends its own (``histograms``) and the parent ``merge``s them into the run's table and report.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
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

    def histogram(self) -> dict[str, Any]:
        """Everything, for another process to ``merge``: counts, not percentiles (those do not add up)."""
        return {
            "calls": self.calls,
            "retried": self.retried,
            "statuses": dict(self.statuses),
            "buckets": {str(bucket): count for bucket, count in self.buckets.items()},
            "max_s": self.max_s,
        }

    def merge(self, histogram: Mapping[str, Any]) -> None:
        """Add another process's ``histogram()`` of the same RPC. ``ValueError``/``TypeError`` if it is not one
        (and then nothing is added)."""
        statuses = {str(name): _count(n) for name, n in dict(histogram["statuses"]).items()}
        buckets = {int(bucket): _count(n) for bucket, n in dict(histogram["buckets"]).items()}
        calls, retried, max_s = _count(histogram["calls"]), _count(histogram["retried"]), float(histogram["max_s"])
        if sum(statuses.values()) != calls or sum(buckets.values()) != calls or not 0 <= max_s < math.inf:
            raise ValueError("a histogram whose counts do not add up")
        self.add_stats(RpcStats(calls, retried, Counter(statuses), Counter(buckets), max_s))

    def add_stats(self, other: RpcStats) -> None:
        """Add another log's counts of the same RPC."""
        self.calls += other.calls
        self.retried += other.retried
        self.statuses.update(other.statuses)
        self.buckets.update(other.buckets)
        self.max_s = max(self.max_s, other.max_s)


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


class CallLog:
    """Every attempt a client sent, by RPC; cheap enough for the hot path (a counter bump or two)."""

    def __init__(self) -> None:
        self.rpcs: dict[str, RpcStats] = {}

    def histograms(self) -> dict[str, dict[str, Any]]:
        """Every RPC's ``RpcStats.histogram()``: what a ``--processes`` child hands its parent."""
        return {rpc: stats.histogram() for rpc, stats in self.rpcs.items()}

    def merge(self, histograms: Mapping[str, Any]) -> None:
        """Add another process's ``histograms()``; ``ValueError``/``TypeError`` (nothing added) if they are not."""
        merged = {}
        for rpc, histogram in dict(histograms).items():
            stats = RpcStats()
            stats.merge(histogram)  # checked apart first: a bad one adds nothing
            merged[str(rpc)] = stats
        for rpc, stats in merged.items():
            self.rpcs.setdefault(rpc, RpcStats()).add_stats(stats)

    def record(self, rpc: str, status: str, seconds: float, *, transient: bool = False) -> None:
        stats = self.rpcs.get(rpc)
        if stats is None:
            stats = self.rpcs[rpc] = RpcStats()
        stats.add(status, seconds, transient=transient)

    def as_json(self) -> dict[str, Any]:
        return {rpc: stats.as_json() for rpc, stats in sorted(self.rpcs.items())}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
