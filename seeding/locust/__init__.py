"""seeding.locust: dumps consumed by Locust, one seeded user per virtual user across all processes.

    SeedsFeeder            serves a dump to virtual users: unique / shuffle / cycle / random,
                           fail-fast checks at test start, seeds sent to workers that lack the dump
    regenerate_dump        for an ``events.init`` listener: re-seed (in a subprocess, on the master
                           or local runner only) when the dump is missing, stale or of another plan
    regeneration_reason    the pure decision behind it
    served_seeds           what ``SeedsScenario.load()`` returns inside Locust: the course's
                           ``environment.seeds``, unique across processes (``_course``)
    user_for, claim_for    the seeded user of a virtual user, when ``--seeds-plan`` / ``--seeds-dump``
                           configured the run (``_options``: Locust flags, ``.conf``, ``LOCUST_SEEDS_*``)
    release, quarantine    a virtual user gives its seeded user back before it stops, or takes it out
                           of circulation (strategy ``lease``: for the run, or in the service's pool)

Install with ``pip install "seeding[locust]"``. ``import seeding`` never imports Locust; this
package imports it (and so gevent's monkey-patching) only when ``SeedsFeeder`` is first used, so
the pure parts can be used and tested outside a Locust process.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING

if importlib.util.find_spec("locust") is None:
    raise ImportError('seeding.locust needs Locust, which is not installed: pip install "seeding[locust]"')

from .._lazy import LazyNames
from ._assignment import (
    STRATEGIES as STRATEGIES,
    Assignment as Assignment,
    NumberPool as NumberPool,
    Strategy as Strategy,
    plan_assignments as plan_assignments,
)
from ._options import add_arguments as add_arguments, configured_feeder, on_init
from ._preflight import (
    capacity_problem as capacity_problem,
    requirements_problem as requirements_problem,
    validate_requirements as validate_requirements,
)
from ._regeneration import regenerate_dump as regenerate_dump, regeneration_reason as regeneration_reason

if "locust" in sys.modules:  # inside a Locust process: learn its environment when it fires init
    from . import _course  # noqa: F401
    from ._exit_quirk import install as _install_exit_quirk

    _install_exit_quirk()

if TYPE_CHECKING:  # the same names for type checkers and editors (tests/test_lazy_names.py: as the table)
    from locust import User

    from ..dumps._result import SeedUserResult
    from ._course import in_locust_worker as in_locust_worker, served_seeds as served_seeds
    from ._feeder import FeederSeeds as FeederSeeds, SeedClaim as SeedClaim, SeedsFeeder as SeedsFeeder

# One table of the public names; the feeder and the course's glue import Locust (and gevent's
# patching), so they are imported on first use.
_PUBLIC = LazyNames(
    __name__,
    {
        ".": ("claim_for", "quarantine", "release", "user_for"),
        "._assignment": ("STRATEGIES", "Assignment", "NumberPool", "Strategy", "plan_assignments"),
        "._options": ("add_arguments",),
        "._preflight": ("capacity_problem", "requirements_problem", "validate_requirements"),
        "._regeneration": ("regenerate_dump", "regeneration_reason"),
        "._course": ("in_locust_worker", "served_seeds"),
        "._feeder": ("FeederSeeds", "SeedClaim", "SeedsFeeder"),
    },
)
__all__ = _PUBLIC.names
__getattr__ = _PUBLIC.attribute
__dir__ = _PUBLIC.dir


def user_for(user: User, profile: str | None = None) -> SeedUserResult:
    """The seeded user of virtual user ``user`` (call it in ``on_start``), from ``--seeds-plan`` / ``--seeds-dump``.

    Unique across all processes under the default strategy; released when the virtual user stops.
    ``profile`` (or the user class's ``seeds_profile``, or ``--seeds-profile``'s first) takes a user
    of that profile of the plan.
    """
    return configured_feeder(profile or getattr(type(user), "seeds_profile", None)).user_for(user)


def claim_for(user: User, profile: str | None = None) -> SeedClaim:
    """As ``user_for``, with the seeded user's index in the dump (among its profile's users with one)."""
    return configured_feeder(profile or getattr(type(user), "seeds_profile", None)).claim_for(user)


def release(user: User) -> None:
    """Give back the seeded user virtual user ``user`` holds (its next ``user_for`` takes another).

    ``SeedingError`` in one line when it holds none (never claimed, or given back already).
    """
    from ._feeder import release_user

    release_user(user)


def quarantine(user: User, reason: str) -> None:
    """Take the seeded user ``user`` holds out of circulation: no virtual user gets it again in this run
    (through a service: until it is released there). ``reason``: 1 to 500 characters (``ValueError``)."""
    from ._feeder import quarantine_user

    quarantine_user(user, reason)


# Inside a Locust process (a locustfile imports us), Locust is imported already: join its parser
# and its init. Elsewhere (tests, tools) importing us must not import Locust and gevent's patching.
if "locust.event" in sys.modules:
    from locust import events as _events

    _events.init_command_line_parser.add_listener(lambda parser, **_: add_arguments(parser))
    _events.init.add_listener(on_init)
