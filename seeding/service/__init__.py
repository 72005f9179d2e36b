"""The seeding service: ``python -m seeding serve`` seeds plans on request and hands seeded users to load tools.

    Service         the HTTP service (aiohttp.web) in this event loop: ``async with Service(...) as s``
    ServiceProcess  the same in a subprocess, for tests and benchmarks that kill or restart it

Inside: ``_app`` (routes, the guard), ``_runs`` (runs as ``PlanRun``s, their records on disk),
``_dumps`` (the dumps directory), ``_handouts`` (``/next`` and its log), ``_metrics``, ``_openapi``.
"""

from __future__ import annotations

from ._app import Service
from ._subprocess import ServiceProcess

__all__ = ["Service", "ServiceProcess"]
