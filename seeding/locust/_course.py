"""The course's locustfiles, made safe across processes, with no line of theirs changed.

A course locustfile calls ``build()`` on the master or local runner and ``load()`` in every
process, both in an ``events.init`` listener, then ``environment.seeds.get_next_user()`` in each
virtual user's ``on_start``. Taken literally that is unsafe twice over under ``--processes`` or
master + workers: every process counts from user 0 of its own copy (the same users twice), and a
worker's ``load()`` runs before the master has finished seeding (a stale or missing file).

So inside Locust, ``SeedsScenario.load()`` returns the seeds of a ``SeedsFeeder`` (strategy
``unique``) instead of the file: nothing is read at ``init``; at test start the master opens the
dump it has just seeded, checks it and gives each worker its place and the dump (``_shipping``);
``get_next_user()`` waits until the seeds are there and claims through the feeder, so no seeded
user goes to two virtual users of the run. Workers never seed (``build()`` is a no-op there).

This module is imported by ``import seeding`` when Locust is already loaded, which is before
Locust fires ``init``, so the environment is known when ``load()`` runs inside that event.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import STATE_INIT, MasterRunner, WorkerRunner

from ._feeder import SeedsFeeder

__all__ = ["in_locust_worker", "listen_before_seeding", "served_seeds"]

logger = logging.getLogger("seeding.locust")

_environment: Environment | None = None
_feeders: dict[Path, SeedsFeeder] = {}
_warned: set[Path] = set()


def _remember(environment: Environment, **_: Any) -> None:
    global _environment
    _environment = environment


events.init.add_listener(_remember)


def in_locust_worker() -> bool:
    """Whether this process is a Locust worker (which must never seed: its master does)."""
    return _environment is not None and isinstance(_environment.runner, WorkerRunner)


def served_seeds(dump: Path) -> Any | None:
    """``environment.seeds`` for ``dump``, served across processes; None outside ``init`` or later.

    None (with one loud line) when Locust has not fired ``init`` yet, e.g. ``load()`` at module
    level: the caller then reads the file as the course did, unique in this process only.
    """
    if _environment is None:
        _warn_once(dump, "ran before Locust's init event")
        return None
    feeder = _feeders.get(dump)
    if feeder is None:
        runner = _environment.runner
        if runner is not None and runner.state != STATE_INIT:  # test_start has fired: a feeder would never serve
            _warn_once(dump, "ran after the test started")
            return None
        feeder = _feeders[dump] = SeedsFeeder(dump, strategy="unique")
    return feeder.attach(_environment)


def listen_before_seeding(dump: Path) -> None:
    """On the master, before ``build()`` seeds: the feeder of ``dump`` made now, so its messages are registered.

    Workers greet the master as soon as their ``load()`` runs, while the master may still be seeding
    in its own ``init`` listener; a message type not yet registered is logged by Locust as unknown
    and lost. The feeder opens the dump only at test start, so making it before the dump exists is safe.
    """
    environment = _environment
    runner = environment.runner if environment is not None else None
    if environment is None or not isinstance(runner, MasterRunner) or runner.state != STATE_INIT:
        return  # only a master has workers to hear
    feeder = _feeders.get(dump)
    if feeder is None:
        feeder = _feeders[dump] = SeedsFeeder(dump, strategy="unique")
    feeder.attach(environment, runner)


def _warn_once(dump: Path, when: str) -> None:
    """The one loud line of a load that cannot be served across processes: why, and what to change."""
    if dump in _warned:
        return
    _warned.add(dump)
    logger.warning(
        "%s: the dump was loaded (SeedsScenario.load() or load_seeds_result()) but it %s, so each process "
        "reads the file as it is and hands out users from 0 on its own; load it in an @events.init listener "
        "to get the master's fresh dump and users unique across processes",
        dump,
        when,
    )
