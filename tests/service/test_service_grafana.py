"""examples/grafana/ names only metrics the service exports, read from its registry (not a list kept here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from seeding.service import Metrics

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "examples" / "grafana"
# PromQL words that are not metric names: functions, aggregations and their modifiers.
PROMQL = {
    "sum", "avg", "min", "max", "count", "topk", "bottomk", "by", "without", "rate", "irate", "increase",
    "clamp_min", "clamp_max", "histogram_quantile", "on", "ignoring", "group_left", "group_right", "and", "or",
    "unless", "offset", "abs", "delta", "deriv", "time", "vector", "scalar",
}  # fmt: skip
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "summary": ["_sum", "_count"]}


def exported() -> set[str]:
    """Every sample name the service's registry can export (counters as ``*_total``)."""
    return {
        family.name + suffix
        for family in Metrics(dict, dict).registry.collect()
        for suffix in SUFFIXES.get(family.type, [""])
    }


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((GRAFANA / "seeding-service.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def metric_names(expression: str) -> set[str]:
    """The identifiers of a PromQL expression that name metrics: not label matchers, groupings, ranges, words."""
    bare = re.sub(r"\{[^}]*\}", "", expression)  # label matchers
    bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", bare)  # grouping labels
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # ranges, $__rate_interval
    bare = re.sub(r"(?<![\w:])\d[\d.]*(?:e[+-]?\d+)?", "", bare)  # numbers: 1, 0.5, 1e-9
    return set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare)) - PROMQL


def test_the_dashboard_has_a_panel_per_concern() -> None:
    used = set().union(*(metric_names(expression) for expression in dashboard_expressions()))
    assert {
        "seeding_service_runs",
        "seeding_service_calls_total",
        "seeding_service_retries_total",
        "seeding_service_entities_done_total",
        "seeding_service_handouts_total",
        "seeding_pool_free",
        "seeding_pool_leased",
        "seeding_pool_quarantined",
    } <= used


@pytest.mark.parametrize("expression", dashboard_expressions())
def test_every_expression_names_exported_metrics(expression: str) -> None:
    names = metric_names(expression)
    assert names, f"no metric in {expression!r}"
    assert names <= exported(), f"{expression!r}: {sorted(names - exported())} not exported by the service"


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ('sum by (rpc) (rate(seeding_service_retries_total{status!="OK"}[5m]))', {"seeding_service_retries_total"}),
        (
            "seeding_service_runs / clamp_min(seeding_servce_runs, 1e-9)",
            {"seeding_service_runs", "seeding_servce_runs"},
        ),
        ("rate(seeding_service_calls[1m])", {"seeding_service_calls"}),
    ],
)
def test_metric_names_finds_what_an_expression_reads(expression: str, names: set[str]) -> None:
    """The check above can fail: a typo, or a counter without its _total, is a name the service does not export."""
    assert metric_names(expression) == names
    assert ("seeding_servce_runs" in names or "seeding_service_calls" in names) == (not names <= exported())


def test_the_dashboard_is_provisioning_ready() -> None:
    dashboard = json.loads((GRAFANA / "seeding-service.json").read_text())
    assert dashboard["uid"] and dashboard["title"]
    assert [variable["type"] for variable in dashboard["templating"]["list"]] == ["datasource"]
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
    provider = yaml.safe_load((GRAFANA / "dashboards.yaml").read_text())
    assert provider["apiVersion"] == 1 and provider["providers"][0]["type"] == "file"


def test_the_scrape_job_reads_the_service_on_loopback() -> None:
    job = yaml.safe_load((GRAFANA / "prometheus.yml").read_text())["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:8010"]
