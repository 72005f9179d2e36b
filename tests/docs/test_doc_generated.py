"""The site's generated pages follow the code: every plan field, route and metric is in them, and the
site builds with ``mkdocs build --strict`` (broken links, anchors or a leftover marker fail it)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import typing
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from seeding import SeedsPlan
from seeding.service import openapi

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hook_generated", ROOT / "docs" / "hooks" / "generated.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plan_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    found = {model}
    for field in model.model_fields.values():
        pending = [field.annotation]
        while pending:
            annotation = pending.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found |= plan_models(annotation)
            else:
                pending.extend(typing.get_args(annotation))
    return found


def test_plan_reference_has_every_model_and_field(hook: ModuleType) -> None:
    reference = hook.plan_reference()
    models = plan_models(SeedsPlan)
    assert len(models) >= 5
    for model in models:
        section = reference.split(f"### {model.__name__}\n", 1)
        assert len(section) == 2, f"no section for {model.__name__}"
        table = section[1].split("\n### ", 1)[0]
        for name in model.model_fields:
            assert f"| `{name}` |" in table, f"{model.__name__}.{name} is missing from the plan reference"


def test_every_plan_field_is_described_in_the_plan_reference(hook: ModuleType) -> None:
    reference = hook.plan_reference()
    for model in plan_models(SeedsPlan):
        table = reference.split(f"### {model.__name__}\n", 1)[1].split("\n### ", 1)[0]
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            row = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
            assert row.endswith(f"| {' '.join(field.description.split())} |"), row


def test_plan_schema_is_the_models_schema(hook: ModuleType) -> None:
    schema = hook.plan_schema()
    assert schema.pop("$schema").startswith("https://json-schema.org/")
    assert schema == SeedsPlan.model_json_schema()


def test_service_routes_are_the_openapi_paths(hook: ModuleType) -> None:
    routes = hook.service_routes()
    for path, item in openapi()["paths"].items():
        for method in item.keys() & {"get", "post", "delete", "put", "patch"}:
            assert f"| `{method.upper()}` | `{path}` |" in routes


def test_service_metrics_table_lists_what_the_registry_exports(hook: ModuleType) -> None:
    table = hook.service_metrics()
    names = hook.exported_metrics()
    assert "seeding_service_calls_total" in names and "seeding_service_runs" in names
    for name in names:
        assert f"`{name}`" in table


@pytest.mark.timeout(120)
def test_the_site_builds_strict(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    site = tmp_path / "site"
    assert (site / "plans" / "index.html").read_text().count('id="seedaccountsplan"') == 1
    assert json.loads((site / "openapi.json").read_text())["paths"].keys() == openapi()["paths"].keys()
    assert "<!-- generated:" not in (site / "service" / "index.html").read_text()


def test_layers_table_is_the_layer_tests_table(hook: ModuleType) -> None:
    """The architecture's table is read from tests/test_layers.py: one row per entry there, in rank order."""
    source = (ROOT / "tests" / "test_layers.py").read_text()
    entries = re.findall(r'^\s*\((-?\d+), "([^"]+)", \[([^\]]*)\]\)', source, re.MULTILINE)
    rows = hook.layers().splitlines()[2:]
    assert len(entries) >= 10 and len(rows) == len(entries)
    for rank, name, members in entries:
        modules = ", ".join(f"`{member.strip().strip(chr(34))}`" for member in members.split(","))
        assert f"| {rank} | {name} | {modules} |" in rows
    assert [int(row.split("|")[1]) for row in rows] == sorted((int(rank) for rank, *_ in entries), reverse=True)
