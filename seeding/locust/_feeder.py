"""``SeedsFeeder``: a dump served to Locust virtual users, each its own seeded user, across processes.

Made when the locustfile is imported, it only registers listeners: Locust imports locustfiles
before ``--processes`` forks its workers and before ``events.init`` (where ``regenerate_dump``
may still be re-seeding), so nothing may read the dump yet. At test start:

    local runner   opens the dump, checks it (``_preflight``), serves positions 0, 1, 2, …
    master         opens the dump, checks it, sends each worker an ``Assignment`` (its rank and the
                   worker count, see ``_assignment``) and the dump's fingerprint; answers claims
                   for positions beyond the striped rounds; streams the users to a worker that asks
    worker         opens its own copy when the fingerprint matches, else asks the master for the
                   users (``_shipping``); its virtual users wait until the seeds are there

The roles live in their own modules: ``_master`` (places, the pool, shipping the dump) and
``_worker`` (its place, its copy, pooled claims), mixed into ``SeedsFeeder``, which keeps what
locustfiles call, the local runner's part and the state the three share.

Messages are Locust's own (``runner.register_message`` / ``send_message``), one type per purpose,
prefixed ``seeding:<name>:``, except the worker's hello: ``seeding:hello`` for every feeder, heard by
the master before it knows its dumps (``_greetings``). The master's ``assign`` goes out before its ``spawn`` on the same
connection, so a worker knows its place before its first virtual user starts. Every message is
checked on arrival (``_messages``) and a bad one is dropped with one log line: neither side trusts
its peers.
"""

from __future__ import annotations

import itertools
import logging
import random
import shutil
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event
from locust import User, events as locust_events
from locust.env import Environment
from locust.event import Events
from locust.runners import STATE_INIT, MasterRunner, Runner, WorkerRunner
from pydantic import PrivateAttr

from .._exceptions import DumpError, SeedingError, SeedsExhaustedError
from ..dumps._exhaustion import WhenEmpty
from ..dumps._files import open_dump
from ..dumps._result import SeedsResult, SeedUserResult
from ..dumps._strategies import strategy_spec
from ._assignment import Assignment, NumberPool, Pace, Strategy
from ._greetings import HELLO, route
from ._master import MasterSide
from ._messages import MESSAGES, Kind, listener, quarantine_reason
from ._preflight import capacity_problem, requirements_problem, validate_requirements
from ._service import service_dump
from ._worker import WorkerSide

__all__ = ["FeederSeeds", "SeedClaim", "SeedsFeeder", "quarantine_user", "release_user"]

logger = logging.getLogger("seeding.locust")

MAX_LEASE_TTL = 86400.0  # the service's bound
MIN_LEASE_TTL = 0.1  # renewed every third of it: shorter, renewing would be all a process does
PREDICTION_EVERY = 10.0  # seconds between looks at a service pool's prediction during a timed run (lease)
_FEEDERS: weakref.WeakSet[SeedsFeeder] = weakref.WeakSet()  # every feeder: which one holds a virtual user's seeds


def _held(user: User, what: str) -> list[tuple[SeedsFeeder, SeedClaim]]:
    held = [(feeder, claim) for feeder in list(_FEEDERS) if (claim := feeder._claims.get(user)) is not None]
    if not held:
        raise SeedingError(
            f"seeding.locust.{what}: {type(user).__name__} holds no seeded user; call it after user_for(self), once"
        )
    return held


def release_user(user: User) -> None:
    """Give back the seeded user(s) virtual user ``user`` holds; its next ``user_for`` claims another."""
    for feeder, claim in _held(user, "release"):
        del feeder._claims[user]
        feeder.release(claim)


def quarantine_user(user: User, reason: str) -> None:
    """Take the seeded user(s) ``user`` holds out of circulation (``reason``: 1 to 500 characters)."""
    reason = quarantine_reason(reason)
    for feeder, claim in _held(user, "quarantine"):
        del feeder._claims[user]
        feeder.quarantine(claim, reason)


