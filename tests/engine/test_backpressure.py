"""Backpressure: a gateway's 429 / 503 Retry-After and RESOURCE_EXHAUSTED / UNAVAILABLE pushback hold the whole run off.

The stand's ``pushback_above`` mode is a shared gateway that sheds load: with its workers busy and
more than N calls queued, it refuses a call at once with a pushback. The run then sends nothing
new for that long (not only the refused call's retry), an adaptive limit backs off, and both
sides count the refusals: the builder's ``pushbacks`` and the stand's ``refused``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seeding import parse_plan
from seeding._exceptions import (
    MAX_PUSHBACK_S,
    OverloadedError,
    TransientGatewayError,
    error_for_grpc_status,
    error_for_http_status,
    pushback_seconds,
)
from seeding.engine._builder import Builder, BuildOptions
from seeding.engine._limits import AdaptiveLimit, FixedLimit, LatencyLimit
from seeding.gateway import connect
from seeding.stand import Stand

PROJECT = Path(__file__).resolve().parents[2]
PLAN = parse_plan((PROJECT / "plans" / "scenario-11-2.yaml").read_text())


@pytest.mark.parametrize(
    ("header", "unit", "seconds"),
    [
        ("2", 1.0, 2.0),
        ("0.25", 1.0, 0.25),  # the stand's decimal Retry-After
        (" 3 ", 1.0, 3.0),
        (b"250", 0.001, 0.25),  # grpc-retry-pushback-ms
        ("0", 1.0, 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 1.0, 0.0),  # a date in the past: now
        ("1e9", 1.0, MAX_PUSHBACK_S),  # a hostile gateway does not stall the run for 30 years
        ("-1", 0.001, None),  # gRPC: "do not retry"; the retry policy's own limits apply
        ("nan", 1.0, None),
        ("soon", 1.0, None),
        ("", 1.0, None),
        (None, 1.0, None),
    ],
)
def test_pushback_headers_in_seconds(header: str | bytes | None, unit: float, seconds: float | None) -> None:
    assert pushback_seconds(header, unit=unit) == seconds


def test_a_future_http_date_is_seconds_from_now() -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (pushback_seconds(later) or 0) <= 30


@pytest.mark.parametrize(
    ("make", "overloaded"),
    [
        (lambda p: error_for_http_status(429, method="m", target="t", detail="d", pushback=p), True),
        (lambda p: error_for_http_status(503, method="m", target="t", detail="d", pushback=p), True),
        (lambda p: error_for_http_status(500, method="m", target="t", detail="d", pushback=p), False),
        (lambda p: error_for_grpc_status("RESOURCE_EXHAUSTED", method="m", target="t", detail="d", pushback=p), True),
        (lambda p: error_for_grpc_status("UNAVAILABLE", method="m", target="t", detail="d", pushback=p), True),
        (lambda p: error_for_grpc_status("UNKNOWN", method="m", target="t", detail="d", pushback=p), False),
    ],
)
def test_only_overload_answers_with_a_pushback_hold_the_run_off(make, overloaded: bool) -> None:
    assert isinstance(make(0.5), OverloadedError) is overloaded and isinstance(make(0.5), TransientGatewayError)
    assert not isinstance(make(None), OverloadedError)  # a 503 without Retry-After: the call's retry only


def test_limits_back_off() -> None:
    fixed = FixedLimit(16)
    assert fixed.back_off() is False and fixed.limit == 16
    latency = LatencyLimit()
    for k in range(4):
        latency.sample(0.02 * (k + 1), 0.02)
    for k in range(200):  # start-up on a flat gateway: well above its minimum
        latency.sample(0.1 + k * 0.001, 0.02, in_flight=latency.limit - 1)
    before = latency.limit
    assert before >= 8 and latency.back_off() is True and latency.limit == before // 2
    adaptive = AdaptiveLimit()
    adaptive.back_off()
    assert adaptive.limit == 50  # it forgets its best rate at the window's end, as after a failure


def plan_of(users: int):
    return PLAN.model_copy(update={"users": PLAN.users.model_copy(update={"count": users})})


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_pushback_holds_the_run_off_and_both_sides_count_it(transport: str) -> None:
    # 4 workers × 20 ms, refusing past 2 queued with 100 ms pushbacks; 16 calls in flight would queue
    # 12: the first refusals pause the run, and every call still ends created (none fails for good).
    users = 12
    async with (
        Stand(latency_ms=20, max_in_flight=4, pushback_above=2, pushback_ms=100) as stand,
        connect(transport, stand.target(transport)) as client,
    ):
        builder = Builder(plan_of(users), client, BuildOptions(concurrency=16, seed=2))
        done: dict[int, bytes] = {}
        await builder.run(range(users), done.__setitem__)
    assert sorted(done) == list(range(users)) and builder.stats.failures == 0
    refused = stand.faults.refused.total()
    assert refused == builder.stats.pushbacks > 0  # each refusal came back as a pushback, and was counted
    assert stand.faults.peak_queued <= 2
    # Each refusal pauses the run 100 ms; calls sent during a pause are none, so refusals come in
    # bursts of at most the calls in flight: bounded by the run's pauses, not by its retries.
    assert builder.stats.elapsed >= 0.1
    assert refused <= 16 * (builder.stats.elapsed / 0.1 + 1)
    # And after each pause no more calls than the gateway took before it, one more per round trip:
    # the run meets the gateway's capacity instead of its 16 again (measured: ~40 refusals, not 250).
    assert refused <= users * 15 // 2


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_the_default_limit_is_rarely_refused(transport: str) -> None:
    # Kept within 1.5 × the unloaded round trip, the default queues about one call in four: a
    # gateway refusing past 2 queued sees few calls to refuse, and each backs the limit off.
    users = 12
    async with (
        Stand(latency_ms=20, max_in_flight=4, pushback_above=2, pushback_ms=100) as stand,
        connect(transport, stand.target(transport)) as client,
    ):
        builder = Builder(plan_of(users), client, BuildOptions(seed=2))
        await builder.run(range(users), lambda index, user: None)
    assert builder.stats.failures == 0 and stand.faults.refused.total() == builder.stats.pushbacks
    assert builder.stats.pushbacks <= users * 15 // 10


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--pushback-above", "2"], "--pushback-above needs --max-in-flight"),
        (["--pushback-above", "-1", "--max-in-flight", "2"], "--pushback-above: must be 0 or more, got -1"),
        (["--pushback-above", "many", "--max-in-flight", "2"], "--pushback-above: 'many' is not a whole number"),
        (["--pushback-ms", "0"], "--pushback-ms: must be more than 0, got 0"),
        (["--pushback-ms", "nan"], "--pushback-ms: must be a finite number"),
        (["--pushback-ms", "soon"], "--pushback-ms: 'soon' is not a number"),
    ],
)
def test_bad_stand_pushback_flags_are_one_line(args: list[str], says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seeding.stand", "--http-port=0", "--grpc-port=0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
