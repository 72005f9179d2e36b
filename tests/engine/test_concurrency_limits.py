"""The calls a run keeps in flight: the adaptive default and ``--concurrency N``.

``AdaptiveLimit`` is driven here by a model gateway (no clock, no sockets): one whose round trip
stays flat however many calls are in flight, and one with a few workers that queues the rest. The
builder is then run over real sockets against the stand, latency-bound and capacity-bound, with
the same data, order and balances as at a fixed concurrency.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from seeding import parse_plan
from seeding._settings import SeedingSettings
from seeding.engine._builder import Builder, BuildOptions
from seeding.engine._limits import STARTUP_FLAT, AdaptiveLimit, FixedLimit, limit_for
from seeding.engine._options import ADAPTIVE_GAIN, ADAPTIVE_INITIAL, ADAPTIVE_MAX, ADAPTIVE_MIN
from seeding.gateway import AccountType, OperationType, connect
from seeding.stand import Stand

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
    assert isinstance(limit_for(None), AdaptiveLimit)
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


async def seed(stand: Stand, users: int, concurrency: int | None) -> tuple[Builder, dict[int, bytes]]:
    plan = PLAN_11_2.model_copy(update={"users": PLAN_11_2.users.model_copy(update={"count": users})})
    done: dict[int, bytes] = {}
    async with connect("grpc", stand.grpc_target) as client:
        builder = Builder(plan, client, BuildOptions(concurrency=concurrency, seed=3))
        await builder.run(range(users), done.__setitem__)
    assert sorted(done) == list(range(users))
    return builder, done


async def test_adaptive_run_rises_above_its_start_on_a_latency_bound_gateway() -> None:
    # 200 ms per call: a client on a loaded machine still answers far faster than the gateway.
    async with Stand(latency_ms=200) as stand:
        builder, _ = await seed(stand, users=80, concurrency=None)
        assert builder.stats.peak_in_flight > ADAPTIVE_INITIAL
        assert stand.faults.peak_in_flight > ADAPTIVE_INITIAL  # the gateway saw them at once


async def test_adaptive_run_comes_down_to_a_capacity_bound_gateway() -> None:
    # 4 workers × 50 ms: 80 calls/s. The limit settles near gain × 80/s × 50 ms = 16, not 50 queued;
    # the latency is long enough that a busy test machine adds little to the shortest round trip.
    async with Stand(latency_ms=50, max_in_flight=4) as stand:
        builder, _ = await seed(stand, users=16, concurrency=None)
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
