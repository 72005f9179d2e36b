"""How a build runs (concurrency, retries, timeout, seed): a small value, light enough for settings.

Settings and the command line default to these without importing the engine (Faker, tenacity).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADAPTIVE_GAIN",
    "ADAPTIVE_INITIAL",
    "ADAPTIVE_MAX",
    "ADAPTIVE_MIN",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LATENCY_BUDGET",
    "DEFAULT_RETRIES",
    "LATENCY_MIN",
    "MAX_CONCURRENCY",
    "MAX_LATENCY_BUDGET",
    "MAX_RATE",
    "MAX_RETRIES",
    "MIN_RATE",
    "BuildOptions",
]

# None: adaptive (``seeding.engine._limits.LatencyLimit``; ``AdaptiveLimit`` with no latency budget),
# measured on a latency-bound and on a capacity-bound stand (bench/seed_concurrency.py, bench/shared_gateway.py);
# ``--concurrency N`` fixes N instead.
DEFAULT_CONCURRENCY: int | None = None
# The adaptive limit starts where the real gateway was measured clean (50 in flight on either
# transport), keeps ADAPTIVE_GAIN × the gateway's bandwidth-delay product in flight, and stays
# within these bounds: 400 is past the point where a client on two cores is bound by its own CPU.
ADAPTIVE_INITIAL = 50
ADAPTIVE_MIN = 4
ADAPTIVE_MAX = 400
ADAPTIVE_GAIN = 4.0  # headroom: a busy client leaves gaps that a short queue at the gateway fills
# The default limit keeps the mean round trip within this × the unloaded one (--latency-budget;
# None: no budget, fill the gateway as AdaptiveLimit does). It probes the unloaded round trip at
# LATENCY_MIN calls in flight: one, so that even a gateway serving one call at a time has no queue.
DEFAULT_LATENCY_BUDGET: float = 1.5
LATENCY_MIN = 1
DEFAULT_RETRIES = 8
# Beyond these a value is a typo: 10**9 calls in flight would start a task per plan user up front,
# and a billion retries would never let a run against a dead gateway end.
MAX_CONCURRENCY = 10_000
MAX_RETRIES = 1_000
MAX_RATE = 1_000_000.0  # calls per second: a million is past anything a client on a few cores sends
# and one call per 100 s is the slowest quota taken: below it a run of one user (15 calls) lasts
# hours and looks hung (--rate 1e-9: a call every 31 years); a smaller number is a typo.
MIN_RATE = 0.01
MAX_LATENCY_BUDGET = 1_000.0


@dataclass(frozen=True)
class BuildOptions:
    concurrency: int | None = DEFAULT_CONCURRENCY  # gateway calls in flight at most for the run; None: adaptive
    retries: int = DEFAULT_RETRIES  # further attempts of a call after a transient failure
    timeout: float = 10.0  # seconds per attempt
    seed: int = 0  # makes names, phones and amounts reproducible
    parallel_operations: bool = False  # allow several operations on one account at once
    latency_budget: float | None = DEFAULT_LATENCY_BUDGET  # the default limit's round trip / unloaded; None: off
    rate: float | None = None  # calls per second at most (a gateway's quota); None: no cap
