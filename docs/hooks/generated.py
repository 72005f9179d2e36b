"""MkDocs hook: what must not drift from the code is generated from it when the site builds.

- ``<!-- generated: plan-reference -->`` in a page becomes a table per plan model (``seeding.plan``):
  every field with its type, default and limits, read from the models themselves;
- ``<!-- generated: service-routes -->`` becomes the service's routes, read from its OpenAPI document;
- ``<!-- generated: service-metrics -->`` becomes the metrics its registry exports;
- ``<!-- generated: layers -->`` becomes the layers ``tests/test_layers.py`` holds the imports to;
- ``plan.schema.json`` (for editors' YAML support) and ``openapi.json`` are added to the site.

A marker left in a page, or a model the renderer does not know how to show, fails the build.
"""

from __future__ import annotations

import ast
import json
import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

# The checkout this site documents, even when mkdocs runs from a tree that is not installed.
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from seeding import SeedsPlan  # noqa: E402  (after the path above)
from seeding.service import Metrics, openapi  # noqa: E402

PLAN_MARKER = "<!-- generated: plan-reference -->"
ROUTES_MARKER = "<!-- generated: service-routes -->"
METRICS_MARKER = "<!-- generated: service-metrics -->"
LAYERS_MARKER = "<!-- generated: layers -->"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if PLAN_MARKER in markdown:
        markdown = markdown.replace(PLAN_MARKER, plan_reference())
    if ROUTES_MARKER in markdown:
        markdown = markdown.replace(ROUTES_MARKER, service_routes())
    if METRICS_MARKER in markdown:
        markdown = markdown.replace(METRICS_MARKER, service_metrics())
    if LAYERS_MARKER in markdown:
        markdown = markdown.replace(LAYERS_MARKER, layers())
    if "<!-- generated:" in markdown:
        raise ValueError(f"{page.file.src_path}: a generated marker this hook does not know")
    return markdown


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for name, document in (("plan.schema.json", plan_schema()), ("openapi.json", openapi())):
        files.append(File.generated(config, name, content=json.dumps(document, indent=2, ensure_ascii=False)))
    return files


def plan_schema() -> dict[str, Any]:
    schema = SeedsPlan.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


# --- the plan reference ----------------------------------------------------------------------------------------


def plan_reference() -> str:
    """One section per model reachable from ``SeedsPlan``, in the order a plan nests them."""
    schema = SeedsPlan.model_json_schema()
    models = {"SeedsPlan": schema, **schema.get("$defs", {})}
    classes = _model_classes(SeedsPlan)
    sections, queue, seen = [], ["SeedsPlan"], set()
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.add(name)
        model = models[name]
        if "properties" not in model:
            continue  # an enum: shown inline where it is used
        sections.append(_model_section(name, model, models, classes[name]))
        queue.extend(ref for prop in model["properties"].values() for ref in _refs(prop))
    return "\n\n".join(sections)


