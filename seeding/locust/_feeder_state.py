"""What ``SeedsFeeder`` and its two sides share: the state they read, the messages they send.

The master's and the worker's parts (``_master``, ``_worker``) are mixins of ``SeedsFeeder``.
They read state the feeder makes in its ``__init__`` and send through its runner; this base
declares that state and holds those calls once, so that each side is typed against one
definition without importing the feeder (which imports them).
"""

from __future__ import annotations

import abc
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._messages import Kind, drop

if TYPE_CHECKING:  # annotations only: the sides import Locust themselves
    from gevent.event import Event
    from locust.env import Environment
    from locust.runners import Runner

    from ..dumps._result import SeedsResult
    from ._assignment import Assignment, NumberPool, Strategy

__all__ = ["FeederState"]

logger = logging.getLogger("seeding.locust")


class FeederState(abc.ABC):
    """The state the sides share (made by ``SeedsFeeder.__init__``) and what they call on it."""

    dump: Path
    strategy: Strategy
    profile: str | None
    ready_timeout: float
    _messages: dict[Kind, str]  # each kind's Locust message name, prefixed with the feeder's name
    _environment: Environment | None
    _ready: Event  # set once this process has its seeds for the test run
    _assignment: Assignment | None  # this process's place in the test run
    _seeds: SeedsResult | None
    _pool: NumberPool  # positions beyond the striped rounds (master and local runner)
    _quarantined: dict[int, str]  # position → reason, this test run (master, local runner)

    @property
    def _runner(self) -> Runner | None:
        return self._environment.runner if self._environment is not None else None

    def _send(self, kind: Kind, data: dict[str, Any], client_id: str | None = None) -> None:
        runner = self._runner
        assert runner is not None
        runner.send_message(self._messages[kind], data, client_id=client_id)

    def _drop(self, kind: Kind, node: str, reason: str, *, stale: bool = False) -> None:
        """One line for a message not obeyed; a stale one (from the previous test run) is routine."""
        drop(logger, str(self.dump), kind, node, reason, level=logging.DEBUG if stale else logging.WARNING)

    def _served(self, seeds: SeedsResult) -> SeedsResult:
        """The users this feeder hands out: the dump's, or its profile's (``ValueError`` naming the profiles)."""
        return seeds if self.profile is None else seeds.users_of(self.profile)

    @abc.abstractmethod
    def _install(self, environment: Environment, assignment: Assignment, seeds: SeedsResult) -> None:
        """Make ``seeds`` the ones served, numbered afresh for a new test run (``SeedsFeeder`` does)."""
