"""How many gateway calls a run keeps in flight: a fixed number, or one that adapts to the gateway.

No single number suits every gateway. One whose calls take 20 ms each whatever the load wants
hundreds in flight; one with eight workers serves eight at a time and only queues the rest, so
more calls in flight just wait longer (and, on a slow gateway, run into their timeouts) while the
builder's own ordering (longest chain first) is lost in the gateway's queue.

``AdaptiveLimit`` keeps in flight a few times what the gateway is seen to absorb: ``gain`` × the
best rate of answers lately × the shortest round trip lately, the bandwidth-delay product of TCP
BBR (a model-based cousin of TCP Vegas and Netflix's concurrency-limits). It gets there as TCP's
slow start and BBR's start-up do: at first every answer that comes back as fast as the first ones
lets one more call in (twice as many calls each round trip while round trips stay flat), until a
window's rate of answers stops growing or a call fails. While round trips stay
flat, more calls in flight bring more answers per second and the limit grows with them (it can
grow by ``gain`` each window); once the gateway is saturated the rate stops growing, round trips rise
instead, and the limit stays put; transient failures make it forget the best rate it saw and
start again from what the gateway answered in that window. Every few seconds a short pause
re-measures the gateway's own round trip (see ``AdaptiveLimit``). ``FixedLimit`` is ``--concurrency N``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

from ._options import ADAPTIVE_GAIN, ADAPTIVE_INITIAL, ADAPTIVE_MAX, ADAPTIVE_MIN

__all__ = ["AdaptiveLimit", "ConcurrencyLimit", "FixedLimit", "limit_for"]

# A window lasts this many of the shortest round trips, and at least MIN_WINDOW_S: long enough that
# answers bunched up by a busy client do not pass for a faster gateway.
WINDOW_ROUND_TRIPS = 4
MIN_WINDOW_S = 0.05
# The first window ends sooner, once the first calls have come back and some of the next ones.
FIRST_WINDOW_ROUND_TRIPS = 2
MIN_FIRST_WINDOW_S = 0.01
# Start-up: an answer within STARTUP_FLAT × the shortest round trip so far lets one more call in;
# it ends with the first window whose rate of answers is not STARTUP_GROWTH × the best before it
# (BBR's "full pipe": more calls in flight no longer bring more answers), or with a failure.
STARTUP_FLAT = 2.0
STARTUP_GROWTH = 1.25


class ConcurrencyLimit(Protocol):
    """How many calls may be in flight now, told how each call went."""

    @property
    def limit(self) -> int: ...

    @property
    def maximum(self) -> int:
        """The most it will ever allow (the builder starts that many user workers)."""
        ...

    def sample(self, now: float, round_trip: float, *, failed: bool = False, in_flight: int = 0) -> bool:
        """A call ended at ``now`` after ``round_trip`` s, ``in_flight`` others still out; True if the limit changed."""
        ...


class FixedLimit:
    """``--concurrency N``: N calls in flight, whatever happens."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("concurrency must be at least 1")
        self.limit = self.maximum = limit

    def sample(self, now: float, round_trip: float, *, failed: bool = False, in_flight: int = 0) -> bool:
        return False


