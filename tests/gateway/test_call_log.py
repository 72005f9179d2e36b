"""``CallLog``: histograms that add up across processes, and what is refused on the way in."""

from __future__ import annotations

import random
from typing import Any

import pytest

from seeding.gateway import CallLog


def _recorded(latencies: list[tuple[str, str, float, bool]]) -> CallLog:
    log = CallLog()
    for rpc, status, seconds, transient in latencies:
        log.record(rpc, status, seconds, transient=transient)
    return log


def test_merged_histograms_read_as_one_log_of_every_call() -> None:
    draw = random.Random(5)
    calls = [
        (
            draw.choice(["CreateUser", "IssueVirtualCard"]),
            draw.choice(["OK", "OK", "UNAVAILABLE"]),
            draw.uniform(0.001, 0.4),
            draw.random() < 0.1,
        )
        for _ in range(3000)
    ]
    whole = _recorded(calls)
    merged = CallLog()
    for part in (calls[:1000], calls[1000:2200], calls[2200:]):  # three children
        merged.merge(_recorded(part).histograms())
    assert merged.as_json() == whole.as_json()  # calls, retries, statuses, p50 / p95 / p99, max: the same


def test_a_histogram_survives_json() -> None:
    import orjson

    log = _recorded([("CreateUser", "OK", 0.02, False), ("CreateUser", "INTERNAL", 1.5, True)])
    merged = CallLog()
    merged.merge(orjson.loads(orjson.dumps(log.histograms())))  # bucket keys come back as strings
    assert merged.as_json() == log.as_json()


GOOD = _recorded([("CreateUser", "OK", 0.02, False), ("CreateUser", "OK", 0.03, True)]).histograms()["CreateUser"]


@pytest.mark.parametrize(
    "bad",
    [
        {"CreateUser": {**GOOD, "calls": 3}},  # counts that do not add up
        {"CreateUser": {**GOOD, "calls": -2, "statuses": {"OK": -2}, "buckets": {"0": -2}}},
        {"CreateUser": {**GOOD, "calls": 2.0}},  # not a count
        {"CreateUser": {**GOOD, "calls": True}},
        {"CreateUser": {**GOOD, "buckets": {"x": 2}}},
        {"CreateUser": {**GOOD, "max_s": float("inf")}},
        {"CreateUser": {**GOOD, "max_s": "soon"}},
        {"CreateUser": {key: value for key, value in GOOD.items() if key != "retried"}},
        {"CreateUser": "all fine"},
        {"CreateUser": GOOD, "IssueVirtualCard": None},  # one bad RPC: none of the others is added either
        ["CreateUser"],
    ],
)
def test_a_bad_histogram_adds_nothing(bad: Any) -> None:
    log = _recorded([("CreateUser", "OK", 0.01, False)])
    before = log.as_json()
    with pytest.raises((ValueError, TypeError, KeyError)):
        log.merge(bad)
    assert log.as_json() == before
