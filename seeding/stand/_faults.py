"""Fault injection: a delay on every call, a seeded share of transient failures, of late answers, a bounded capacity.

The seeder's retry and timeout logic needs a gateway that is slow and flaky on demand, and
reproducibly so: the decisions come from ``random.Random(seed)``, drawn when a call arrives, so
the same seed and the same sequence of calls give the same faults. Its concurrency needs a gateway
whose capacity is bounded: ``max_in_flight`` workers serve the calls, the rest wait in line.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from ._errors import InjectedFaultError, PushbackError

if TYPE_CHECKING:
    from ._options import StandOptions

__all__ = ["Faults"]

R = TypeVar("R")
T = TypeVar("T")


class Faults:
    """Delays every call by ``latency_ms`` plus up to ``jitter_ms`` and fails ``fail_rate`` of them.

    The delay of a call is uniform in ``[latency_ms, latency_ms + jitter_ms]``. A failed call is
    delayed too, then raises ``InjectedFaultError`` *before* the bank sees it, so it changes
    nothing. A late call (``late_rate``) is made, then answered ``late_ms`` later: past a client's
    timeout, it is a call the client cannot tell was made. With ``max_in_flight`` set, at most that
    many calls are served at once (delay and handler both run while a call holds one of these
    workers); the others queue in arrival order, as behind a gateway with that many workers; with
    ``pushback_above`` too, a call that would wait behind more than that many is refused at once
    with a pushback of ``pushback_ms`` (a gateway that sheds load). The counters are there for
    tests: ``calls``, ``injected``, ``late`` and ``refused`` per RPC name, the calls being served
    (now and at the peak) and those queued.
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        fail_rate: float = 0.0,
        seed: int | None = None,
        max_in_flight: int | None = None,
        pushback_above: int | None = None,
        pushback_ms: float = 100.0,
        late_rate: float = 0.0,
        late_ms: float = 2000.0,
    ) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms}")
        if jitter_ms < 0:
            raise ValueError(f"jitter_ms must be >= 0, got {jitter_ms}")
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be within [0, 1], got {fail_rate}")
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1 (or None: no limit), got {max_in_flight}")
        if pushback_above is not None and (max_in_flight is None or pushback_above < 0):
            raise ValueError("pushback_above needs max_in_flight (a queue to be above) and must be 0 or more")
        if not 0.0 <= late_rate <= 1.0:
            raise ValueError(f"late_rate must be within [0, 1], got {late_rate}")
        if late_ms < 0:
            raise ValueError(f"late_ms must be >= 0, got {late_ms}")
        if not pushback_ms > 0:
            raise ValueError(f"pushback_ms must be more than 0, got {pushback_ms}")
        self.pushback_above = pushback_above
        self.pushback_ms = pushback_ms
        self.refused: Counter[str] = Counter()  # calls answered with a pushback, per RPC
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.fail_rate = fail_rate
        self.late_rate = late_rate
        self.late_ms = late_ms
        self.late: Counter[str] = Counter()  # calls made and answered late, per RPC
        self._rng = random.Random(seed)
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.max_in_flight = max_in_flight
        self._workers = asyncio.Semaphore(max_in_flight) if max_in_flight else None  # FIFO: fair to arrivals
        self.in_flight = 0
        self.peak_in_flight = 0
        self.queued = 0
        self.peak_queued = 0

    @classmethod
    def from_options(cls, options: StandOptions) -> Faults:
        """The faults a stand's options ask for."""
        return cls(
            latency_ms=options.latency_ms,
            jitter_ms=options.jitter_ms,
            fail_rate=options.fail_rate,
            seed=options.seed,
            max_in_flight=options.max_in_flight,
            pushback_above=options.pushback_above,
            pushback_ms=options.pushback_ms,
            late_rate=options.late_rate,
            late_ms=options.late_ms,
        )

    @property
    def total_injected(self) -> int:
        return self.injected.total()

    async def run(self, rpc: str, handler: Callable[[R], Awaitable[T]], request: R) -> T:
        """``await handler(request)`` as one call: what ``async with self.call(rpc)`` around it does, cheaper.

        The servers' path: a generator-based context manager costs more per call than the rest of this.
        """
        late = await self._admit(rpc)
        try:
            answer = await handler(request)
        finally:
            self._release()
        if late:
            await self._late(rpc)
        return answer

    @contextlib.asynccontextmanager
    async def call(self, rpc: str) -> AsyncIterator[None]:
        """Around one call: count it, take a worker, wait its delay, raise ``InjectedFaultError`` if picked to fail."""
        late = await self._admit(rpc)
        try:
            yield
        finally:
            self._release()
        if late:
            await self._late(rpc)

    async def _late(self, rpc: str) -> None:
        """The call is made: its answer waits (a client that gave up meanwhile cancels this wait)."""
        self.late[rpc] += 1
        await asyncio.sleep(self.late_ms / 1000.0)

    async def _admit(self, rpc: str) -> bool:
        """A call's start: counted, a worker taken and its delay waited; picked to fail, it raises (worker freed).
        True: it is to answer late."""
        self.calls[rpc] += 1
        fail = self._rng.random() < self.fail_rate  # drawn on arrival, before any await
        late = bool(self.late_rate) and not fail and self._rng.random() < self.late_rate  # no draw when off
        delay_ms = self.latency_ms
        if self.jitter_ms:
            delay_ms += self._rng.uniform(0.0, self.jitter_ms)
        workers = self._workers
        if workers is not None:
            if self.pushback_above is not None and self.queued >= self.pushback_above and workers.locked():
                self.refused[rpc] += 1
                raise PushbackError(rpc, self.pushback_ms)
            self.queued += 1
            self.peak_queued = max(self.peak_queued, self.queued)
            try:
                await workers.acquire()
            finally:
                self.queued -= 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000.0)
            if fail:
                self.injected[rpc] += 1
                raise InjectedFaultError(f"{rpc}: service temporarily unavailable (injected fault)")
        except BaseException:
            self._release()
            raise
        return late

    def _release(self) -> None:
        self.in_flight -= 1
        if self._workers is not None:
            self._workers.release()
