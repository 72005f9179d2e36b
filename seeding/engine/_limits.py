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

That limit reaches the gateway's throughput by filling its queue: four bandwidth-delay products in
flight is four times the latency on a gateway that serves a few calls at once, and a gateway shared
with other tests or students is slowed for everyone for no gain. ``LatencyLimit`` (the default)
keeps the round trip within a budget of the unloaded one instead, as Envoy's adaptive concurrency
filter (gradient controller) and Netflix's concurrency-limits (Gradient2, Vegas) do: the unloaded
round trip is measured at low concurrency at the start and again every few seconds (the gateway's
load changes), and each window the limit is scaled by how far the window's mean round trip is
from its aim. ``--latency-budget off`` keeps ``AdaptiveLimit``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

from ._options import (
    ADAPTIVE_GAIN,
    ADAPTIVE_INITIAL,
    ADAPTIVE_MAX,
    ADAPTIVE_MIN,
    DEFAULT_LATENCY_BUDGET,
    LATENCY_MIN,
)

__all__ = ["AdaptiveLimit", "ConcurrencyLimit", "FixedLimit", "LatencyLimit", "limit_for"]

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

    def back_off(self) -> bool:
        """The gateway refused a call for load (a Retry-After / pushback); True if the limit changed."""
        ...


class FixedLimit:
    """``--concurrency N``: N calls in flight, whatever happens."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("concurrency must be at least 1")
        self.limit = self.maximum = limit

    def sample(self, now: float, round_trip: float, *, failed: bool = False, in_flight: int = 0) -> bool:
        return False

    def back_off(self) -> bool:
        return False  # fixed: the pause alone (``_Slots.push_back``) slows it


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

    def back_off(self) -> bool:
        """As a failure: start-up ends and the window's rate replaces the best one."""
        self._failed, self._starting = True, False
        return False

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


class _MeanProbe:
    """A probe of the unloaded round trip: when the pipe drained, and the answers to calls sent after."""

    def __init__(self, drained: float | None = None) -> None:
        self.drained = drained
        self.answers: list[float] = []


# LatencyLimit: a window closes after this many answers (four per call of the limit, if fewer) and
# this many unloaded round trips. In start-up only answers to calls sent in the window count, so
# it lasts a round trip anyway: it closes on one answer per call of the limit (up to eight) past
# half an unloaded round trip (waiting for a whole one, a window whose calls all came back a little
# early waited for the next ones: two round trips; the limit went 2 to 400 in 11, not 8).
WINDOW_ANSWERS = 8
LATENCY_WINDOW_ROUND_TRIPS = 2
# Each window the limit is scaled by aim / the window's mean round trip: doubled in start-up while
# that is 1 or more; down, by all of it (at most halved); up, by half of it (a window's mean is
# noisy) and at most a quarter. The limit is the whole part of the scaled value: at aim × W it is
# at least W, and a gateway serving one call at a time is not kept at two half the time.
START_UP_GROWTH = 2.0
GROWTH = 1.25
SHRINK = 0.5
SMOOTHING = 0.5
# A probe of the unloaded round trip: the mean of this many answers (a gateway's jitter makes the
# mean of fewer wander); the next probe PROBE_EVERY_S later, and at least PROBE_SPACING unloaded
# round trips later (a slow gateway's probe lasts longer): a probe costs about 2 % of a run.
PROBE_ANSWERS = 12
# The run's first probe: its answers are also start-up's first window (at one call in flight), so
# start-up goes on from two. Fewer than a later probe's, since the run waits on them (a round trip
# each) and windows at one call in flight refine the mean; with 4 the model gateway of the tests,
# 8 workers at ±50 % jitter, lost more than 5 % of its answers until the next probe; 5 did as 8.
FIRST_PROBE_ANSWERS = 5
PROBE_EVERY_S = 10.0
PROBE_SPACING = 400
# A window whose round trip is past the aim still "paid" for its calls in flight if it answered
# PAID_RATE × as many calls per second as a window since the last probe with a PAID_SPREAD-th of
# them or fewer: the round trip rose, but not from a queue at the gateway (there, past its
# workers, more calls in flight bring no more answers); on a loaded machine the client's own event
# loop is what slows the answers as calls in flight grow, and its gateway still wants them.
PAID_RATE = 1.1
PAID_SPREAD = 1.5
PAID_REACH = 3.0  # and no more than this many times fewer: a probe's one call says nothing about 20
PAID_WINDOWS = 16


