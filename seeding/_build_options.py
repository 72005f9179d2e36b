"""How a build runs (concurrency, retries, timeout, seed): a small value, light enough for settings.

Settings and the command line default to these without importing the engine (Faker, tenacity).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_RETRIES", "MAX_CONCURRENCY", "MAX_RETRIES", "BuildOptions"]

# The real gateway was measured clean with 50 calls in flight on either transport.
DEFAULT_CONCURRENCY = 50
DEFAULT_RETRIES = 8
# Beyond these a value is a typo: 10**9 calls in flight would start a task per plan user up front,
# and a billion retries would never let a run against a dead gateway end.
MAX_CONCURRENCY = 10_000
MAX_RETRIES = 1_000


@dataclass(frozen=True)
class BuildOptions:
    concurrency: int = DEFAULT_CONCURRENCY  # gateway calls in flight at most, for the whole run
    retries: int = DEFAULT_RETRIES  # further attempts of a call after a transient failure
    timeout: float = 10.0  # seconds per attempt
    seed: int = 0  # makes names, phones and amounts reproducible
    parallel_operations: bool = False  # allow several operations on one account at once
