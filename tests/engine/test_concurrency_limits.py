"""The calls a run keeps in flight: the latency-aware default, ``--latency-budget off`` and ``--concurrency N``.

``AdaptiveLimit`` (budget off) is driven here by a model gateway (no clock, no sockets): one whose
round trip stays flat however many calls are in flight, and one with a few workers that queues the
rest. ``LatencyLimit`` (the default) is driven by a queueing model with a virtual clock: a client
that keeps the limit in flight against a gateway with W workers and a FIFO queue, so that each
answer's round trip is its wait in the queue plus its service. The builder is then run over real
sockets against the stand, latency-bound and capacity-bound, with the same data, order and
balances as at a fixed concurrency.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import statistics
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path

import pytest

from seeding import parse_plan
from seeding._settings import SeedingSettings
from seeding.engine._builder import Builder, BuildOptions
from seeding.engine._limits import (
    FIRST_PROBE_ANSWERS,
    PROBE_EVERY_S,
    STARTUP_FLAT,
    AdaptiveLimit,
    ConcurrencyLimit,
    FixedLimit,
    LatencyLimit,
    limit_for,
)
from seeding.engine._options import ADAPTIVE_GAIN, ADAPTIVE_INITIAL, ADAPTIVE_MAX, ADAPTIVE_MIN, LATENCY_MIN
from seeding.gateway import AccountType, OperationType, connect
from seeding.stand import Stand, StandProcess

PROJECT = Path(__file__).resolve().parents[2]
PLAN_11_2 = parse_plan((PROJECT / "plans" / "scenario-11-2.yaml").read_text())


def drive(limit: AdaptiveLimit, *, rtt: float, workers: float = math.inf, rounds: int = 300, fail_every: int = 0):
    """Feed ``limit`` what a gateway with ``workers`` workers and ``rtt`` per call answers; the limits seen.

    Each round, ``limit`` calls are sent together; the gateway serves ``workers`` of them at a time
    and queues the rest in order, so the k-th call comes back after (k // workers + 1) × rtt, and
    the round ends with the last. Every ``fail_every``-th call fails.
    """
    seen: list[int] = []
    count = 0
    for _ in range(rounds):
        in_flight = limit.limit
        round_trips = [rtt * (k // workers + 1) if workers != math.inf else rtt for k in range(in_flight)]
        for k, round_trip in enumerate(round_trips):
            count += 1
            failed = bool(fail_every) and count % fail_every == 0
            limit.sample(drive.now + round_trip, round_trip, failed=failed, in_flight=in_flight - k - 1)
        drive.now += round_trips[-1]
        seen.append(limit.limit)
    return seen


drive.now = 0.0  # the model's clock, shared by every call so a limit can be driven again


class Queueing:
    """A closed loop with a virtual clock: a client keeps ``limit.limit`` calls in flight (at most
    ``demand``) against a gateway with ``workers`` workers and a FIFO queue; a call's service takes
    ``service(now)`` × (1 ± ``jitter``), uniformly (seeded). ``run`` records every answer."""

    def __init__(
        self,
        limit: ConcurrencyLimit,
        *,
        workers: float,
        service: float | Callable[[float], float] = 0.02,
        jitter: float = 0.0,
        demand: float = math.inf,
        lag: float = 0.0,
    ) -> None:
        self.limit, self.workers, self.jitter, self.demand = limit, workers, jitter, demand
        # A loaded client: each call in flight delays every answer by ``lag`` s more before the
        # client reads it (its event loop has that much more to do per turn, and shares 2 cores).
        self.lag = lag
        self.service = service if callable(service) else (lambda now, s=service: s)
        self.answers: list[tuple[float, float]] = []  # (sent, round trip)
        self.limits: list[tuple[float, int]] = []  # (when, the limit after an answer)
        self._random = random.Random(7)

    def run(self, seconds: float) -> Queueing:
        events: list[tuple[float, int, float]] = []
        queue: deque[float] = deque()
        busy = in_flight = 0
        order = itertools.count()

        def serve(now: float, sent: float) -> None:
            jitter = 1 + self.jitter * self._random.uniform(-1, 1)
            heapq.heappush(events, (now + self.service(now) * jitter, next(order), sent))

        def send(now: float) -> None:
            nonlocal busy, in_flight
            while in_flight < min(self.limit.limit, self.demand):
                in_flight += 1
                if busy < self.workers:
                    busy += 1
                    serve(now, now)
                else:
                    queue.append(now)

        send(0.0)
        while events and events[0][0] <= seconds:
            now, _, sent = heapq.heappop(events)
            if sent >= 0:  # the gateway answered; the client reads it when its CPU gets to it
                if queue:
                    serve(now, queue.popleft())
                else:
                    busy -= 1
                if self.lag:
                    heapq.heappush(events, (now + self.lag * in_flight, next(order), -1 - sent))
                    continue
            else:
                sent = -1 - sent
            in_flight -= 1
            self.answers.append((sent, now - sent))
            self.limit.sample(now, now - sent, in_flight=in_flight)
            self.limits.append((now, self.limit.limit))
            send(now)
        return self

    def settled(self, after: float) -> tuple[float, float]:
        """Answers per second and the median round trip of the calls sent after ``after`` s."""
        answers = [(sent, trip) for sent, trip in self.answers if sent >= after]
        last = max(sent + trip for sent, trip in answers)
        return len(answers) / (last - after), statistics.median(trip for _, trip in answers)


SERVICE = 0.02


@pytest.mark.parametrize(
    ("workers", "jitter"),
    # A gateway serving one or two calls at once whose round trips vary by ±50 % is left out: a
    # window's mean there wanders across the line between one and two calls in flight.
    [(w, j) for w in (1, 2, 4, 8, 32) for j in (0.0, 0.2)] + [(w, 0.5) for w in (4, 8, 32)],
)
def test_on_a_capacity_bound_gateway_the_default_keeps_its_throughput_within_the_budget(
    workers: int, jitter: float
) -> None:
    model = Queueing(LatencyLimit(), workers=workers, jitter=jitter).run(30.0)
    rate, median = model.settled(after=3.0)
    assert rate >= 0.95 * workers / SERVICE  # every worker busy but for the probes,
    assert median <= 1.5 * SERVICE  # and the median round trip within 1.5 × the unloaded one
    assert max(limit for when, limit in model.limits if when > 3.0) <= 2 * workers + 1  # no long queue


def test_on_a_latency_bound_gateway_the_default_opens_up() -> None:
    model = Queueing(LatencyLimit(), workers=math.inf, jitter=0.2).run(30.0)
    rate, median = model.settled(after=3.0)
    assert rate >= 0.95 * ADAPTIVE_MAX / SERVICE and median <= 1.5 * SERVICE
    reached = next(when for when, limit in model.limits if limit == ADAPTIVE_MAX)
    assert reached < 50 * SERVICE  # start-up doubles it each window: a few dozen round trips


def test_start_up_doubles_each_round_trip() -> None:
    # FIRST_PROBE_ANSWERS answers one at a time (the unloaded round trip), then 2, 4, …, 400 in flight,
    # a window of one round trip each (the calls sent before a window opened don't count in it, and
    # those sent at its start close it): 13 round trips. Windows of two round trips from one call took
    # 27; windows that waited for two answers per call of the limit after a probe of 8 answers, 19.
    model = Queueing(LatencyLimit(), workers=math.inf).run(2.0)
    reached = next(when for when, limit in model.limits if limit == ADAPTIVE_MAX)
    assert reached < 14 * SERVICE
    probe = FIRST_PROBE_ANSWERS
    assert [limit for _, limit in model.limits][:probe] == [1] * (probe - 1) + [2]  # the probe's answers, then two


@pytest.mark.parametrize(("slow", "after"), [(1.4, [2, 4]), (1.6, [1, 1])])
def test_a_few_slow_answers_end_start_up_only_past_the_budget(slow: float, after: list[int]) -> None:
    # After the probe (its answers at SERVICE), answers at two in flight come back ``slow`` × the
    # unloaded round trip (the window closes on the first two): past the aim (1.25) but within the
    # budget (1.5), a mean of so few is noise and start-up goes on (the next fast window doubles);
    # past the budget it ends.
    limit = LatencyLimit()
    now = 0.0
    for _ in range(FIRST_PROBE_ANSWERS):
        now += SERVICE
        limit.sample(now, SERVICE)
    assert limit.limit == 2
    seen = []
    for trip in (slow * SERVICE, 1.05 * SERVICE):
        sent, now = now, now + trip
        for _ in range(4):
            limit.sample(now, now - sent, in_flight=1)
        seen.append(limit.limit)
    assert seen == after


@pytest.mark.parametrize("lag", [SERVICE / 64, SERVICE / 32, SERVICE / 16])
def test_a_busy_client_is_not_read_as_a_queue_at_the_gateway(lag: float) -> None:
    # No capacity limit, but a loaded client (a 2-core machine shared with other work): each call
    # in flight delays every answer by ``lag`` more, so round trips rise with calls in flight
    # (×1.5 at SERVICE / 2 / lag of them) although the gateway queues nothing. Answers per second
    # still grow with them, which a gateway's queue never does past its workers: the default
    # follows the answers, as the previous default did, not the round trip alone.
    model = Queueing(LatencyLimit(), workers=math.inf, jitter=0.2, lag=lag).run(10.0)
    best = Queueing(FixedLimit(ADAPTIVE_MAX), workers=math.inf, jitter=0.2, lag=lag).run(10.0)
    assert model.settled(after=2.0)[0] >= 0.8 * best.settled(after=2.0)[0]
    reached = next(when for when, limit in model.limits if limit >= SERVICE / lag)
    assert reached < 100 * SERVICE  # past where the round trip doubled, within a hundred round trips


@pytest.mark.parametrize("budget", [1.2, 2.0, 3.0])
def test_a_larger_budget_trades_latency_for_calls_in_flight(budget: float) -> None:
    workers = 8
    model = Queueing(LatencyLimit(budget=budget), workers=workers, jitter=0.2).run(20.0)
    rate, median = model.settled(after=3.0)
    assert rate >= 0.95 * workers / SERVICE and median <= budget * SERVICE
    settled = [limit for when, limit in model.limits if when > 3.0]
    aim = 1 + (budget - 1) / 2
    assert 0.75 * aim * workers <= statistics.median(settled) <= 1.25 * aim * workers + 1


def test_the_unloaded_round_trip_is_probed_again_while_the_run_goes_on() -> None:
    # Other tenants load the gateway at 12 s: its own round trip doubles. The limit drops to its
    # minimum for each probe (at the start, then every PROBE_EVERY_S) and takes the new one.
    limit = LatencyLimit()
    model = Queueing(limit, workers=8, service=lambda now: SERVICE if now < 12.0 else 2 * SERVICE).run(35.0)
    probes = [when for (_, before), (when, now) in itertools.pairwise(model.limits) if now == LATENCY_MIN < before]
    assert len(probes) >= 2 and probes[0] >= PROBE_EVERY_S
    assert limit.unloaded == pytest.approx(2 * SERVICE)
    rate, median = model.settled(after=25.0)
    assert rate >= 0.95 * 8 / (2 * SERVICE) and median <= 1.5 * 2 * SERVICE


def test_a_run_with_fewer_calls_to_send_does_not_raise_the_limit() -> None:
    # The builder has only 10 calls ready (a plan's chains): flat round trips do not lift the limit
    # far past what the run uses, so a later burst does not queue 400 calls at once.
    model = Queueing(LatencyLimit(), workers=math.inf, demand=10).run(10.0)
    assert max(limit for _, limit in model.limits) <= 2 * 10 * 2


def test_failed_calls_do_not_count() -> None:
    limit = LatencyLimit()
    for k in range(12):
        limit.sample(SERVICE * (k + 1), SERVICE)
    assert limit.unloaded == pytest.approx(SERVICE)
    for k in range(40):
        limit.sample(1.0 + k * 0.001, 50 * SERVICE, failed=True, in_flight=0)
    assert limit.round_trip == pytest.approx(SERVICE)


@pytest.mark.parametrize("budget", [0.99, 0.0, -1.0, math.nan])
def test_a_budget_below_one_is_refused(budget: float) -> None:
    with pytest.raises(ValueError, match="latency budget must be at least 1"):
        LatencyLimit(budget=budget)


def test_latency_bound_gateway_the_limit_rises_to_the_maximum() -> None:
    seen = drive(AdaptiveLimit(), rtt=0.02)
    # Start-up: twice as many calls each round trip (and the window's target where it says more).
    assert seen[0] == 2 * ADAPTIVE_INITIAL and seen[1] >= 4 * ADAPTIVE_INITIAL and seen[2] == ADAPTIVE_MAX
    assert set(seen[3:]) == {ADAPTIVE_MAX}  # and it stays there


@pytest.mark.parametrize("workers", [2, 8])
def test_start_up_does_not_double_into_a_queue(workers: int) -> None:
    # The first answers come back in rtt, the queued ones later: only those within STARTUP_FLAT × the
    # shortest raise the limit, and the first window that brings no more answers ends start-up.
    seen = drive(AdaptiveLimit(), rtt=0.02, workers=workers, rounds=10)
    assert seen[0] <= ADAPTIVE_INITIAL + STARTUP_FLAT * workers
    assert max(seen[1:]) <= ADAPTIVE_GAIN * workers + 1


def test_a_failure_ends_start_up() -> None:
    limit = AdaptiveLimit()
    limit.sample(0.02, 0.02, failed=True, in_flight=49)
    for k in range(49):
        limit.sample(0.02, 0.02, in_flight=48 - k)
    assert limit.limit == ADAPTIVE_INITIAL  # answers as fast as the first ones, but no more calls


@pytest.mark.parametrize("workers", [2, 8, 30])
def test_capacity_bound_gateway_the_limit_settles_near_its_workers(workers: int) -> None:
    settled = drive(AdaptiveLimit(), rtt=0.02, workers=workers)[-150:]
    assert max(settled) <= ADAPTIVE_GAIN * max(workers, ADAPTIVE_MIN) + 1  # the gateway's queue stays short
    assert sorted(settled)[len(settled) // 2] >= workers  # and its workers busy,
    assert settled.count(ADAPTIVE_MIN) < len(settled) // 10 or workers <= ADAPTIVE_MIN  # but for short probes


def test_failures_back_off_and_clean_windows_recover() -> None:
    limit = AdaptiveLimit()
    drive(limit, rtt=0.02, rounds=60)
    assert limit.limit == ADAPTIVE_MAX
    # The gateway now fails often and answers far fewer calls: the best rate seen is forgotten.
    failing = drive(limit, rtt=0.02, workers=10, rounds=60, fail_every=5)
    assert failing[-1] <= ADAPTIVE_GAIN * 10
    assert drive(limit, rtt=0.02, rounds=60)[-1] == ADAPTIVE_MAX


def test_the_limit_stays_within_its_bounds() -> None:
    assert min(drive(AdaptiveLimit(), rtt=0.02, workers=0.5)) >= ADAPTIVE_MIN
    small = AdaptiveLimit(initial=3, minimum=2, maximum=5)
    assert set(drive(small, rtt=0.01)) <= {3, 4, 5}


@pytest.mark.parametrize(
    "kwargs", [{"initial": 0}, {"minimum": 0, "initial": 1}, {"initial": 600}, {"minimum": 60, "initial": 50}]
)
def test_adaptive_bounds_out_of_order_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="minimum <= initial <= maximum"):
        AdaptiveLimit(**kwargs)


def test_a_number_is_fixed_none_adapts() -> None:
    fixed = limit_for(7)
    assert isinstance(fixed, FixedLimit) and fixed.limit == fixed.maximum == 7
    assert fixed.sample(1.0, 5.0, failed=True) is False and fixed.limit == 7
    assert isinstance(limit_for(None), LatencyLimit) and limit_for(None).limit == LATENCY_MIN
    assert isinstance(limit_for(None, 2.0), LatencyLimit) and isinstance(limit_for(None, None), AdaptiveLimit)
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        FixedLimit(0)


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("auto", None), ("AUTO", None), ("", None), ("12", 12)])
def test_settings_spell_the_default_auto(value: str | None, expected: int | None) -> None:
    settings = SeedingSettings() if value is None else SeedingSettings(concurrency=value)
    assert settings.concurrency == expected


def test_help_says_what_the_default_does() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seeding", "--help"], capture_output=True, text=True, timeout=60, cwd=PROJECT
    )
    text = " ".join(done.stdout.split())
    assert "--concurrency N|auto" in text and "default auto: adapts to the gateway" in text


async def seed(
    stand: Stand | StandProcess, users: int, concurrency: int | None, latency_budget: float | None = 1.5
) -> tuple[Builder, dict[int, bytes]]:
    plan = PLAN_11_2.model_copy(update={"users": PLAN_11_2.users.model_copy(update={"count": users})})
    done: dict[int, bytes] = {}
    options = BuildOptions(concurrency=concurrency, seed=3, latency_budget=latency_budget)
    async with connect("grpc", stand.grpc_target) as client:
        builder = Builder(plan, client, options)
        await builder.run(range(users), done.__setitem__)
    assert sorted(done) == list(range(users))
    return builder, done


async def test_default_run_opens_up_on_a_latency_bound_gateway() -> None:
    # 200 ms per call, the stand in its own process: the round trip stays flat while the limit
    # doubles (a stand in this process would share the client's CPU, and its answers would wait).
    # 160 users: enough calls waiting to fill the limit all along (80 left CI's loaded run of 7 s with
    # fewer calls to send than the limit by the time start-up reached it: 49 in flight at most).
    # 200, not 100 ms: on CI's loaded 2 cores the stand's own CPU wait added ~55 ms at 42 in flight, past
    # the 1.5 x budget of a 106 ms round trip (the limit rightly stopped at 42); on 200 ms it is 1.3 x.
    with StandProcess(latency_ms=200) as stand:
        builder, _ = await seed(stand, users=160, concurrency=None)
        assert builder.stats.peak_in_flight > ADAPTIVE_INITIAL


async def test_default_run_keeps_a_capacity_bound_gateway_without_a_queue() -> None:
    # 4 workers × 50 ms: the limit settles near 1.25 × 4 in flight, not the 16 that `off` keeps.
    async with Stand(latency_ms=50, max_in_flight=4) as stand:
        builder, _ = await seed(stand, users=16, concurrency=None)
        # Near 5 alone; on a machine short of CPU the client's own lag can let the "more in flight
        # bought more answers" rule grow it a quarter past 8 (10–11 seen with 3 busy loops beside it).
        assert builder._slots.limit <= 3 * 4 < 16
        assert stand.faults.peak_in_flight == 4  # the gateway's workers were all busy


async def test_budget_off_run_rises_above_its_start_on_a_latency_bound_gateway() -> None:
    # 200 ms per call: a client on a loaded machine still answers far faster than the gateway.
    async with Stand(latency_ms=200) as stand:
        builder, _ = await seed(stand, users=80, concurrency=None, latency_budget=None)
        assert builder.stats.peak_in_flight > ADAPTIVE_INITIAL
        assert stand.faults.peak_in_flight > ADAPTIVE_INITIAL  # the gateway saw them at once


async def test_budget_off_run_comes_down_to_a_capacity_bound_gateway() -> None:
    # 4 workers × 50 ms: 80 calls/s. The limit settles near gain × 80/s × 50 ms = 16, not 50 queued;
    # the latency is long enough that a busy test machine adds little to the shortest round trip.
    async with Stand(latency_ms=50, max_in_flight=4) as stand:
        builder, _ = await seed(stand, users=16, concurrency=None, latency_budget=None)
        assert builder._slots.limit <= 32 < ADAPTIVE_INITIAL
        assert stand.faults.peak_in_flight == 4


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_adaptive_runs_keep_operation_order_and_balances(transport: str) -> None:
    # Operations on one account go one after another, in plan order, whatever the limit does.
    async with Stand(latency_ms=5, jitter_ms=5, seed=1) as stand:
        plan = PLAN_11_2.model_copy(update={"users": PLAN_11_2.users.model_copy(update={"count": 12})})
        done: dict[int, bytes] = {}
        async with connect(transport, stand.target(transport)) as client:
            builder = Builder(plan, client, BuildOptions(seed=3))
            await builder.run(range(12), done.__setitem__)
        assert sorted(done) == list(range(12)) and builder.stats.calls == 12 * 15
        planned = [OperationType.TOP_UP, OperationType.PURCHASE, OperationType.TRANSFER, OperationType.CASH_WITHDRAWAL]
        for account in stand.bank.accounts.values():
            operations = [op for op in stand.bank.operations.values() if op.account_id == account.id]
            assert [op.type for op in operations] == planned
            opening = 25000.0 if account.type is AccountType.CREDIT_CARD else 0.0
            booked = sum(op.amount for op in operations if op.booked)
            assert account.balance == pytest.approx(opening + booked, abs=1e-6)
