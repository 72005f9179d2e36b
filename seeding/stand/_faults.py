"""Fault injection: a delay on every call and a seeded share of transient failures.

The seeder's retry and timeout logic needs a gateway that is slow and flaky on demand, and
reproducibly so: the decisions come from ``random.Random(seed)``, drawn when a call arrives, so
the same seed and the same sequence of calls give the same faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ._errors import InjectedFaultError

if TYPE_CHECKING:
    from ._options import StandOptions

__all__ = ["Faults"]


class Faults:
    """Delays every call by ``latency_ms`` plus up to ``jitter_ms`` and fails ``fail_rate`` of them.

    The delay of a call is uniform in ``[latency_ms, latency_ms + jitter_ms]``. A failed call is
    delayed too, then raises ``InjectedFaultError`` *before* the bank sees it, so it changes
    nothing. The counters are there for tests: ``calls`` and ``injected`` per RPC name, and the
    number of calls in flight (now and at the peak).
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        fail_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms}")
        if jitter_ms < 0:
            raise ValueError(f"jitter_ms must be >= 0, got {jitter_ms}")
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be within [0, 1], got {fail_rate}")
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.fail_rate = fail_rate
        self._rng = random.Random(seed)
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0

    @classmethod
    def from_options(cls, options: StandOptions) -> Faults:
        """The faults a stand's options ask for."""
        return cls(
            latency_ms=options.latency_ms, jitter_ms=options.jitter_ms, fail_rate=options.fail_rate, seed=options.seed
        )

    @property
    def total_injected(self) -> int:
        return self.injected.total()

    @contextlib.asynccontextmanager
    async def call(self, rpc: str) -> AsyncIterator[None]:
        """Around one call: count it, wait its delay, raise ``InjectedFaultError`` if picked to fail."""
        self.calls[rpc] += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            fail = self._rng.random() < self.fail_rate  # drawn on arrival, before any await
            delay_ms = self.latency_ms
            if self.jitter_ms:
                delay_ms += self._rng.uniform(0.0, self.jitter_ms)
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000.0)
            if fail:
                self.injected[rpc] += 1
                raise InjectedFaultError(f"{rpc}: service temporarily unavailable (injected fault)")
            yield
        finally:
            self.in_flight -= 1
