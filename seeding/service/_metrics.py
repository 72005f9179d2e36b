"""``GET /metrics``: the service's Prometheus metrics, one registry per service.

    seeding_service_runs{state}                        runs known to the service, by state
    seeding_service_calls_total{rpc,status}            gateway calls of runs: OK or the error's status
    seeding_service_retries_total{rpc}                 calls that failed transiently (retried unless the run gave up)
    seeding_service_entities_done_total{scenario}      users, accounts, cards and operations created
    seeding_service_handouts_total{scenario,strategy}  users handed out by /next
    seeding_service_users_left{scenario}               users /next can still hand out under unique/shuffle

Gateway calls are counted by ``CountingClient``, a thin wrapper around the run's client: the
builder stays unaware of metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .._exceptions import GatewayError, TransientGatewayError
from ..contract import card_rpc, open_account_rpc, operation_rpc
from ..gateway import GatewayClient

__all__ = ["CONTENT_TYPE", "CountingClient", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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
        self.registry.register(_StateCollector(runs_by_state, users_left))

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


class CountingClient:
    """A run's gateway client, counting each call the builder makes by RPC and outcome."""

    def __init__(self, client: GatewayClient, metrics: Metrics, scenario: str) -> None:
        self._client = client
        self._metrics = metrics
        self._entities = metrics.entities.labels(scenario)
        self.transport = client.transport
        self.target = client.target

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def _count(self, rpc: str, call: Any) -> Any:
        try:
            result = await call
        except GatewayError as exc:
            self._metrics.calls.labels(rpc, exc.status).inc()
            if isinstance(exc, TransientGatewayError):
                self._metrics.retries.labels(rpc).inc()
            raise
        self._metrics.calls.labels(rpc, "OK").inc()
        self._entities.inc()
        return result

    async def create_user(self, **fields: Any) -> Any:
        return await self._count("CreateUser", self._client.create_user(**fields))

    async def open_account(self, user_id: str, account_type: Any) -> Any:
        return await self._count(open_account_rpc(account_type), self._client.open_account(user_id, account_type))

    async def issue_card(self, user_id: str, account_id: str, card_type: Any) -> Any:
        return await self._count(card_rpc(card_type), self._client.issue_card(user_id, account_id, card_type))

    async def make_operation(self, operation_type: Any, **fields: Any) -> Any:
        return await self._count(operation_rpc(operation_type), self._client.make_operation(operation_type, **fields))
