"""seeding: test data for load tests of the bank gateway.

    plan (SeedsPlan, plans/*.yaml) → builder (concurrent, retried) → gateway client (gRPC | HTTP)
        → result (SeedsResult) → dump (dumps/<scenario>_seeds.json) → consumption (locustfiles)

Everything a user imports is here; modules prefixed ``_`` are internal. Each part loads on first
use: opening a dump imports neither grpc nor aiohttp, ``python -m seeding --help`` no dump or plan.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ._exceptions import (
    BuildError,
    DumpError,
    GatewayError,
    GatewayUnreachableError,
    InvalidRequestError,
    JournalError,
    NotFoundError,
    PermanentGatewayError,
    PlanError,
    RejectedError,
    SeedingError,
    SeedsExhaustedError,
    TransientGatewayError,
    is_transient,
)

if TYPE_CHECKING:
    from .course._builders import SeedsBuilder, build_grpc_seeds_builder, build_http_seeds_builder
    from .course._scenario import SeedsScenario
    from .dumps._files import (
        DumpWriter,
        dump_path,
        load_seeds_result,
        open_dump,
        read_meta,
        save_seeds_result,
        write_dump,
    )
    from .dumps._result import (
        SeedAccountResult,
        SeedCardResult,
        SeedOpenedCardResult,
        SeedOperationResult,
        SeedsResult,
        SeedUserResult,
    )
    from .engine._builder import Builder, BuildOptions, BuildStats
    from .engine._run import PlanRun, build_seeds
    from .plan._models import (
        AmountRange,
        OperationOptions,
        SeedAccountsPlan,
        SeedCardsPlan,
        SeedOperationsPlan,
        SeedsPlan,
        SeedUsersPlan,
        load_plan,
        parse_plan,
    )

__all__ = [
    "AmountRange",
    "BuildError",
    "BuildOptions",
    "BuildStats",
    "Builder",
    "DumpError",
    "DumpWriter",
    "GatewayError",
    "GatewayUnreachableError",
    "InvalidRequestError",
    "JournalError",
    "NotFoundError",
    "OperationOptions",
    "PermanentGatewayError",
    "PlanError",
    "PlanRun",
    "RejectedError",
    "SeedAccountResult",
    "SeedAccountsPlan",
    "SeedCardResult",
    "SeedCardsPlan",
    "SeedOpenedCardResult",
    "SeedOperationResult",
    "SeedOperationsPlan",
    "SeedUserResult",
    "SeedUsersPlan",
    "SeedingError",
    "SeedsBuilder",
    "SeedsExhaustedError",
    "SeedsPlan",
    "SeedsResult",
    "SeedsScenario",
    "TransientGatewayError",
    "build_grpc_seeds_builder",
    "build_http_seeds_builder",
    "build_seeds",
    "dump_path",
    "is_transient",
    "load_plan",
    "load_seeds_result",
    "open_dump",
    "parse_plan",
    "read_meta",
    "save_seeds_result",
    "write_dump",
]

# Everything but the exceptions is imported on first use: ``python -m seeding --help`` needs none of
# it, a locustfile only the dump reader, a seeding run no Locust glue.
_LAZY = {
    **dict.fromkeys(
        ("DumpWriter", "dump_path", "load_seeds_result", "open_dump", "read_meta", "save_seeds_result", "write_dump"),
        ".dumps._files",
    ),
    **dict.fromkeys(
        (
            "AmountRange",
            "OperationOptions",
            "SeedAccountsPlan",
            "SeedCardsPlan",
            "SeedOperationsPlan",
            "SeedsPlan",
            "SeedUsersPlan",
            "load_plan",
            "parse_plan",
        ),
        ".plan._models",
    ),
    **dict.fromkeys(
        (
            "SeedAccountResult",
            "SeedCardResult",
            "SeedOpenedCardResult",
            "SeedOperationResult",
            "SeedsResult",
            "SeedUserResult",
        ),
        ".dumps._result",
    ),
    "Builder": ".engine._builder",
    "BuildOptions": ".engine._builder",
    "BuildStats": ".engine._builder",
    "PlanRun": ".engine._run",
    "build_seeds": ".engine._run",
    "SeedsBuilder": ".course._builders",
    "build_grpc_seeds_builder": ".course._builders",
    "build_http_seeds_builder": ".course._builders",
    "SeedsScenario": ".course._scenario",
}


def __getattr__(name: str) -> Any:
    """Import each part on first use, so ``open_dump`` stays light and ``--help`` lighter."""
    if name in _LAZY:
        import importlib

        value = globals()[name] = getattr(importlib.import_module(_LAZY[name], __name__), name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if "locust" in sys.modules:  # a locustfile is importing us: be there when Locust fires init
    import seeding.locust  # noqa: F401
