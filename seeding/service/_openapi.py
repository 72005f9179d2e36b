"""``GET /openapi.json``: the service described in OpenAPI 3.1; a test holds it to the live routes."""

from __future__ import annotations

import functools
from typing import Any

from ..engine._options import MAX_RATE, MIN_RATE
from ..gateway import TRANSPORTS
from ._handouts import STRATEGIES
from ._pool import MAX_TTL, MAX_WAIT, MIN_TTL
from ._runs import MAX_CONCURRENCY, PUBLIC_FIELDS, STATES

__all__ = ["openapi", "query_parameters"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"), "refused: one line saying why")


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    answers = {**responses, "4XX": _ERROR}
    return {"summary": summary, "responses": answers, **extra}


_RUN_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}
_SCENARIO = {
    "name": "scenario",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$"},
}
_LEASE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "the lease's ID as leasing answered it (<token>.<scenario>)",
    "schema": {"type": "string"},
}
_INDEX = {"name": "index", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
_TTL = {
    "name": "ttl",
    "in": "query",
    "required": True,
    "description": "seconds until the lease comes back by itself unless renewed",
    "schema": {"type": "number", "minimum": MIN_TTL, "maximum": MAX_TTL},
}
_LEASE = _json(_ref("Lease"), "the lease")
_WHEN_EMPTY = {
    "name": "when_empty",
    "in": "query",
    "description": "when no user is left: stop (409, the default), wait:SECONDS (up to 60), cycle (start over) "
    "or warn (hand out one already out, with an X-Seeding-Warning header); leases take stop or wait:SECONDS",
    "schema": {"type": "string", "pattern": "^(stop|cycle|warn|wait:[0-9.]+)$", "default": "stop"},
}
_RUN = _json({"type": "object", "properties": {"run": _ref("Run")}}, "the run")
_HTML = {"200": {"description": "a page", "content": {"text/html": {"schema": {"type": "string"}}}}}
_USER = _json(_ref("HandOut"), "the user and its index in the dump")


@functools.cache
def openapi() -> dict[str, Any]:
    run_fields: dict[str, Any] = {key: {"type": "integer"} for key in PUBLIC_FIELDS}
    run_fields.update(
        {
            "id": {"type": "string"},
            "scenario": {"type": "string"},
            "state": {"enum": list(STATES)},
            "error": {"type": ["string", "null"]},
            "started_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "transport": {"enum": list(TRANSPORTS)},
            "target": {"type": "string"},
            "dump": {"type": ["string", "null"], "description": "the dump a run that succeeded wrote"},
            "wall_s": {"type": ["number", "null"], "description": "seconds the run's last attempt took"},
            "calls_per_s": {
                "type": ["number", "null"],
                "description": "the last attempt's calls over its own wall (so far, while it runs)",
            },
            "kind": {"enum": ["seed", "repair"], "description": "repair: POST /v1/dumps/{scenario}/repair"},
            "repair": {
                "type": ["array", "null"],
                "items": {"type": "integer"},
                "description": "a repair's stale plan indices, once checked (re-seeded at their own indices)",
            },
        }
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "seeding service",
            "version": "1",
            "description": "Seeds plans into the bank gateway on request and hands seeded users to load tools.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "RunRequest": {
                    "type": "object",
                    "required": ["plan"],
                    "additionalProperties": False,
                    "properties": {
                        "plan": {
                            "oneOf": [
                                {"type": "object", "description": "a plan, as in a plan's YAML"},
                                {"type": "string", "description": "the name of a plan in --plans-dir"},
                            ]
                        },
                        "scenario": {"type": "string"},
                        "transport": {"enum": list(TRANSPORTS)},
                        "target": {"type": "string", "description": "host:port for gRPC, a URL for HTTP"},
                        "seed": {"type": "integer"},
                        "concurrency": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_CONCURRENCY,
                            "description": "calls in flight, fixed; omitted: the service's setting (default adaptive)",
                        },
                        "rate": {
                            "type": "number",
                            "minimum": MIN_RATE,
                            "maximum": MAX_RATE,
                            "description": "calls per second at most (a gateway's quota); omitted: SEEDING.RATE, "
                            "else no cap",
                        },
                        "users": {
                            "type": "integer",
                            "minimum": 0,
                            "description": "how many users to seed instead of the plan's count; a dump of the "
                            "plan's shape grows to it (only the missing users are seeded) or, holding as many, is "
                            "reused without a call",
                        },
                    },
                },
                "Run": {"type": "object", "required": list(PUBLIC_FIELDS), "properties": run_fields},
                "Dump": {
                    "type": "object",
                    "properties": {
                        "scenario": {"type": "string"},
                        "users": {"type": "integer"},
                        "created_at": {"type": ["string", "null"]},
                        "plan_hash": {"type": ["string", "null"]},
                        "shape_hash": {"type": ["string", "null"]},
                        "transport": {"type": ["string", "null"]},
                        "target": {"type": ["string", "null"]},
                        "age_s": {"type": ["number", "null"]},
                        "fingerprint": {"type": "string"},
                    },
                },
                "Lease": {
                    "type": "object",
                    "required": ["lease", "index", "expires_at"],
                    "properties": {
                        "lease": {"type": "string", "description": "its ID: renew, return or quarantine with it"},
                        "index": {"type": "integer"},
                        "expires_at": {"type": "string", "format": "date-time"},
                        "user": {"type": "object", "description": "when leasing: the user"},
                    },
                },
                "Pool": {
                    "type": "object",
                    "properties": {
                        "scenario": {"type": "string"},
                        "store": {"type": "string"},
                        "users": {"type": "integer"},
                        "free": {"type": "integer"},
                        "leased": {"type": "integer"},
                        "quarantined": {"type": "integer"},
                        "handed_out": {"type": "integer", "description": "under unique/shuffle, by this process"},
                        "oldest_lease_s": {"type": ["number", "null"]},
                        "take_per_s": {"type": "number", "description": "over the last minute, this process"},
                        "return_per_s": {"type": "number"},
                        "empty_in_s": {"type": ["number", "null"], "description": "at those rates; null: never"},
                    },
                },
                "Plan": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "description": "what POST /v1/runs takes as 'plan'"},
                        "scenario": {"type": "string"},
                        "users": {"type": "integer"},
                        "error": {"type": "string", "description": "why the plan cannot be read"},
                    },
                },
                "HandOut": {
                    "type": "object",
                    "properties": {"index": {"type": "integer"}, "user": {"type": "object"}},
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/": {
                "get": _op("the service's page: runs, dumps, start / cancel / resume (no token)", _HTML, security=[])
            },
            "/docs": {"get": _op("this API, described and tried from the browser (no token)", _HTML, security=[])},
            "/ui/{name}": {
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "get": _op(
                    "the pages' scripts and style (no token)",
                    {"200": {"description": "JavaScript or CSS"}},
                    security=[],
                ),
            },
            "/v1/plans": {
                "get": _op(
                    "the plans in --plans-dir a run may name, with their users (or why one cannot be read)",
                    {
                        "200": _json(
                            {"type": "object", "properties": {"plans": {"type": "array", "items": _ref("Plan")}}},
                            "plans",
                        )
                    },
                )
            },
            "/healthz": {
                "get": _op("liveness; never needs the token", {"200": _json({"type": "object"}, "ok")}, security=[])
            },
            "/metrics": {
                "get": _op(
                    "Prometheus metrics",
                    {"200": {"description": "text format", "content": {"text/plain": {"schema": {"type": "string"}}}}},
                )
            },
            "/openapi.json": {"get": _op("this document", {"200": _json({"type": "object"}, "OpenAPI 3.1")})},
            "/v1/runs": {
                "post": _op(
                    "seed a plan (409 when the scenario has a live run, 422 for a bad plan)",
                    {"202": _RUN},
                    requestBody={"required": True, "content": {"application/json": {"schema": _ref("RunRequest")}}},
                ),
                "get": _op(
                    "every run",
                    {
                        "200": _json(
                            {"type": "object", "properties": {"runs": {"type": "array", "items": _ref("Run")}}}, "runs"
                        )
                    },
                ),
            },
            "/v1/runs/{id}": {
                "parameters": [_RUN_ID],
                "get": _op("one run", {"200": _RUN}),
                "delete": _op("cancel a live run (its journal stays)", {"200": _RUN}),
            },
            "/v1/runs/{id}/events": {
                "parameters": [_RUN_ID],
                "get": _op(
                    "progress as Server-Sent Events (event: progress, then event: end), until the run ends",
                    {
                        "200": {
                            "description": "event stream",
                            "content": {"text/event-stream": {"schema": {"type": "string"}}},
                        }
                    },
                ),
            },
            "/v1/runs/{id}/resume": {
                "parameters": [_RUN_ID],
                "post": _op("finish a failed, cancelled or interrupted run from its journal", {"202": _RUN}),
            },
            "/v1/dumps": {
                "get": _op(
                    "every dump",
                    {
                        "200": _json(
                            {"type": "object", "properties": {"dumps": {"type": "array", "items": _ref("Dump")}}},
                            "dumps",
                        )
                    },
                )
            },
            "/v1/dumps/{scenario}": {
                "parameters": [_SCENARIO],
                "get": _op(
                    "a dump's meta, and how many users unique/shuffle can still hand out (quarantined not counted)",
                    {"200": _json({"type": "object"}, "the dump")},
                ),
            },
            "/v1/dumps/{scenario}/file": {
                "parameters": [_SCENARIO],
                "get": _op(
                    "the dump file, streamed, with an ETag (If-None-Match answers 304)",
                    {"200": _json({"type": "object"}, "the dump"), "304": {"description": "not modified"}},
                ),
            },
            "/v1/dumps/{scenario}/users/{index}": {
                "parameters": [
                    _SCENARIO,
                    {"name": "index", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
                ],
                "get": _op("one user of the dump", {"200": _USER}),
            },
            "/v1/dumps/{scenario}/next": {
                "parameters": [
                    _SCENARIO,
                    {
                        "name": "strategy",
                        "in": "query",
                        "description": f"one of {', '.join(STRATEGIES)}; zipf:S sets the exponent (zipf:1.1)",
                        "schema": {"type": "string", "default": "unique"},
                    },
                    _WHEN_EMPTY,
                    {
                        "name": "profile",
                        "in": "query",
                        "description": "only users of this profile of the plan (unique within it, across clients)",
                        "schema": {"type": "string"},
                    },
                ],
                "post": _op(
                    "hand out a user; under unique and shuffle each user once, across clients and restarts "
                    "(409 when none is left)",
                    {"200": _USER},
                ),
            },
            "/v1/dumps/{scenario}/leases": {
                "parameters": [
                    _SCENARIO,
                    _TTL,
                    {
                        "name": "wait",
                        "in": "query",
                        "description": "seconds to wait for a user to come free (default 0: answer 409 at once)",
                        "schema": {"type": "number", "minimum": 0, "maximum": MAX_WAIT},
                    },
                    {"name": "profile", "in": "query", "schema": {"type": "string"}},
                    _WHEN_EMPTY,
                ],
                "post": _op(
                    "lease a user no one else holds, least recently used first, until expires_at "
                    "(409 naming how many are leased and quarantined when none is free)",
                    {"201": _LEASE},
                ),
            },
            "/v1/leases/{id}": {
                "parameters": [_LEASE_ID],
                "delete": _op("give the user back (404 when unknown, returned or expired)", {"200": _LEASE}),
            },
            "/v1/leases/{id}/renew": {
                "parameters": [_LEASE_ID, _TTL],
                "post": _op("hold the user ttl seconds more from now", {"200": _LEASE}),
            },
            "/v1/leases/{id}/quarantine": {
                "parameters": [_LEASE_ID],
                "post": _op(
                    "end the lease and keep the user out of every strategy until released",
                    {"200": _LEASE},
                    requestBody={
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["reason"],
                                    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
                                }
                            }
                        },
                    },
                ),
            },
            "/v1/dumps/{scenario}/pool": {
                "parameters": [_SCENARIO],
                "get": _op(
                    "the pool's state", {"200": _json({"type": "object", "properties": {"pool": _ref("Pool")}}, "pool")}
                ),
            },
            "/v1/dumps/{scenario}/quarantine": {
                "parameters": [_SCENARIO],
                "get": _op(
                    "quarantined users with their reasons and times", {"200": _json({"type": "object"}, "them")}
                ),
            },
            "/v1/dumps/{scenario}/quarantine/{index}": {
                "parameters": [_SCENARIO, _INDEX],
                "delete": _op("release a quarantined user into the pool", {"200": _json({"type": "object"}, "done")}),
            },
            "/v1/dumps/{scenario}/repair": {
                "parameters": [
                    _SCENARIO,
                    {
                        "name": "sample",
                        "in": "query",
                        "description": "users to check, as the body's `sample` (which the query's replaces)",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
                "post": _op(
                    "a run that checks the dump on the gateway its meta names (every user, or a sample) and "
                    "re-seeds the stale users at their own indices, rewriting the dump and its index atomically; "
                    "hand-outs already given keep their indices. The body (or the query) may give `sample` "
                    "(0, the default: every user). 404 no dump; 409 a dump whose meta names no plan, shape or "
                    "gateway, or a live run of the scenario; 422 a bad sample. An unreachable gateway fails the run "
                    "(its `error`), and nothing is rewritten",
                    {"202": _RUN},
                    requestBody={
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {"sample": {"type": "integer", "minimum": 0}},
                                }
                            }
                        },
                    },
                ),
            },
            "/v1/dumps/{scenario}/reset": {
                "parameters": [_SCENARIO],
                "post": _op("start hand-outs over", {"200": _json({"type": "object"}, "the new sequence")}),
            },
        },
    }


@functools.cache
def query_parameters() -> dict[tuple[str, str], frozenset[str]]:
    """``(method, path template)`` → the query parameters ``openapi()`` names for it: what the service reads."""
    taken: dict[tuple[str, str], frozenset[str]] = {}
    for path, item in openapi()["paths"].items():
        shared = [p["name"] for p in item.get("parameters", []) if p["in"] == "query"]
        for method, operation in item.items():
            if method != "parameters":
                own = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
                taken[(method.upper(), path)] = frozenset(shared + own)
    return taken
