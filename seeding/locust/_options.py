"""Seeding as Locust options: ``--seeds-plan`` & co. on the command line, in ``.conf`` files and ``LOCUST_SEEDS_*``.

Importing ``seeding.locust`` in a locustfile adds a "seeding" group to Locust's own parser
(``events.init_command_line_parser``), so a run is configured where Locust runs are::

    # locust.conf
    seeds-plan = plans/get-operations.yaml
    seeds-users = run          # seed as many users as the run has (--users), or run*1.5, or 500
    seeds-max-age = 1d

With ``--seeds-plan`` (or only ``--seeds-dump``) set, an ``events.init`` listener re-seeds on the
master or local runner when the dump is missing or stale (``regenerate_dump``) and makes the
feeder every process serves from; a virtual user then takes its seeded user with one call,
``seeding.locust.user_for(self)``, unique across every ``--processes`` worker.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import PlanError, SeedingError
from ..dumps._exhaustion import WhenEmpty
from ..dumps._files import dump_path
from ..dumps._strategies import strategy_spec
from ..engine._options import MAX_RATE, MIN_RATE
from ..plan._models import find_plan, load_plan
from ._assignment import STRATEGIES

if TYPE_CHECKING:  # the feeder imports Locust: named here, imported when made
    from locust.env import Environment
    from locust.runners import Runner

    from ._feeder import SeedsFeeder

__all__ = ["SeedsUsers", "add_arguments", "configured_feeder", "max_age", "seeds_users"]

logger = logging.getLogger("seeding.locust")

_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>d|h|min|m|s)?")
_UNITS = {"d": 86400, "h": 3600, "min": 60, "m": 60, "s": 1, None: 1}
_MAX_AGE_S = 36_500 * 86_400
_RUN = re.compile(r"run(?:\s*\*\s*(?P<factor>\d+(?:\.\d+)?))?")


def max_age(text: str) -> timedelta:
    """``--seeds-max-age``: ``90`` (seconds), ``45s``, ``30m``, ``12h``, ``1.5d``."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or float(match["number"]) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90, 30m, 12h or 1d")
    seconds = float(match["number"]) * _UNITS[match["unit"]]
    if not seconds <= _MAX_AGE_S:  # timedelta overflows past 999,999,999 days; 100 years says "never" already
        raise argparse.ArgumentTypeError(f"{text!r} is longer than 100 years (36500d)")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class SeedsUsers:
    """How many users to seed: a fixed count, or the run's ``--users`` times a factor."""

    count: int | None = None
    factor: float | None = None

    def resolve(self, run_users: int | None) -> int | None:
        """The count for a run of ``run_users`` virtual users; None: keep the plan's."""
        if self.count is not None:
            return self.count
        if self.factor is None or not run_users:
            return None
        return max(1, math.ceil(run_users * self.factor))


def seeds_users(text: str) -> SeedsUsers:
    """``--seeds-users``: ``500``, ``run`` (the run's ``--users``) or ``run*1.5``."""
    value = text.strip()
    if value.isdigit() and int(value) >= 1:
        return SeedsUsers(count=int(value))
    match = _RUN.fullmatch(value)
    if match is not None:
        factor = float(match["factor"]) if match["factor"] else 1.0
        if factor > 0:
            return SeedsUsers(factor=factor)
    raise argparse.ArgumentTypeError(f"{text!r} is not a user count: a whole number >= 1, run, or run*FACTOR")


def _strategy(text: str) -> str:
    if text.partition(":")[0] not in STRATEGIES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a strategy: {', '.join(STRATEGIES)} (zipf:S sets the exponent)"
        )
    try:
        return strategy_spec(text).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _when_empty(text: str) -> WhenEmpty:
    try:
        return WhenEmpty.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


MAX_LEASE_TTL = 86_400.0  # seconds: the service's bound (a lease longer than a day is a user lost)
MIN_LEASE_TTL = 0.1  # seconds: each process renews every third of it; shorter, renewing is all it would do


