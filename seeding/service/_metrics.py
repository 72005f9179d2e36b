"""``GET /metrics``: the service's Prometheus metrics, one registry per service.

    seeding_service_runs{state}                        runs known to the service, by state
    seeding_service_calls_total{rpc,status}            gateway calls of runs: OK or the error's status
    seeding_service_retries_total{rpc}                 calls that failed transiently (retried unless the run gave up)
    seeding_service_entities_done_total{scenario}      users, accounts, cards and operations created
    seeding_service_handouts_total{scenario,strategy}  users handed out by /next
    seeding_service_users_left{scenario}               users /next can still hand out under unique/shuffle
    seeding_pool_users{scenario}                       users of the dump's pool (and _free, _leased, _quarantined,
                                                       _handed_out: unique/shuffle hand-outs, this process's or,
                                                       under --store redis://, every replica's)
    seeding_pool_oldest_lease_seconds{scenario}        age of the oldest lease held now
    seeding_pool_take_per_second{scenario}             leases per second over the last minute (this process)
    seeding_pool_return_per_second{scenario}           leases ended (returned or expired) per second, same
    seeding_pool_seconds_until_empty{scenario}         free / (take - return), when users run out at that pace
    seeding_pool_leases_total{scenario}                leases granted
    seeding_pool_ended_total{scenario,how}             leases ended: returned, expired, quarantined
    seeding_pool_lease_age_seconds{scenario}           histogram: how long each lease was held when it ended

Gateway calls are counted by ``CountingCallLog``, the run's client's call log (the one the command
line's ``--report`` reads): the builder stays unaware of metrics, and takes its lean path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..gateway import CallLog

__all__ = ["CONTENT_TYPE", "CountingCallLog", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LEASE_AGE_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, float("inf"))
_POOL_GAUGES = {  # gauge → (field of GET …/pool, help)
    "users": ("users", "Users of the dump's pool"),
    "free": ("free", "Users free to lease"),
    "leased": ("leased", "Users leased now"),
    "quarantined": ("quarantined", "Users quarantined (never leased nor handed out until released)"),
    "handed_out": ("handed_out", "Users handed out under unique/shuffle (every replica's under a Redis store)"),
    "oldest_lease_seconds": ("oldest_lease_s", "Age of the oldest lease held now"),
    "take_per_second": ("take_per_s", "Leases per second over the last minute"),
    "return_per_second": ("return_per_s", "Leases ended per second over the last minute"),
    "seconds_until_empty": ("empty_in_s", "Seconds until no user is free at the last minute's pace"),
}


class Metrics:
    """The counters handlers and runs update, and the gauges read from the service's state at scrape."""

    def __init__(self, runs_by_state: Callable[[], dict[str, int]], users_left: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "seeding_service_calls", "Gateway calls made by runs", ["rpc", "status"], registry=self.registry
        )
        self.retries = Counter(
            "seeding_service_retries", "Gateway calls that failed transiently", ["rpc"], registry=self.registry
        )
        self.entities = Counter(
            "seeding_service_entities_done", "Entities created by runs", ["scenario"], registry=self.registry
        )
        self.handouts = Counter(
            "seeding_service_handouts", "Users handed out", ["scenario", "strategy"], registry=self.registry
        )
        self._handout_children: dict[tuple[str, str], Any] = {}
        self.pool_leases = Counter("seeding_pool_leases", "Leases granted", ["scenario"], registry=self.registry)
        self.pool_ended_total = Counter(
            "seeding_pool_ended",
            "Leases ended: returned, expired, quarantined",
            ["scenario", "how"],
            registry=self.registry,
        )
        self.pool_lease_age = Histogram(
            "seeding_pool_lease_age_seconds",
            "How long a lease was held when it ended",
            ["scenario"],
            buckets=LEASE_AGE_BUCKETS,
            registry=self.registry,
        )
        self._pool_children: dict[str, Any] = {}
        self._ended_children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.pool_states: list[dict[str, Any]] = []  # what GET …/pool says of each pool, refreshed before a scrape
        self.registry.register(_StateCollector(runs_by_state, users_left))
        self.registry.register(_PoolCollector(self))

    def pool_taken(self, scenario: str) -> None:
        child = self._pool_children.get(scenario)
        if child is None:
            child = self._pool_children[scenario] = self.pool_leases.labels(scenario)
        child.inc()

    def pool_ended(self, scenario: str, held: float, how: str) -> None:
        """A lease ended (the hot path of a return: the labelled children are looked up once each)."""
        children = self._ended_children.get((scenario, how))
        if children is None:
            children = self._ended_children[(scenario, how)] = (
                self.pool_ended_total.labels(scenario, how),
                self.pool_lease_age.labels(scenario),
            )
        children[0].inc()
        children[1].observe(max(0.0, held))

    def handed_out(self, scenario: str, strategy: str) -> None:
        key = (scenario, strategy)
        child = self._handout_children.get(key)
        if child is None:
            child = self._handout_children[key] = self.handouts.labels(scenario, strategy)
        child.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(self, runs_by_state: Callable[[], dict[str, int]], users_left: Callable[[], dict[str, int]]) -> None:
        self._runs = runs_by_state
        self._left = users_left

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runs = GaugeMetricFamily("seeding_service_runs", "Runs known to the service, by state", labels=["state"])
        for state, count in self._runs().items():
            runs.add_metric([state], count)
        yield runs
        left = GaugeMetricFamily(
            "seeding_service_users_left", "Users left to hand out under unique/shuffle", labels=["scenario"]
        )
        for scenario, count in self._left().items():
            left.add_metric([scenario], count)
        yield left


class _PoolCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        states = self._metrics.pool_states
        for name, (field, doc) in _POOL_GAUGES.items():
            family = GaugeMetricFamily(f"seeding_pool_{name}", doc, labels=["scenario"])
            for state in states:
                if state.get(field) is not None:
                    family.add_metric([state["scenario"]], float(state[field]))
            yield family


class CountingCallLog(CallLog):
    """A run's call log that also counts every attempt in the service's metrics, by RPC and outcome.

    Handed to the run's client (``client.call_log``), which records each attempt it sends: the
    builder's calls, the only ones a run's client sends through it (the reachability check is not
    one), so an attempt that ended OK is an entity created.
    """

    def __init__(self, metrics: Metrics, scenario: str) -> None:
        super().__init__()
        self._calls = metrics.calls
        self._retries = metrics.retries
        self._entities = metrics.entities.labels(scenario)

    def record(self, rpc: str, status: str, seconds: float, *, transient: bool = False) -> None:
        super().record(rpc, status, seconds, transient=transient)
        self._calls.labels(rpc, status).inc()
        if transient:
            self._retries.labels(rpc).inc()
        if status == "OK":
            self._entities.inc()