@dataclass(frozen=True)
class SeedClaim:
    """The seeded user a virtual user holds, and its index in the dump (``dump.users[index]``)."""

    index: int
    user: SeedUserResult
    _number: int = field(repr=False, default=-1)
    _position: int | None = field(repr=False, default=None)
    _pooled: bool = field(repr=False, default=False)
    _generation: int = field(repr=False, default=0)
    _lease: str | None = field(repr=False, default=None)  # the service's lease ID (strategy lease over a URL)


class FeederSeeds(SeedsResult):
    """``environment.seeds`` once the seeds are here: the course's API, made safe across processes.

    ``get_next_user()`` claims through the feeder (its strategy, unique across workers) instead of
    each process counting from 0 on its own copy; ``get_random_user()`` and ``users`` are as ever.
    """

    _feeder: SeedsFeeder | None = PrivateAttr(default=None)

    def get_next_user(self) -> SeedUserResult:
        assert self._feeder is not None
        return self._feeder.claim().user


class _SeedsWhenReady:
    """``environment.seeds`` before the seeds arrive: waits for them, then behaves as ``FeederSeeds``."""

    def __init__(self, feeder: SeedsFeeder) -> None:
        self._feeder = feeder
        self._as_built: SeedsResult | None = None

    def __getattr__(self, name: str) -> Any:
        feeder = self._feeder
        runner = feeder._runner
        waiting = not feeder._ready.is_set() and runner is not None and runner.state == STATE_INIT
        if waiting and feeder._service is None and not isinstance(runner, WorkerRunner):
            # Still in ``init`` on the master or local runner (``len(environment.seeds.users)`` after
            # ``build()``): the test cannot start, and the seeds arrive, until ``init`` returns, so
            # waiting would only time out. The dump this process has just built is the one it will serve.
            if self._as_built is None:
                self._as_built = open_dump(feeder.dump)
            return getattr(self._as_built, name)
        return getattr(feeder.seeds, name)

    def __repr__(self) -> str:
        return f"<seeds of {self._feeder.dump}, not here yet>"