def lease_ttl(text: str) -> float:
    """``--seeds-lease-ttl``: seconds a lease lasts unless renewed; from a tenth of a second to a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds") from None
    if not (math.isfinite(value) and MIN_LEASE_TTL <= value <= MAX_LEASE_TTL):
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r}: a lease lasts at least {MIN_LEASE_TTL:g} and at most {MAX_LEASE_TTL:g} seconds"
        )
    return value


def _transport(text: str) -> str:
    if text not in ("grpc", "http"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a transport: grpc or http")
    return text


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not -(2**63) < value < 2**63:  # seeds travel as JSON integers (journals, dumps): 64 bits
        raise argparse.ArgumentTypeError(f"{text[:30]!r} is not a whole number within ±9223372036854775807")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and MIN_RATE <= value <= MAX_RATE):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a rate: calls per second, at least {MIN_RATE:g} and at most {MAX_RATE:g}"
        )
    return value


def _checked(parse: Any) -> Any:
    """An argparse type that checks with ``parse`` but keeps the text: Locust ships options to workers as msgpack."""

    def check(text: str) -> str:
        parse(text)
        return text

    check.__name__ = parse.__name__
    return check


# (flag, argparse keywords): one table, so the README's list and the parser cannot drift apart.
OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("--seeds-plan", {"help": "plan to seed before the run (a file, or a name in plans/)"}),
    ("--seeds-dump", {"help": "dump the virtual users take their seeded users from (default: the plan's)"}),
    (
        "--seeds-strategy",
        {
            "type": _strategy,
            "default": "unique",
            "help": "unique, shuffle, cycle, random, zipf:S or lease (held from on_start until the user stops)",
        },
    ),
    (
        "--seeds-lease-ttl",
        {
            "type": _checked(lease_ttl),
            "default": "30",
            "help": "strategy lease: seconds a lease lasts unless renewed (each process renews every third of it)",
        },
    ),
    ("--seeds-profile", {"help": "profiles to serve besides the plan's, comma-separated; the first is the default"}),
    (
        "--seeds-when-empty",
        {
            "type": _checked(_when_empty),
            "default": "stop",
            "help": "when every seeded user is held: stop, wait:SECONDS, cycle (start over) or warn (share, say once)",
        },
    ),
    ("--seeds-users", {"type": _checked(seeds_users), "help": "users to seed: N, run (= --users) or run*FACTOR"}),
    ("--seeds-max-age", {"type": _checked(max_age), "help": "re-seed a dump older than this (90, 30m, 12h, 1d)"}),
    ("--seeds-transport", {"type": _transport, "help": "grpc or http (default: settings, then grpc)"}),
    ("--seeds-target", {"help": "gateway to seed (default: --host when it fits the transport, then settings)"}),
    ("--seeds-dumps-dir", {"help": "where dumps go (default: settings, then dumps)"}),
    ("--seeds-seed", {"type": _seed, "help": "reproducible names, phones and amounts; and the shuffle order"}),
    ("--seeds-requires", {"help": "what the scenario reads, comma-separated (debit_card_accounts.physical_cards)"}),
    ("--seeds-timeout", {"type": _positive, "help": "seconds seeding may take before the run is stopped"}),
    (
        "--seeds-rate",
        {"type": _checked(_rate), "help": "seed at most N calls per second (a gateway's quota; default: SEEDING.RATE)"},
    ),
]


def add_arguments(parser: Any) -> None:
    """Add the "seeding" group to Locust's parser; each flag also reads ``LOCUST_SEEDS_*`` and ``.conf`` keys."""
    group = parser.add_argument_group("seeding", "seed test data before the run and hand it to virtual users")
    for flag, keywords in OPTIONS:
        env_var = "LOCUST_" + flag.removeprefix("--").replace("-", "_").upper()
        group.add_argument(flag, env_var=env_var, **keywords)


_configured: SeedsFeeder | None = None  # the SeedsFeeder the options made in this process
_profiled: dict[str, SeedsFeeder] = {}  # profile → its SeedsFeeder (the plan's profiles, and --seeds-profile's)
_default_profile: str | None = None  # --seeds-profile's first: for virtual users that name none


def configured_feeder(profile: str | None = None) -> SeedsFeeder:
    """The feeder ``--seeds-plan`` / ``--seeds-dump`` made (of ``profile``); ``SeedingError`` in one line otherwise."""
    if _configured is None:
        raise SeedingError(
            "seeding.locust.user_for: no seeded users are configured; "
            "set --seeds-plan or --seeds-dump (command line, .conf or LOCUST_SEEDS_PLAN)"
        )
    profile = profile or _default_profile
    if profile is None:
        return _configured
    feeder = _profiled.get(profile)
    if feeder is None:
        served = ", ".join(_profiled) or "none"
        raise SeedingError(
            f"seeding.locust.user_for: no profile {profile!r} is served (profiles: {served}); "
            "the plan's profiles are, and those --seeds-profile names"
        )
    return feeder


