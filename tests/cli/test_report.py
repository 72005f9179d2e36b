"""The per-RPC call log behind ``--report``: counts, statuses, and percentiles within the histogram's 2 %."""

from __future__ import annotations

import orjson
import pytest

from seeding.cli._report import write_report
from seeding.gateway import CallLog


@pytest.mark.parametrize(
    ("latencies_ms", "p50", "p95", "p99"),
    [
        ([5.0], 5.0, 5.0, 5.0),
        ([float(n) for n in range(1, 101)], 50.0, 95.0, 99.0),
        ([1.0] * 90 + [1000.0] * 10, 1.0, 1000.0, 1000.0),
        ([0.0001, 0.0002], 0.001, 0.001, 0.001),  # under a microsecond: the first bucket
    ],
)
def test_percentiles_within_two_percent(latencies_ms: list[float], p50: float, p95: float, p99: float) -> None:
    log = CallLog()
    for ms in latencies_ms:
        log.record("GetUser", "OK", ms / 1000)
    latency = log.as_json()["GetUser"]["latency_ms"]
    for key, expected in (("p50", p50), ("p95", p95), ("p99", p99)):
        assert latency[key] == pytest.approx(expected, rel=0.021, abs=0.002), (key, latency)
    assert latency["max"] == pytest.approx(max(latencies_ms), abs=0.01)


def test_statuses_and_retries_by_rpc(tmp_path) -> None:
    log = CallLog()
    log.record("CreateUser", "UNAVAILABLE", 0.01, transient=True)
    log.record("CreateUser", "OK", 0.02)
    log.record("OpenDebitCardAccount", "NOT_FOUND", 0.01)
    report = tmp_path / "r.json"
    write_report(report, {"rpcs": log.as_json()})
    data = orjson.loads(report.read_bytes())
    assert data["report_version"] == 1
    assert data["rpcs"]["CreateUser"]["calls"] == 2 and data["rpcs"]["CreateUser"]["retries"] == 1
    assert data["rpcs"]["CreateUser"]["statuses"] == {"OK": 1, "UNAVAILABLE": 1}
    assert data["rpcs"]["OpenDebitCardAccount"] == {
        "calls": 1,
        "retries": 0,
        "statuses": {"NOT_FOUND": 1},
        "latency_ms": {"p50": 10.0, "p95": 10.0, "p99": 10.0, "max": 10.0},
    }
    assert list(tmp_path.iterdir()) == [report]  # no temporary file left
