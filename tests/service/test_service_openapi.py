"""``/openapi.json`` describes exactly the routes the service serves."""

from __future__ import annotations

import httpx
from aiohttp import web

from seeding.service import Service


def _live_routes(app: web.Application) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        if route.method == "HEAD":  # aiohttp adds HEAD beside every GET
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        routes.add((route.method.lower(), info.get("path") or info.get("formatter")))
    return routes


async def test_openapi_matches_the_live_routes(service: Service, http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    described = {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch")
    }
    assert spec["openapi"].startswith("3.")
    assert described == _live_routes(service.app())
    for path, item in spec["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}, path
        for method, operation in item.items():
            if method != "parameters":
                assert "4XX" in operation["responses"], (method, path)


async def test_the_run_schema_names_every_field_a_run_has(service: Service, http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    run_schema = spec["components"]["schemas"]["Run"]
    runs = (await http.get("/v1/runs")).json()
    assert runs == {"runs": []}
    assert set(run_schema["required"]) == set(run_schema["properties"]) == {
        "id", "scenario", "state", "planned", "done", "calls", "retries", "missing", "error",
        "started_at", "finished_at", "transport", "target", "dump", "wall_s", "calls_per_s", "kind", "repair",
    }  # fmt: skip
    assert run_schema["properties"]["state"]["enum"] == [
        "queued", "running", "succeeded", "failed", "cancelled", "interrupted",
    ]  # fmt: skip