class AdaptiveLimit:
    """In flight: ``gain`` × best recent answers per second × shortest round trip, within bounds.

    Start-up: while the rate of answers keeps growing by a quarter a window and nothing fails,
    each answer whose round trip is within ``STARTUP_FLAT`` × the shortest so far raises the limit
    by one: it doubles each round trip on a gateway whose latency stays flat, and stops rising at
    one whose calls queue (their round trips grow). At each window's end during start-up the limit
    is the larger of that and the target below; after it, the target.

    Calls are judged in windows of a few round trips: each window's rate of answered calls enters
    a running maximum over the last ``rate_windows`` windows. The shortest round trip is the
    gateway's own latency only when its queue is empty, which a full pipe never sees again; so,
    as BBR does, when it has not been seen lower for ``probe_every`` seconds the limit drops to
    ``minimum`` until the calls sent before have drained and a few sent after have come back, and
    their shortest round trip is taken afresh (a pause of a few round trips). A window with a
    transient failure replaces the maximum rate by its own (the gateway is not coping: take what
    it just did as the best).
    """

    def __init__(
        self,
        *,
        initial: int = ADAPTIVE_INITIAL,
        minimum: int = ADAPTIVE_MIN,
        maximum: int = ADAPTIVE_MAX,
        gain: float = ADAPTIVE_GAIN,
        rate_windows: int = 10,
        probe_every: float = 5.0,
    ) -> None:
        if not 1 <= minimum <= initial <= maximum:
            raise ValueError(f"need 1 <= minimum <= initial <= maximum, got {minimum}, {initial}, {maximum}")
        self.limit = initial
        self.minimum = minimum
        self.maximum = maximum
        self.gain = gain
        self._rates: deque[float] = deque(maxlen=rate_windows)
        self._probe_every = probe_every
        self._min_rtt = math.inf
        self._min_rtt_seen = 0.0  # when the shortest round trip was last seen (or probed)
        self._window_start: float | None = None  # the first call's start, then each window's end
        self._answered = 0
        self._failed = False
        self._shortest = math.inf
        self._probe: _Probe | None = None
        self._starting = True

    def sample(self, now: float, round_trip: float, *, failed: bool = False, in_flight: int = 0) -> bool:
        if self._window_start is None:
            self._window_start = self._min_rtt_seen = now - round_trip
        if self._probe is not None:
            return self._probing(now, round_trip, failed, in_flight)
        grew = False
        if failed:
            self._failed, self._starting = True, False
        else:
            self._answered += 1
            self._shortest = min(self._shortest, round_trip)
            if self._starting:
                grew = self._slow_start(round_trip)
        elapsed = now - self._window_start
        shortest = min(self._min_rtt, self._shortest)
        if self._rates:
            if elapsed < max(WINDOW_ROUND_TRIPS * shortest, MIN_WINDOW_S):
                return grew
        elif elapsed < max(FIRST_WINDOW_ROUND_TRIPS * shortest, MIN_FIRST_WINDOW_S):
            return grew  # the first window is shorter: a short run should not spend long at the start
        return self._close_window(now, elapsed) or grew

    def _slow_start(self, round_trip: float) -> bool:
        """One more call in flight for an answer as fast as the first ones; True if the limit rose."""
        if round_trip > STARTUP_FLAT * min(self._min_rtt, self._shortest) or self.limit >= self.maximum:
            return False
        self.limit += 1
        return True

    def _close_window(self, now: float, elapsed: float) -> bool:
        if self._failed:
            self._rates.clear()
        rate = self._answered / elapsed
        if self._starting and self._rates and rate < STARTUP_GROWTH * max(self._rates):
            self._starting = False  # the pipe is full
        self._rates.append(rate)
        if self._shortest <= self._min_rtt:
            self._min_rtt, self._min_rtt_seen = self._shortest, now
        self._window_start, self._answered, self._failed, self._shortest = now, 0, False, math.inf
        if now - self._min_rtt_seen > self._probe_every:
            self._probe = _Probe()
            return self._set(self.minimum)
        return self._set(max(self.limit, self._target()) if self._starting else self._target())

    def _probing(self, now: float, round_trip: float, failed: bool, in_flight: int) -> bool:
        probe = self._probe
        assert probe is not None
        if probe.drained is None:
            if in_flight <= self.minimum:
                probe.drained = now
            return False
        if now - round_trip < probe.drained:
            return False  # sent before the pipe drained: it may have queued
        probe.answers += 1
        if not failed:
            probe.shortest = min(probe.shortest, round_trip)
        if probe.answers < self.minimum:
            return False
        self._probe = None
        if probe.shortest < math.inf:
            self._min_rtt = probe.shortest
        self._min_rtt_seen = self._window_start = now
        self._answered, self._failed, self._shortest = 0, False, math.inf
        return self._set(self._target())

    def _target(self) -> int:
        if not self._rates or self._min_rtt == math.inf:
            return self.limit
        return math.ceil(self.gain * max(self._rates) * self._min_rtt)

    def _set(self, limit: int) -> bool:
        limit = max(self.minimum, min(self.maximum, limit))
        changed, self.limit = limit != self.limit, limit
        return changed


class _Probe:
    """A probe of the shortest round trip: when the pipe drained, and what came back after."""

    def __init__(self) -> None:
        self.drained: float | None = None
        self.answers = 0
        self.shortest = math.inf


def limit_for(concurrency: int | None) -> ConcurrencyLimit:
    """``None`` (the default) adapts; a number is fixed."""
    return AdaptiveLimit() if concurrency is None else FixedLimit(concurrency)