class SeedsFeeder(MasterSide, WorkerSide):
    """Hands each Locust virtual user a seeded user of ``dump``; make one per dump, at import time.

    ``strategy``: ``unique`` (no two live virtual users share a seeded user, across all
    processes), ``shuffle`` (as unique, in an order seeded by ``seed``), ``cycle`` (wraps around
    the dump) or ``random``. ``when_empty`` (``stop``, ``wait:SECONDS``, ``cycle``, ``warn``; see
    ``seeding.dumps._exhaustion``) says what a claim does when every user is held. ``requires``
    names what the scenario reads (``"credit_card_accounts"``,
    ``"debit_card_accounts.purchase_operations"``); a dump without it fails the run at start.
    ``dump`` may be a seeding service's URL, ``http://host:8010/v1/dumps/<scenario>`` (see ``_service``):
    then every claim asks the service (``token`` or ``SEEDING.SERVICE_TOKEN`` authenticates).

    ``profile`` serves only the users of that profile of the plan (one feeder per profile: the
    strategy runs over them as over a dump of their own; a claim's ``index`` is then the user's
    place among them). The check at test start counts the virtual users of the user classes that
    declare ``seeds_profile = "<profile>"``: more of them than the profile has users, under an
    exclusive strategy, stops the run in one line naming the profile.
    """

    def __init__(
        self,
        dump: str | Path,
        *,
        strategy: Strategy = "unique",
        requires: Iterable[str] = (),
        seed: int | None = None,
        name: str | None = None,
        ready_timeout: float = 60.0,
        events: Events | None = None,
        token: str | None = None,
        profile: str | None = None,
        when_empty: str | WhenEmpty = "stop",
        lease_ttl: float = 30.0,
    ) -> None:
        spec = strategy_spec(strategy)  # ValueError naming the known ones
        strategy = spec.name
        self.when_empty = when_empty if isinstance(when_empty, WhenEmpty) else WhenEmpty.parse(when_empty)
        if spec.leased and not self.when_empty.exclusive_only:
            raise ValueError(
                f"strategy {strategy!r} holds each user exclusively: when_empty takes stop or wait:SECONDS, "
                f"not {str(self.when_empty)!r}"
            )
        if not MIN_LEASE_TTL <= lease_ttl <= MAX_LEASE_TTL:
            raise ValueError(
                f"lease_ttl must be at least {MIN_LEASE_TTL:g} and at most {MAX_LEASE_TTL:g} seconds, not {lease_ttl!r}"
            )
        self.lease_ttl = lease_ttl
        self._leased = spec.leased
        self._exclusive = spec.exclusive
        self._overflows = itertools.count()  # cycle/warn: positions handed out beyond the exclusive ones
        self._warned = False
        self._service = service_dump(dump, token=token)
        self.dump = Path(dump)
        self.strategy: Strategy = strategy
        self.requires = validate_requirements(requires)
        self.seed = seed
        self.profile = profile
        self.name = name or (self._service.scenario if self._service else self.dump.name)
        if profile is not None and name is None:
            self.name += f"@{profile}"  # each profile's feeder has its own messages
        self.ready_timeout = ready_timeout
        self._messages = {kind: f"seeding:{self.name}:{kind}" for kind in MESSAGES}
        # The state the sides share is declared with them (``FeederState``, ``MasterSide``, ``WorkerSide``).
        self._environment = None
        self._seeds: FeederSeeds | None = None
        self._assignment = None
        self._ready = Event()
        self._failure: str | None = None
        self._numbers = NumberPool()
        self._pool = NumberPool(0, 0)
        self._random = random.Random()
        self._claims: weakref.WeakKeyDictionary[User, SeedClaim] = weakref.WeakKeyDictionary()
        self._tickets = {}  # a worker's
        self._ticket_numbers = itertools.count()
        self._abandoned = {}
        self._receiver = None
        self._receiving = None
        self._scratch = None
        self._copies = itertools.count()
        self._assigned = set()  # the master's
        self._shipped = set()
        self._granted = {}
        self._revoked = {}
        self._unsent = set()
        self._pooled_held = {}  # a worker's: (generation, position) → number of each pooled claim it holds
        self._live: set[tuple[int, int]] = set()  # (generation, number) of claims not given back yet
        self._quarantined = {}
        self._renewers: dict[str, gevent.Greenlet[[str], None]] = {}  # service lease ID → its renewing greenlet
        self.prediction_every = PREDICTION_EVERY
        self._paces = (Pace(), Pace())  # pooled positions taken and given back (master, local runner), per run
        self._predicting: gevent.Greenlet[[float], None] | None = None
        _FEEDERS.add(self)
        events = events or locust_events
        events.init.add_listener(self._on_init)
        events.test_start.add_listener(self._on_test_start)
        events.quitting.add_listener(self._on_quitting)

    # --- what locustfiles call -------------------------------------------------------------

    def user_for(self, user: User) -> SeedUserResult:
        """The seeded user of virtual user ``user``: claimed on first call, released when it stops."""
        return self.claim_for(user).user

    def claim_for(self, user: User) -> SeedClaim:
        """As ``user_for``, with the seeded user's index in the dump."""
        claim = self._claims.get(user)
        if claim is None:
            claim = self.claim()
            self._claims[user] = claim
            greenlet = getattr(user, "greenlet", None)
            if greenlet is not None:  # the seeded user is free again once this virtual user is gone
                greenlet.link(lambda _: gevent.spawn(self.release, claim))
        return claim

    def claim(self) -> SeedClaim:
        """A seeded user for a caller that is not a virtual user; ``release`` it when done."""
        if self._service is not None:
            if self._leased:
                return self._lease_from_service()
            return SeedClaim(*self._service.next(self.strategy, self.profile, str(self.when_empty)))
        assignment, seeds = self._wait_ready()
        number = self._numbers.take()
        assert number is not None  # unbounded
        position = assignment.position(number)
        pooled = False
        if assignment.drawn:
            index = strategy_spec(assignment.strategy).draw(assignment.seeds, self._random)
        else:
            if position is None:
                position, pooled = self._take_pooled(assignment), True
            if position is None and self.when_empty.action == "wait":
                position = self._wait_pooled(assignment)
            if position is None and self.when_empty.action in ("cycle", "warn"):
                return self._overflow(assignment, seeds, number)
            if position is None:
                self._numbers.put(number)
                raise SeedsExhaustedError(
                    f"{self.dump}: all {assignment.seeds} seeded users are held by running virtual users and "
                    f"strategy {assignment.strategy!r} gives each its own; seed more users or use strategy='cycle'"
                )
            index = assignment.index(position)
        self._live.add((assignment.generation, number))
        if pooled and position is not None:  # pooled: a position was taken (else it raised or returned)
            self._pooled_held[(assignment.generation, position)] = number
        return SeedClaim(index, seeds.get_user(index), number, position, pooled, assignment.generation)

    def _wait_pooled(self, assignment: Assignment) -> int | None:
        """``when_empty=wait:S``: ask the pool again every 50 ms until a user comes back or S seconds pass."""
        deadline = time.monotonic() + self.when_empty.seconds
        while time.monotonic() < deadline:
            gevent.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            position = self._take_pooled(assignment)
            if position is not None:
                return position
        return None

    def _overflow(self, assignment: Assignment, seeds: FeederSeeds, number: int) -> SeedClaim:
        """``when_empty=cycle|warn``: a user someone already holds, in the strategy's order (warn says so once)."""
        if self.when_empty.action == "warn" and not self._warned:
            self._warned = True
            logger.warning(
                "%s: all %d seeded users are held; handing out users already held (--seeds-when-empty warn)",
                self.dump,
                assignment.seeds,
            )
        index = assignment.index(next(self._overflows) % assignment.seeds)
        self._live.add((assignment.generation, number))
        return SeedClaim(index, seeds.get_user(index), number, None, False, assignment.generation)

    def release(self, claim: SeedClaim) -> None:
        """Give a claimed seeded user back (virtual users do this when they stop); a second time does nothing."""
        if claim._lease is not None:
            return self._end_lease(claim, None)
        if self._end(claim) and claim._pooled and claim._position is not None:
            if isinstance(self._runner, WorkerRunner):
                self._send("release", {"generation": claim._generation, "position": claim._position})
            else:
                self._pool.put(claim._position)
                self._paces[1].add()

    def quarantine(self, claim: SeedClaim, reason: str) -> None:
        """Take a claimed seeded user out of circulation: never handed out again in this test run.

        Through a service (strategy ``lease`` over a URL), the service's pool quarantines it until
        someone releases it there (``DELETE …/quarantine/<index>``). ``ValueError`` for a reason that
        is not 1 to 500 characters, ``SeedingError`` under a strategy that shares users.
        """
        reason = quarantine_reason(reason)
        if claim._lease is not None:
            return self._end_lease(claim, reason)
        if not self._exclusive:
            raise SeedingError(
                f"{self.dump}: strategy {self.strategy!r} shares seeded users, so none can be quarantined; "
                "use strategy 'lease' (or unique, shuffle)"
            )
        generation, number, position = claim._generation, claim._number, claim._position
        if (generation, number) not in self._live:
            raise SeedingError(f"{self.dump}: seeded user {claim.index} is not held here (given back already?)")
        self._live.discard((generation, number))  # its number never comes back: nor does its position
        if position is not None:
            self._pooled_held.pop((generation, position), None)
        if claim._pooled and position is not None and isinstance(self._runner, WorkerRunner):
            self._send("quarantine", {"generation": generation, "position": position, "reason": reason})
        elif position is not None:
            self._quarantined[position] = reason
            logger.info("%s: seeded user %d quarantined for this test run: %s", self.dump, claim.index, reason)
        if claim._pooled:  # a striped number stays taken: its position is out of this run with it
            self._numbers.put(number)

    def _end(self, claim: SeedClaim) -> bool:
        """Forget a claim once (False: of an earlier test run, or given back already)."""
        assignment = self._assignment
        if assignment is None or claim._generation != assignment.generation:
            return False  # claimed in an earlier test run: that run's numbering is gone
        key = (claim._generation, claim._number)
        if key not in self._live:
            return False
        self._live.discard(key)
        if claim._pooled and claim._position is not None:
            self._pooled_held.pop((claim._generation, claim._position), None)
        self._numbers.put(claim._number)
        return True

    # --- leases from a service -------------------------------------------------------------

    def _lease_from_service(self) -> SeedClaim:
        assert self._service is not None
        lease, index, user = self._service.lease(self.lease_ttl, self.profile, str(self.when_empty))
        self._renewers[lease] = gevent.spawn(self._renew, lease)
        return SeedClaim(index, user, _lease=lease)

    def _renew(self, lease: str) -> None:
        """Renew a held lease a third of its TTL before it would expire, until it is given back."""
        assert self._service is not None
        while True:
            gevent.sleep(self.lease_ttl / 3)
            try:
                renewed = self._service.renew(lease, self.lease_ttl)
            except SeedingError as exc:
                logger.warning("%s", exc)  # the service is away: try again at the next third
                continue
            if not renewed:
                self._renewers.pop(lease, None)
                logger.error("%s: a lease expired before it was renewed; its user may have another holder", self.name)
                return

    def _end_lease(self, claim: SeedClaim, reason: str | None) -> None:
        assert self._service is not None and claim._lease is not None
        renewer = self._renewers.pop(claim._lease, None)
        if renewer is None:
            if reason is not None:
                raise SeedingError(f"{self._service.url}: seeded user {claim.index} is not leased here (given back?)")
            return  # given back already
        renewer.kill(block=False)
        try:
            if reason is None:
                self._service.give_back(claim._lease)
            else:
                self._service.quarantine(claim._lease, reason)
        except SeedingError as exc:
            logger.warning("%s (the lease expires by itself)", exc)

    @property
    def seeds(self) -> FeederSeeds:
        """The whole dump as a ``SeedsResult`` (waits, on a worker, until it has arrived)."""
        if self._service is not None:
            raise SeedingError(f"{self._service.url}: served by a seeding service; claim users with user_for()/claim()")
        return self._wait_ready()[1]

    # --- waiting and failing ---------------------------------------------------------------

    def _wait_ready(self) -> tuple[Assignment, FeederSeeds]:
        if self._failure is not None or getattr(self._environment, "seeding_stopped", False):
            Event().wait()  # the run is being stopped (by this feeder or another); this virtual user will be killed
        if not self._ready.wait(self.ready_timeout):
            raise SeedingError(
                f"{self.dump}: no seeds after {self.ready_timeout} s; "
                + (
                    "is the master running this locustfile?"
                    if isinstance(self._runner, WorkerRunner)
                    else "the test has not started"
                )
            )
        assert self._assignment is not None and self._seeds is not None
        return self._assignment, self._seeds

    def _abort(self, environment: Environment, problem: str) -> None:
        """One line, exit status 1, and no virtual user ever runs a task."""
        self._failure = problem
        if getattr(environment, "seeding_stopped", False):
            return  # another feeder (another profile) stopped this run already: one line is enough
        environment.seeding_stopped = True  # type: ignore[attr-defined]  # ours: Locust's Environment has none
        logger.error("%s", problem)
        environment.process_exit_code = 1
        runner = environment.runner
        assert runner is not None
        if isinstance(runner, MasterRunner):
            runner.quit()  # before any spawn message leaves: workers quit with no user started
        else:
            gevent.spawn(runner.quit)  # not from inside the spawning greenlet it has to kill

    # --- Locust events ---------------------------------------------------------------------

    def attach(self, environment: Environment, runner: Runner | None = None) -> Any:
        """Serve an environment whose ``init`` has already fired; returns what ``environment.seeds`` is.

        For a feeder made inside an ``events.init`` listener (``SeedsScenario.load()``, the
        ``--seeds-*`` options): it missed that event, so it joins the runner's messaging here instead.
        """
        self._on_init(environment, runner if runner is not None else environment.runner)
        return getattr(environment, "seeds", None)

    def _on_init(self, environment: Environment, runner: Runner | None = None, **_: Any) -> None:
        if self._environment is environment:
            return  # attached already (``attach``): register the runner's messages once
        self._environment = environment
        if self._service is not None:
            return  # every process asks the service itself: no messages, no local seeds
        environment.seeds = _SeedsWhenReady(self)  # type: ignore[attr-defined]  # ours: Locust's Environment has none
        if isinstance(runner, MasterRunner):
            # Hellos share one message type, heard from the master's init on (``_greetings``).
            route(runner, self.name, listener("hello", self._on_hello, logger, str(self.dump)))
            self._register(
                runner,
                {
                    "need": self._on_need,
                    "claim": self._on_claim,
                    "release": self._on_release,
                    "quarantine": self._on_quarantine,
                },
            )
            gevent.spawn(self._watch_workers)
        elif isinstance(runner, WorkerRunner):
            self._register(
                runner,
                {
                    "assign": self._on_assign,
                    "chunk": self._on_chunk,
                    "grant": self._on_grant,
                    "revoke": self._on_revoke,
                },
            )
            # Only now can this worker hear an "assign": a worker joining a running test asks for one.
            runner.send_message(HELLO, {"feeder": self.name})

    def _register(self, runner: Runner, handlers: dict[Kind, Callable[[str, Any], None]]) -> None:
        for kind, handler in handlers.items():
            # Streaming users to a worker may take a while: it must not hold up heartbeats.
            sender = "the master" if isinstance(runner, WorkerRunner) else None
            receive = listener(kind, handler, logger, str(self.dump), sender)
            runner.register_message(self._messages[kind], receive, concurrent=kind == "need")

    def _on_test_start(self, environment: Environment, **_: Any) -> None:
        runner = environment.runner
        if runner is None or isinstance(runner, WorkerRunner):
            return  # a worker's place arrived with the master's "assign", before its "spawn"
        self._failure = None
        users = self._wanted(runner)
        if self._service is not None:
            problem = self._service.problem(self.strategy, users, self.requires, self.profile, self.when_empty)
            if problem:
                return self._abort(environment, problem)
            return self._watch_prediction(environment) if self._leased else None
        generation = (self._assignment.generation + 1) if self._assignment else 1
        try:
            seeds = self._served(open_dump(self.dump))
        except (DumpError, ValueError) as exc:
            return self._abort(environment, str(exc))
        source = str(self.dump) if self.profile is None else f"{self.dump} (profile {self.profile!r})"
        problem = requirements_problem(source, seeds, self.requires) or capacity_problem(
            source, self.strategy, seeds=len(seeds.users), users=users, when_empty=self.when_empty
        )
        if problem:
            return self._abort(environment, problem)
        seed = self.seed if self.seed is not None else random.randrange(2**31)
        count = len(seeds.users)
        if isinstance(runner, MasterRunner):
            where = self._start_workers(environment, runner, seeds, users, seed, generation)
        else:
            rounds = 0 if self._leased else count  # lease: every position from the pool, where quarantine keeps it
            self._install(environment, Assignment(self.strategy, count, 1, 0, rounds, seed, generation), seeds)
            where = "in this process"
        if self._leased:
            self._watch_prediction(environment)
        logger.info(
            "%s: %d seeded users for %d virtual users %s, strategy %r",
            self.dump,
            count,
            users,
            where,
            self.strategy,
        )

    def _watch_prediction(self, environment: Environment) -> None:
        """A timed run (``--run-time``) under lease: one line if the pool will run dry before the end."""
        run_time = getattr(getattr(environment, "parsed_options", None), "run_time", None)
        if self._predicting is not None:
            self._predicting.kill(block=False)
            self._predicting = None
        if isinstance(run_time, str):
            from locust.util.timespan import parse_timespan

            run_time = parse_timespan(run_time)
        if isinstance(run_time, int | float) and run_time > 0:
            self._predicting = gevent.spawn(self._predict, time.monotonic() + run_time)

    def _pool_here(self) -> dict[str, Any]:
        """What ``GET …/pool`` says, for the pool this process keeps (the master's, or a local runner's)."""
        assignment = self._assignment
        if assignment is None:
            raise SeedingError(f"{self.dump}: no test run yet")
        held = len(self._granted) if isinstance(self._runner, MasterRunner) else len(self._live)
        free = max(0, assignment.seeds - held - len(self._quarantined))
        takes, returns = self._paces[0].per_second(), self._paces[1].per_second()
        empty_in = 0.0 if free == 0 else free / (takes - returns) if takes > returns else None
        return {
            "free": free,
            "leased": held,
            "quarantined": len(self._quarantined),
            "take_per_s": round(takes, 3),
            "return_per_s": round(returns, 3),
            "empty_in_s": empty_in,
        }

    def _predict(self, ends: float) -> None:
        """Every ``prediction_every`` seconds: the pool's ``empty_in_s`` against the run's time left (said once)."""
        every = max(0.5, float(self.prediction_every))  # never a busy loop on the service
        while ends - time.monotonic() > every:
            gevent.sleep(every)
            left = ends - time.monotonic()
            try:
                pool = self._service.pool() if self._service is not None else self._pool_here()
            except SeedingError as exc:
                logger.debug("%s", exc)  # the service is away: the claims say so loudly enough
                continue
            empty_in = pool.get("empty_in_s")
            if isinstance(empty_in, int | float) and empty_in < left:
                logger.warning(
                    "%s: the pool will have no free user in about %.0f s, before the run's remaining %.0f s "
                    "(%s free, %s leased, %s quarantined; %s taken/s, %s returned/s over the last minute); "
                    "seed more users, or give them back sooner",
                    self._service.url if self._service is not None else self.dump,
                    empty_in,
                    left,
                    pool.get("free"),
                    pool.get("leased"),
                    pool.get("quarantined"),
                    pool.get("take_per_s"),
                    pool.get("return_per_s"),
                )
                return

    def _wanted(self, runner: Runner) -> int:
        """Virtual users this feeder must serve: the run's, or those of the classes declaring its profile."""
        counts = getattr(runner, "target_user_classes_count", None) or _class_counts(
            runner.user_classes, runner.target_user_count
        )
        profiled = {
            user_class.__name__: getattr(user_class, "seeds_profile", None)
            for user_class in runner.user_classes
            if getattr(user_class, "seeds_profile", None) is not None
        }
        if self.profile is None:  # the classes that declare a profile take their users elsewhere
            return runner.target_user_count - sum(counts.get(name, 0) for name in profiled)
        return sum(counts.get(name, 0) for name, profile in profiled.items() if profile == self.profile)

    def _install(self, environment: Environment, assignment: Assignment, seeds: SeedsResult) -> None:
        """Make ``seeds`` the ones served, numbered afresh for a new test run."""
        served = FeederSeeds.model_construct(users=seeds.users)
        served._source = seeds._source
        served._feeder = self
        self._seeds = served
        self._assignment = assignment
        self._numbers = NumberPool()
        self._pool = assignment.pool()
        self._live.clear()
        self._quarantined.clear()
        self._paces = (Pace(), Pace())
        self._random = random.Random(f"{assignment.seed}:{assignment.slot}:{assignment.generation}")
        environment.seeds = served  # type: ignore[attr-defined]  # ours: Locust's Environment has none
        self._ready.set()

    def _on_quitting(self, **_: Any) -> None:
        if self._predicting is not None:
            self._predicting.kill(block=False)
        self._stop_receiving()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _take_pooled(self, assignment: Assignment) -> int | None:
        """A position from the pool: the master's, asked for over the wire, or this process's."""
        if isinstance(self._runner, WorkerRunner):
            return self._claim_from_master(assignment)
        position = self._pool.take()
        if position is not None:
            self._paces[0].add()
        return position