def on_init(environment: Environment, runner: Runner | None = None, **_: Any) -> None:
    """``events.init``: re-seed on the master or local runner when needed, then serve the dump in every process."""
    global _configured, _default_profile
    from .._settings import load_settings
    from ._feeder import SeedsFeeder
    from ._regeneration import _fail, regenerate_dump

    options: argparse.Namespace | None = getattr(environment, "parsed_options", None)
    if options is None:
        return  # an environment made without Locust's parser has no --seeds-* options
    plan_name = getattr(options, "seeds_plan", None)
    dump: str | Path | None = getattr(options, "seeds_dump", None)
    if not plan_name and not dump:
        return
    plan_file = find_plan(plan_name) if plan_name else None
    regenerate: dict[str, Any] = {}
    if plan_file is not None:
        run_users = getattr(options, "num_users", None)
        sizing = seeds_users(options.seeds_users) if options.seeds_users else None
        users = sizing.resolve(run_users) if sizing else None
        if sizing is not None and users is None:
            logger.warning("--seeds-users %s: the run's --users is not known; seeding the plan's count", sizing)
        try:
            plan = load_plan(plan_file)
            plan = plan.with_users(users) if users is not None else plan
            dumps_dir = options.seeds_dumps_dir or load_settings().seeding.dumps_dir
        except (PlanError, SeedingError) as exc:
            _fail(f"--seeds-plan: {exc}")
        seeded = dump_path(plan.name, dumps_dir)
        if dump and Path(dump) != seeded:
            logger.warning("--seeds-dump %s is not where --seeds-plan seeds (%s); serving %s", dump, seeded, dump)
        dump = dump or seeded
        regenerate = {
            "transport": options.seeds_transport,
            "target": options.seeds_target,
            "dumps_dir": dumps_dir,
            "max_age": max_age(options.seeds_max_age) if options.seeds_max_age else None,
            "seed": options.seeds_seed,
            "timeout": options.seeds_timeout,
            "users": users,
            "rate": float(options.seeds_rate) if getattr(options, "seeds_rate", None) else None,
        }
    assert dump  # --seeds-dump, or where --seeds-plan seeds
    requires = [name.strip() for name in (options.seeds_requires or "").split(",") if name.strip()]
    when_empty = WhenEmpty.parse(getattr(options, "seeds_when_empty", None) or "stop")
    if strategy_spec(options.seeds_strategy).leased and not when_empty.exclusive_only:
        _fail(
            f"--seeds-when-empty {when_empty}: strategy {options.seeds_strategy!r} holds each user exclusively, "
            "so it takes stop or wait:SECONDS (cycle and warn would give one user two holders)"
        )
    ttl = lease_ttl(getattr(options, "seeds_lease_ttl", None) or "30")
    try:
        feeder = SeedsFeeder(
            Path(dump),
            strategy=options.seeds_strategy,
            requires=requires,
            seed=options.seeds_seed,
            when_empty=when_empty,
            lease_ttl=ttl,
        )
    except ValueError as exc:
        _fail(f"--seeds-requires: {exc}")
    # Listening first: workers forked with this process say hello while the master is still seeding.
    feeder.attach(environment, runner)
    _configured = feeder
    # One feeder per profile: the plan's, and those --seeds-profile names (the first is user_for's default).
    named = [name.strip() for name in (getattr(options, "seeds_profile", None) or "").split(",") if name.strip()]
    known = plan.users.profile_names if plan_file is not None else []
    _profiled.clear()
    for profile in dict.fromkeys([*named, *known]):
        _profiled[profile] = SeedsFeeder(
            Path(dump),
            strategy=options.seeds_strategy,
            seed=options.seeds_seed,
            profile=profile,
            when_empty=when_empty,
            lease_ttl=ttl,
        )
        _profiled[profile].attach(environment, runner)
    _default_profile = named[0] if named else None
    if plan_file is not None:
        regenerate_dump(environment, plan_file, **regenerate)