class LatencyLimit:
    """The most calls in flight that keep the mean round trip within ``budget`` × the unloaded one.

    The unloaded round trip is the mean of a probe's answers at ``minimum`` calls in flight: at
    the start, then every ``probe_every`` seconds, the limit drops to ``minimum`` until the calls
    sent before have come back, takes a dozen answers sent after, and returns to where it was.
    Between probes, calls are judged in windows of a few round trips: the limit is scaled by aim /
    the window's mean round trip, where the aim is halfway between the unloaded round trip and the
    budget, so that a noisy window still keeps within the budget. On a gateway that serves W calls
    at once and queues the rest, L in flight take L / W round trips each (Little's law), so the
    limit settles near aim × W: every worker busy, a short queue. On one whose round trip stays
    flat it grows (in start-up, doubling each window of one round trip from two, as TCP's slow start
    does, until a window's round trip is past the aim; a window of fewer than ``WINDOW_ANSWERS``
    answers within the budget does not end it) up to ``maximum``, or until the client itself,
    short of CPU, is what slows the answers. A window in which the calls never filled half the
    limit (the run had no more to send) does not raise it. In start-up only calls sent under a
    window's limit count in it (answers to calls sent at half the limit would double it twice), and
    failed calls never: their round trip says nothing about the queue. A window that never
    had more calls in flight than a probe has counts as part of it (a probe that drew fast answers
    by chance would otherwise hold the limit at its minimum until the next). A gateway's pushback
    (``back_off``) halves the limit.

    A round trip past the aim is not always the gateway's queue: on a loaded machine the client's
    own event loop slows every answer more as calls in flight grow, and its gateway still wants
    them. So after start-up a window whose answers per second (Little's: mean calls in flight /
    mean round trip) beat those of a recent window with 1.5–3 × fewer calls in flight by
    ``PAID_RATE``, or fell that short of one with 1.5–3 × more, grows by a quarter instead of
    shrinking: past a gateway's workers more calls in flight bring no more answers, so this never
    fills its queue. A window answering calls sent before the limit last came down changes nothing.
    """

    def __init__(
        self,
        *,
        budget: float = DEFAULT_LATENCY_BUDGET,
        minimum: int = LATENCY_MIN,
        maximum: int = ADAPTIVE_MAX,
        probe_every: float = PROBE_EVERY_S,
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError(f"need 1 <= minimum <= maximum, got {minimum}, {maximum}")
        if not budget >= 1:  # also refuses nan
            raise ValueError(f"the latency budget must be at least 1, got {budget}")
        self.budget = budget
        self.minimum = minimum
        self.maximum = maximum
        self.limit = minimum
        self.unloaded: float | None = None  # the unloaded round trip (s), once probed
        self.round_trip: float | None = None  # the last window's mean round trip (s)
        self._aim = 1 + (budget - 1) / 2
        self._probe_every = probe_every
        self._starting = True
        self._probe: _MeanProbe | None = _MeanProbe(drained=-math.inf)  # the first: nothing in flight yet
        self._resume = min(2 * minimum, maximum)  # the first probe's answers are start-up's first window
        self._size = float(self._resume)  # the limit before rounding
        self._probed = 0  # the answers the unloaded round trip is the mean of
        self._next_probe = math.inf
        self._total = 0.0  # the window's round trips, summed
        self._answers = 0
        self._window_start = 0.0
        self._busiest = 0
        self._loaded = 0  # the window's calls in flight, summed over its answers (with the one answered)
        self._lowered = -math.inf  # when the limit last came down
        self._draining = False  # the window answered calls sent before that
        self._rates: deque[tuple[float, float]] = deque(maxlen=PAID_WINDOWS)  # (mean in flight, answers/s)

    def sample(self, now: float, round_trip: float, *, failed: bool = False, in_flight: int = 0) -> bool:
        if self._probe is not None:
            return self._probing(now, round_trip, failed, in_flight)
        if in_flight >= self._busiest:
            self._busiest = in_flight + 1
        if now - round_trip < self._lowered:
            self._draining = True
        if not failed and (not self._starting or now - round_trip >= self._window_start):
            self._total += round_trip
            self._answers += 1
            self._loaded += in_flight + 1
        assert self.unloaded is not None  # the first probe, which sets it, is over
        # In start-up, windows of one round trip (see WINDOW_ANSWERS): the limit doubles in each, and the
        # rates of their calls in flight (``_paid``) are then known at every doubling, for the windows after.
        window = (0.5 if self._starting else LATENCY_WINDOW_ROUND_TRIPS) * self.unloaded
        enough = min(WINDOW_ANSWERS, (1 if self._starting else 4) * self.limit)
        if self._answers < enough or now - self._window_start < window:
            return False
        return self._close_window(now)

    def _close_window(self, now: float) -> bool:
        assert self.unloaded is not None
        self.round_trip = mean = self._total / self._answers
        if self._busiest <= self.minimum:  # no more calls in flight than a probe's: this window was one too
            self._probed += self._answers
            self.unloaded += (self._total - self._answers * self.unloaded) / self._probed
        gradient = self._aim * self.unloaded / mean
        if self._draining:
            gradient = 1.0  # answers to calls sent under a larger limit: this window says little
        elif self._paid() and gradient < 1 and not self._starting:
            gradient = GROWTH
        if self._starting and gradient >= 1:
            gradient = START_UP_GROWTH
        elif self._starting and self._answers < WINDOW_ANSWERS and mean <= self.budget * self.unloaded:
            gradient = 1.0  # a mean of a few answers within the budget is too noisy to end start-up on
        elif self._starting:
            self._starting = False  # the first queue: straight back to the aim, smoothed from then on
        elif gradient > 1:
            gradient = min(GROWTH, 1 + SMOOTHING * (gradient - 1))
        if gradient > 1 and 2 * self._busiest < self.limit:
            gradient = 1.0  # the run did not use the limit: its round trips say nothing about more
        self._size = max(self.minimum, min(self.maximum, self._size * max(SHRINK, gradient)))
        if self._rounded() < self.limit:
            self._lowered = now
        self._new_window(now)
        if now >= self._next_probe:
            self._probe, self._resume = _MeanProbe(), self._rounded()
            return self._set(self.minimum)
        return self._set(self._rounded())

    def _paid(self) -> bool:
        """Whether this window's calls in flight bought answers: its rate against fewer in flight before.

        The rate is Little's: mean calls in flight / mean round trip (a window's count of answers
        is noisy, and in start-up the first of them answer the window before's calls)."""
        loaded = self._loaded / self._answers
        rate = loaded / (self._total / self._answers)
        fewer = [seen for load, seen in self._rates if PAID_SPREAD * load <= loaded <= PAID_REACH * load]
        more = [seen for load, seen in self._rates if PAID_SPREAD * loaded <= load <= PAID_REACH * loaded]
        self._rates.append((loaded, rate))
        return (bool(fewer) and rate >= PAID_RATE * max(fewer)) or (bool(more) and max(more) >= PAID_RATE * rate)

    def back_off(self) -> bool:
        """Halve the limit and end start-up: the gateway says it has more than it can take."""
        self._starting = False
        self._size = max(float(self.minimum), self._size * SHRINK)
        if self._probe is not None:
            self._resume = max(self.minimum, math.floor(self._resume * SHRINK))
            return False
        return self._set(self._rounded())

    def _new_window(self, now: float) -> None:
        self._total, self._answers, self._window_start, self._busiest = 0.0, 0, now, 0
        self._loaded, self._draining = 0, False

    def _probing(self, now: float, round_trip: float, failed: bool, in_flight: int) -> bool:
        probe = self._probe
        assert probe is not None
        if probe.drained is None:
            if in_flight <= self.minimum:
                probe.drained = now
            return False
        if now - round_trip < probe.drained or failed:
            return False  # sent before the pipe drained: it may have queued
        probe.answers.append(round_trip)
        if len(probe.answers) < (PROBE_ANSWERS if self.unloaded else FIRST_PROBE_ANSWERS):
            return False
        self._probe = None
        self.unloaded = self.round_trip = sum(probe.answers) / len(probe.answers)
        self._probed = len(probe.answers)
        self._rates.clear()  # the gateway's load may have changed: rates before say nothing now
        self._rates.append((float(self.minimum), 1 / self.unloaded))  # a probe's rate: one call at a time
        self._next_probe = now + max(self._probe_every, PROBE_SPACING * self.unloaded)
        self._new_window(now)
        return self._set(self._resume)

    def _rounded(self) -> int:
        return max(self.minimum, min(self.maximum, math.floor(self._size)))

    def _set(self, limit: int) -> bool:
        changed, self.limit = limit != self.limit, limit
        return changed


def limit_for(concurrency: int | None, latency_budget: float | None = DEFAULT_LATENCY_BUDGET) -> ConcurrencyLimit:
    """A number is fixed; ``None`` (the default) keeps round trips within ``latency_budget``, or, if that
    is ``None`` (``--latency-budget off``), fills the gateway (``AdaptiveLimit``)."""
    if concurrency is not None:
        return FixedLimit(concurrency)
    return AdaptiveLimit() if latency_budget is None else LatencyLimit(budget=latency_budget)
