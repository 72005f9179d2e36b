"""The seeding service: ``python -m seeding serve`` seeds plans on request and hands seeded users to load tools.

    Service         the HTTP service (aiohttp.web) in this event loop: ``async with Service(...) as s``
    ServiceProcess  the same in a subprocess, for tests and benchmarks that kill or restart it
    Metrics         its Prometheus registry (what ``/metrics`` exports; the docs and the Grafana example read it)
    openapi         its OpenAPI 3.1 document (what ``/openapi.json`` answers; the docs render it)

Inside: ``_app`` (routes, the guard), ``_runs`` (runs as ``PlanRun``s, their records on disk),
``_dumps`` (the dumps directory), ``_handouts`` (``/next`` and its log; ``_handouts_redis``: its record in Redis),
``_pool`` (leases; ``_pool_embedded``/``_pool_redis``: where they live, ``_store`` picks), ``_metrics``, ``_openapi``,
``_page`` (``/`` and ``/docs``: a page for people, from the HTML, CSS and JavaScript in ``_assets/``).
"""

from __future__ import annotations

from ._app import Service
from ._metrics import Metrics
from ._openapi import openapi
from ._subprocess import ServiceProcess

__all__ = ["Metrics", "Service", "ServiceProcess", "openapi"]
