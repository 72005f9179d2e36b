"""The master's side of ``SeedsFeeder``: places for workers, the pool beyond them, the dump on request.

At test start the master gives every connected worker an ``Assignment`` (its rank among the
workers) with the dump's fingerprint; a worker joining later is assigned no stripe and takes its
positions from the pool. It answers ``claim`` from that pool, takes back ``release`` only from the
worker that holds the position, and streams the users to a worker whose copy differs (``need``).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import gevent
from locust.env import Environment
from locust.runners import HEARTBEAT_INTERVAL, STATE_MISSING, STATE_RUNNING, STATE_SPAWNING, MasterRunner

from ..dumps._files import read_meta
from ..dumps._result import SeedsResult
from ._assignment import Assignment, Pace, plan_assignments
from ._feeder_state import FeederState
from ._messages import Claim, Hello, Need, Quarantine, Release
from ._shipping import fingerprint, user_chunks

__all__ = ["MasterSide"]

logger = logging.getLogger("seeding.locust")


class MasterSide(FeederState):
    """What ``SeedsFeeder`` does on the master (a mixin: the state is the feeder's)."""

    # Per test run: workers told their place, those sent the dump, and which worker holds each
    # position granted from the pool (only it may release it, once).
    _assigned: set[str]
    _shipped: set[str]
    _granted: dict[int, str]
    # Per test run: pooled positions taken back from each worker while it was missing. It may come back
    # (heartbeats resume) believing it holds them: it is told (``revoke``), and never granted them again
    # in this run, so a late release of one from it cannot free a position someone else holds.
    _revoked: dict[str, set[int]]
    _unsent: set[str]  # workers whose revocation has not been sent yet (they are still missing)
    _paces: tuple[Pace, Pace]  # pooled positions taken, given back: the pool's prediction

    def _start_workers(
        self, environment: Environment, runner: MasterRunner, seeds: SeedsResult, users: int, seed: int, generation: int
    ) -> str:
        """At test start: give each connected worker its place (and the dump's fingerprint)."""
        workers = {
            node.id: runner.get_worker_index(node.id)
            for node in runner.clients.ready + runner.clients.spawning + runner.clients.running
        }
        plan = plan_assignments(
            self.strategy,
            seeds=len(seeds.users),
            users=users,
            worker_indexes=workers.values(),
            seed=seed,
            generation=generation,
        )
        # The master serves no user itself: its copy only keeps the run's pool and generation.
        self._install(environment, replace(next(iter(plan.values())), slot=None), seeds)
        self._assigned, self._shipped, self._granted = set(), set(), {}
        self._revoked, self._unsent = {}, set()
        for client_id, index in workers.items():
            self._assign(client_id, plan[index])
        return f"over {len(workers)} workers"

    def _on_hello(self, node: str, msg: Hello) -> None:
        """A worker joining a running test gets no stripe: its users take positions from the pool."""
        runner = self._runner
        if (
            self._assignment is None
            or not isinstance(runner, MasterRunner)
            or runner.state not in (STATE_SPAWNING, STATE_RUNNING)
        ):
            return  # test start will assign it
        if node in self._assigned:
            return  # it was in the run's plan already
        if node not in runner.clients:
            return self._drop("hello", node, "not a worker of this master")
        self._assign(node, replace(self._assignment, slot=None))

    def _assign(self, client_id: str, assignment: Assignment) -> None:
        self._assigned.add(client_id)
        announce = {"fingerprint": fingerprint(self.dump), "meta": read_meta(self.dump)}
        self._send("assign", {"assignment": assignment.to_message(), **announce}, client_id)

    def _on_need(self, node: str, msg: Need) -> None:
        seeds, assignment = self._seeds, self._assignment
        if seeds is None or assignment is None or msg.generation != assignment.generation:
            return self._drop("need", node, f"generation {msg.generation} is not this test run's", stale=True)
        if node not in self._assigned:
            return self._drop("need", node, "not a worker of this test run")
        if node in self._shipped:
            return self._drop("need", node, "it was sent the seeded users of this test run already")
        self._shipped.add(node)
        logger.info("sending %d seeded users of %s to worker %s", len(seeds.users), self.dump, node)
        chunks = user_chunks(seeds)
        chunk = next(chunks, [])
        while True:
            following = next(chunks, None)
            self._send(
                "chunk",
                {"generation": assignment.generation, "lines": chunk, "last": following is None},
                node,
            )
            if following is None:
                break
            chunk = following
            gevent.sleep(0)  # let heartbeats and other workers' messages through

    def _on_claim(self, node: str, msg: Claim) -> None:
        if node not in self._assigned:
            return self._drop("claim", node, "not a worker of this test run")
        assignment = self._assignment
        current = assignment is not None and msg.generation == assignment.generation
        self._send_revocation(node)  # before any grant: the worker forgets what it lost first
        barred = self._revoked.get(node, ())
        position = self._pool.take_except(barred) if current else None
        if position is None and current and self._reclaim_from_departed():
            position = self._pool.take_except(barred)
        if position is not None:
            self._granted[position] = node
            self._paces[0].add()
        self._send("grant", {"generation": msg.generation, "ticket": msg.ticket, "position": position}, node)

    def _reclaim_from_departed(self) -> bool:
        """Positions held by workers that have left or gone missing go back to the pool (their releases never came).

        Locust marks a worker missing once it has not sent a heartbeat for ``HEARTBEAT_LIVENESS``
        intervals; from then on a release or quarantine from it is dropped (it holds nothing).
        """
        runner = self._runner
        assert isinstance(runner, MasterRunner)  # this side runs on the master only
        gone = [(position, node) for position, node in self._granted.items() if _departed(runner, node)]
        for position, node in gone:
            del self._granted[position]
            self._pool.put(position)
            self._paces[1].add()
            if node in runner.clients:  # missing, not gone: it may come back believing it holds it
                self._revoked.setdefault(node, set()).add(position)
                self._unsent.add(node)
        if gone:
            logger.info("%s: %d pooled positions held by workers that left are free again", self.dump, len(gone))
        return bool(gone)

    def _watch_workers(self) -> None:
        """Every heartbeat interval: a missing worker's positions come back (strategy lease holds them all)."""
        while True:
            gevent.sleep(HEARTBEAT_INTERVAL)
            if self._granted and self._runner is not None:
                self._reclaim_from_departed()
            for node in list(self._unsent):
                self._send_revocation(node)

    def _send_revocation(self, node: str) -> None:
        """A worker back from missing hears which of its positions were taken back (once)."""
        runner, assignment = self._runner, self._assignment
        if node not in self._unsent or assignment is None or not isinstance(runner, MasterRunner):
            return
        worker = runner.clients.get(node)
        if worker is None:
            self._unsent.discard(node)  # gone for good: nobody to tell
            return
        if worker.state == STATE_MISSING:
            return  # still away: told when it is back
        self._unsent.discard(node)
        positions = sorted(self._revoked.get(node, ()))
        logger.warning(
            "%s: worker %s is back after the master had it missing; %d pooled positions it held were "
            "freed meanwhile: telling it",
            self.dump,
            node,
            len(positions),
        )
        self._send("revoke", {"generation": assignment.generation, "positions": positions}, node)

    def _on_quarantine(self, node: str, msg: Quarantine) -> None:
        assignment = self._assignment
        if assignment is None or msg.generation != assignment.generation:
            return self._drop("quarantine", node, f"generation {msg.generation} is not this test run's", stale=True)
        if self._granted.get(msg.position) != node:
            stale = msg.position in self._revoked.get(node, ())  # freed while it was missing: routine
            return self._drop("quarantine", node, f"position {msg.position} is not held by this worker", stale=stale)
        del self._granted[msg.position]  # and never put back in this run
        self._quarantined[msg.position] = msg.reason
        index = assignment.index(msg.position)
        logger.info("%s: seeded user %d quarantined for this test run by %s: %s", self.dump, index, node, msg.reason)

    def _on_release(self, node: str, msg: Release) -> None:
        if self._assignment is None or msg.generation != self._assignment.generation:
            return self._drop("release", node, f"generation {msg.generation} is not this test run's", stale=True)
        if self._granted.get(msg.position) != node:
            stale = msg.position in self._revoked.get(node, ())  # freed while it was missing: routine
            return self._drop("release", node, f"position {msg.position} is not held by this worker", stale=stale)
        del self._granted[msg.position]
        self._pool.put(msg.position)
        self._paces[1].add()


def _departed(runner: MasterRunner, node: str) -> bool:
    worker = runner.clients.get(node)
    return worker is None or worker.state == STATE_MISSING