def _class_counts(user_classes: list[type[User]], users: int) -> dict[str, int]:
    """How Locust's dispatcher will split ``users`` among the classes (at test start it has not yet):
    ``fixed_count`` classes first, the rest by weight in the order of its Kullback-Leibler generator."""
    counts = {user_class.__name__: 0 for user_class in user_classes}
    left = users
    for user_class in user_classes:
        if user_class.fixed_count:
            counts[user_class.__name__] = taken = min(user_class.fixed_count, left)
            left -= taken
    weighted = [(c.__name__, c.weight) for c in user_classes if not c.fixed_count and c.weight > 0]
    if not weighted or left <= 0:
        return counts
    try:
        from locust.dispatch import _kl_generator  # the dispatcher's own order, so the counts are its
    except ImportError:  # another Locust: shares rounded down, the remainders to the largest
        total = sum(weight for _, weight in weighted)
        shares = {name: left * weight / total for name, weight in weighted}
        for name, share in shares.items():
            counts[name] += int(share)
        rest = left - sum(int(share) for share in shares.values())
        for name in sorted(shares, key=lambda n: shares[n] - int(shares[n]), reverse=True)[:rest]:
            counts[name] += 1
        return counts
    order = _kl_generator(weighted)
    for _ in range(left):
        drawn = next(order)
        if drawn is not None:
            counts[drawn] += 1
    return counts
