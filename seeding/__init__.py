"""seeding: test data for load tests of the bank gateway.

    plan (SeedsPlan, plans/*.yaml) → builder (concurrent, retried) → gateway client (gRPC | HTTP)
        → result (SeedsResult) → dump (dumps/<scenario>_seeds.json) → consumption (locustfiles)

Everything a user imports is here; modules prefixed ``_`` are internal. Each part loads on first
use: opening a dump imports neither grpc nor aiohttp, ``python -m seeding --help`` no dump or plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import LazyNames

if TYPE_CHECKING:  # the same names for type checkers and editors (tests/test_lazy_names.py: as the table)
    from ._exceptions import (
        BuildError as BuildError,
        DumpError as DumpError,
        GatewayError as GatewayError,
        GatewayUnreachableError as GatewayUnreachableError,
        InvalidRequestError as InvalidRequestError,
        JournalError as JournalError,
        NotFoundError as NotFoundError,
        PermanentGatewayError as PermanentGatewayError,
        PlanError as PlanError,
        RejectedError as RejectedError,
        SeedingError as SeedingError,
        SeedsExhaustedError as SeedsExhaustedError,
        TransientGatewayError as TransientGatewayError,
        is_transient as is_transient,
    )
    from .course._builders import (
        SeedsBuilder as SeedsBuilder,
        build_grpc_seeds_builder as build_grpc_seeds_builder,
        build_http_seeds_builder as build_http_seeds_builder,
    )
    from .course._scenario import (
        SeedsScenario as SeedsScenario,
    )
    from .dumps._files import (
        DumpWriter as DumpWriter,
        dump_path as dump_path,
        load_seeds_result as load_seeds_result,
        open_dump as open_dump,
        read_meta as read_meta,
        save_seeds_result as save_seeds_result,
        write_dump as write_dump,
    )
    from .dumps._result import (
        SeedAccountResult as SeedAccountResult,
        SeedCardResult as SeedCardResult,
        SeedOpenedCardResult as SeedOpenedCardResult,
        SeedOperationResult as SeedOperationResult,
        SeedsResult as SeedsResult,
        SeedUserResult as SeedUserResult,
    )
    from .engine._builder import (
        Builder as Builder,
        BuildOptions as BuildOptions,
        BuildStats as BuildStats,
    )
    from .engine._run import (
        PlanRun as PlanRun,
        build_seeds as build_seeds,
    )
    from .plan._models import (
        AmountRange as AmountRange,
        OperationOptions as OperationOptions,
        SeedAccountsPlan as SeedAccountsPlan,
        SeedCardsPlan as SeedCardsPlan,
        SeedOperationsPlan as SeedOperationsPlan,
        SeedsPlan as SeedsPlan,
        SeedUsersPlan as SeedUsersPlan,
        load_plan as load_plan,
        parse_plan as parse_plan,
    )


# One table of every public name, by the module that defines it; each is imported on first use:
# ``python -m seeding --help`` needs none of it, a locustfile only the dump reader, a seeding run no
# Locust glue. Nothing here imports Locust: a course's ``SeedsScenario`` joins Locust's ``init``
# when it is defined inside a Locust process (``course/_scenario.py``).
_PUBLIC = LazyNames(
    __name__,
    {
        "._exceptions": (
            "BuildError",
            "DumpError",
            "GatewayError",
            "GatewayUnreachableError",
            "InvalidRequestError",
            "JournalError",
            "NotFoundError",
            "PermanentGatewayError",
            "PlanError",
            "RejectedError",
            "SeedingError",
            "SeedsExhaustedError",
            "TransientGatewayError",
            "is_transient",
        ),
        ".dumps._files": (
            "DumpWriter",
            "dump_path",
            "load_seeds_result",
            "open_dump",
            "read_meta",
            "save_seeds_result",
            "write_dump",
        ),
        ".dumps._result": (
            "SeedAccountResult",
            "SeedCardResult",
            "SeedOpenedCardResult",
            "SeedOperationResult",
            "SeedsResult",
            "SeedUserResult",
        ),
        ".plan._models": (
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
        ".engine._builder": ("Builder", "BuildOptions", "BuildStats"),
        ".engine._run": ("PlanRun", "build_seeds"),
        ".course._builders": ("SeedsBuilder", "build_grpc_seeds_builder", "build_http_seeds_builder"),
        ".course._scenario": ("SeedsScenario",),
    },
)
__all__ = _PUBLIC.names
__getattr__ = _PUBLIC.attribute
__dir__ = _PUBLIC.dir
