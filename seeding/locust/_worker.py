"""A worker's side of ``SeedsFeeder``: its place, the dump (its own copy or the master's), pooled claims.

A worker hears its ``Assignment`` before its first virtual user starts. It serves its own copy of
the dump when the fingerprint matches, else receives the master's users (``chunk``) into a scratch
copy named locally; claims beyond its stripe go to the master's pool (``claim`` / ``grant``).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
from gevent.event import AsyncResult

from .._exceptions import DumpError, SeedingError
from ..dumps._files import open_dump
from ._assignment import Assignment
from ._feeder_state import FeederState
from ._messages import Assign, Chunk, Grant, Revoke
from ._shipping import SeedsReceiver, fingerprint

__all__ = ["WorkerSide"]

logger = logging.getLogger("seeding.locust")


class WorkerSide(FeederState):
    """What ``SeedsFeeder`` does on a worker (a mixin: the state is the feeder's)."""

    _tickets: dict[int, tuple[AsyncResult[int | None], Assignment]]  # claims awaiting a grant
    _ticket_numbers: Iterator[int]
    _abandoned: dict[int, Assignment]  # claims that timed out: a late grant goes back
    _receiver: SeedsReceiver | None
    _receiving: int | None  # the generation being received
    _scratch: Path | None  # where received copies go
    _copies: Iterator[int]  # names the received copies: never anything from a message
    _pooled_held: dict[tuple[int, int], int]  # (generation, position) → number of each pooled claim held here
    _live: set[tuple[int, int]]  # (generation, number) of claims not given back yet
    _claims: Any  # virtual user → its claim (weak keys)

    def _on_assign(self, node: str, msg: Assign) -> None:
        environment = self._environment
        assert environment is not None
        assignment = msg.assignment
        self._ready.clear()
        self._assignment = assignment
        self._stop_receiving()
        if fingerprint(self.dump) == msg.fingerprint:
            try:
                seeds = self._served(open_dump(self.dump))
            except (DumpError, ValueError):
                pass  # changed under us: ask for the master's copy instead
            else:
                if len(seeds.users) == assignment.seeds:
                    self._install(environment, assignment, seeds)
                    return
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="seeding-locust-"))
        logger.info(
            "%s here is missing or differs from the master's; receiving its %d seeded users",
            self.dump,
            assignment.seeds,
        )
        copy = self._scratch / f"{next(self._copies)}-{self.dump.name}"
        self._receiver = SeedsReceiver(copy, count=assignment.seeds, meta=msg.meta)
        self._receiving = assignment.generation
        self._send("need", {"generation": assignment.generation})

    def _on_chunk(self, node: str, msg: Chunk) -> None:
        receiver, assignment, environment = self._receiver, self._assignment, self._environment
        if receiver is None or assignment is None or environment is None or msg.generation != self._receiving:
            stale = assignment is None or msg.generation != assignment.generation
            return self._drop("chunk", node, f"no seeded users of generation {msg.generation} are awaited", stale=stale)
        try:
            receiver.add(msg.lines)
            if not msg.last:
                return
            self._receiver = self._receiving = None
            seeds = receiver.finish()
        except DumpError as exc:
            self._stop_receiving()
            logger.error("%s", exc)
            return
        self._install(environment, assignment, seeds)

    def _stop_receiving(self) -> None:
        if self._receiver is not None:
            self._receiver.abort()
        self._receiver = self._receiving = None

    def _claim_from_master(self, assignment: Assignment) -> int | None:
        """A position from the master's pool, asked for over the wire (None: the pool is dry)."""
        ticket = next(self._ticket_numbers)
        answer: AsyncResult[int | None] = AsyncResult()
        self._tickets[ticket] = (answer, assignment)
        try:
            self._send("claim", {"generation": assignment.generation, "ticket": ticket})
            return answer.get(timeout=self.ready_timeout)
        except gevent.Timeout:
            self._abandoned[ticket] = assignment
            raise SeedingError(f"{self.dump}: the master did not answer a claim in {self.ready_timeout} s") from None
        finally:
            del self._tickets[ticket]

    def _on_grant(self, node: str, msg: Grant) -> None:
        waiting = self._tickets.get(msg.ticket)
        abandoned = self._abandoned.pop(msg.ticket, None)
        if waiting is None and abandoned is None:
            return self._drop("grant", node, f"no claim with ticket {msg.ticket} is waiting")
        answer, assignment = waiting or (None, abandoned)
        assert assignment is not None
        if msg.generation != assignment.generation:
            return self._drop("grant", node, f"generation {msg.generation} is not the claim's")
        if msg.position is not None and not assignment.pooled(msg.position):
            return self._drop("grant", node, f"position {msg.position} is not in the master's pool")
        if answer is not None:
            answer.set(msg.position)
        elif msg.position is not None:  # too late for the claim that asked: the position goes back
            self._send("release", {"generation": msg.generation, "position": msg.position})

    def _on_revoke(self, node: str, msg: Revoke) -> None:
        """The master took these pooled positions back while it had this worker missing (no heartbeat).

        Each claim holding one is forgotten: its number never comes back (so a late ``release`` of
        it sends nothing), and its virtual user's next ``user_for`` claims another user.
        """
        assignment = self._assignment
        if assignment is None or msg.generation != assignment.generation:
            return self._drop("revoke", node, f"generation {msg.generation} is not this test run's", stale=True)
        held = [(position, self._pooled_held.get((msg.generation, position))) for position in msg.positions]
        lost = {number for _, number in held if number is not None}
        for position, number in held:
            if number is not None:
                del self._pooled_held[(msg.generation, position)]
                self._live.discard((msg.generation, number))
        for user, claim in list(self._claims.items()):
            if claim._generation == msg.generation and claim._pooled and claim._number in lost:
                del self._claims[user]
        if lost:
            logger.warning(
                "%s: the master had this worker missing (no heartbeat) and gave %d of its seeded users to "
                "others meanwhile; their virtual users take other users at their next user_for()",
                self.dump,
                len(lost),
            )
        if len(lost) < len(held):
            free = [position for position, number in held if number is None][:5]
            self._drop("revoke", node, f"positions {free} are not held here", stale=True)
