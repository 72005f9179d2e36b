"""seeding.locust: dumps consumed by Locust, one seeded user per virtual user across all processes.

    SeedsFeeder            serves a dump to virtual users: unique / shuffle / cycle / random,
                           fail-fast checks at test start, seeds sent to workers that lack the dump
    regenerate_dump        for an ``events.init`` listener: re-seed (in a subprocess, on the master
                           or local runner only) when the dump is missing, stale or of another plan
    regeneration_reason    the pure decision behind it

Install with ``pip install "seeding[locust]"``. ``import seeding`` never imports Locust; this
package imports it (and so gevent's monkey-patching) only when ``SeedsFeeder`` is first used, so
the pure parts can be used and tested outside a Locust process.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

if importlib.util.find_spec("locust") is None:
    raise ImportError('seeding.locust needs Locust, which is not installed: pip install "seeding[locust]"')

from ._assignment import STRATEGIES, Assignment, NumberPool, Strategy, plan_assignments
from ._preflight import capacity_problem, requirements_problem, validate_requirements
from ._regeneration import regenerate_dump, regeneration_reason

if TYPE_CHECKING:
    from ._feeder import FeederSeeds, SeedClaim, SeedsFeeder

__all__ = [
    "STRATEGIES",
    "Assignment",
    "FeederSeeds",
    "NumberPool",
    "SeedClaim",
    "SeedsFeeder",
    "Strategy",
    "capacity_problem",
    "plan_assignments",
    "regenerate_dump",
    "regeneration_reason",
    "requirements_problem",
    "validate_requirements",
]

_NEEDS_LOCUST = {"FeederSeeds", "SeedClaim", "SeedsFeeder"}


def __getattr__(name: str) -> Any:
    """Import Locust (and gevent's patching) with the feeder, on first use."""
    if name in _NEEDS_LOCUST:
        from . import _feeder

        return getattr(_feeder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