def _model_classes(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The model and every model its fields nest, by the name the JSON Schema gives them."""
    found = {model.__name__: model}
    pending = [field.annotation for field in model.model_fields.values()]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation.__name__ not in found:
                found.update(_model_classes(annotation))
        else:
            pending.extend(typing.get_args(annotation))
    return found


def _model_section(name: str, model: dict[str, Any], models: dict[str, Any], cls: type[BaseModel]) -> str:
    lines = [f"### {name}", ""]
    if model.get("description"):
        lines += [" ".join(model["description"].split()), ""]
    lines += ["| field | type | default | about |", "|---|---|---|---|"]
    for field, prop in model["properties"].items():
        about = prop.get("description") or _ref_description(prop, models)
        lines.append(
            f"| `{field}` | {_type(prop, models)} | {_default(cls, field)} "
            f"| {' '.join(about.split()) if about else ''} |"
        )
    return "\n".join(lines)


def _refs(prop: Any) -> list[str]:
    """Every model a property's schema points to, wherever it nests (unions, arrays, maps)."""
    if isinstance(prop, dict):
        found = [prop["$ref"].rsplit("/", 1)[-1]] if "$ref" in prop else []
        return found + [ref for value in prop.values() for ref in _refs(value)]
    if isinstance(prop, list):
        return [ref for item in prop for ref in _refs(item)]
    return []


def _ref_description(prop: dict[str, Any], models: dict[str, Any]) -> str:
    refs = {ref for ref in _refs(prop) if "properties" in models.get(ref, {})}
    if len(refs) != 1:
        return ""  # a choice of several models: each has its own table
    return models[refs.pop()].get("description", "").split("\n\n")[0]


def _type(prop: dict[str, Any], models: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        target = models[name]
        if "enum" in target:
            return " \\| ".join(f"`{value}`" for value in target["enum"])
        return f"[{name}](#{name.lower()})"
    if "allOf" in prop:  # older pydantic wraps a $ref that has a default: {"allOf": [{"$ref": ...}]}
        return " and ".join(_type(part, models) for part in prop["allOf"])
    for union in ("anyOf", "oneOf"):
        if union in prop:
            return " or ".join(_type(option, models) for option in prop[union])
    if "enum" in prop:
        return " \\| ".join(f"`{value}`" for value in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    kind = prop.get("type")
    if kind == "null":
        return "null"
    if kind == "array":
        text = f"list of {_type(prop.get('items', {}), models)}"
        if "minItems" in prop:
            text += f", at least {prop['minItems']}"
        return text
    if kind == "object" and "additionalProperties" in prop:
        return f"map of key → {_type(prop['additionalProperties'], models)}"
    if isinstance(kind, str):
        return kind + _limits(prop)
    raise ValueError(f"plan reference: no way to show the schema {json.dumps(prop)}; teach docs/hooks/generated.py")


def _limits(prop: dict[str, Any]) -> str:
    bounds = [
        f"{sign} {_number(prop[key])}"
        for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
        if key in prop
    ]
    if "pattern" in prop:
        bounds.append(f"matching `{prop['pattern']}`")
    return f" {', '.join(bounds)}" if bounds else ""


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def _default(cls: type[BaseModel], field: str) -> str:
    info = cls.model_fields[field]
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see its table"
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(f"`{item}`" for item in value)
    return f"`{getattr(value, 'value', value)}`"


# --- the service's routes --------------------------------------------------------------------------------------


def service_routes() -> str:
    lines = ["| method | route | what |", "|---|---|---|"]
    for path, item in openapi()["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                summary = " ".join(operation.get("summary", "").split()).replace("|", "\\|")
                lines.append(f"| `{method.upper()}` | `{path}` | {summary} |")
    return "\n".join(lines)


def metric_families() -> list[tuple[str, str, str, list[str]]]:
    """Every metric family of the service's registry: name, type, help, and the sample names it exports."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "summary": ["_sum", "_count"]}
    registry = Metrics(dict, dict).registry
    return [
        (family.name, family.type, family.documentation, [family.name + s for s in suffixes.get(family.type, [""])])
        for family in registry.collect()
    ]


def exported_metrics() -> set[str]:
    """Every sample name the service's registry exports."""
    return {name for *_, samples in metric_families() for name in samples}


def service_metrics() -> str:
    lines = ["| metric | type | what |", "|---|---|---|"]
    for _, kind, documentation, samples in metric_families():
        names = ", ".join(f"`{name}`" for name in samples)
        lines.append(f"| {names} | {kind} | {documentation} |")
    return "\n".join(lines)


# --- the layers ------------------------------------------------------------------------------------------------


def layers() -> str:
    """The rank table of ``tests/test_layers.py`` (read, not imported: the site needs no pytest), top first."""
    tree = ast.parse((ROOT / "tests" / "test_layers.py").read_text(encoding="utf-8"))
    table = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "LAYERS" for target in node.targets)
    )
    lines = ["| rank | layer | modules |", "|---|---|---|"]
    for rank, name, members in sorted(table, key=lambda row: -row[0]):
        lines.append(f"| {rank} | {name} | {', '.join(f'`{member}`' for member in members)} |")
    return "\n".join(lines)
