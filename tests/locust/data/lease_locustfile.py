"""A locustfile for lease tests: every virtual user leases a seeded user, holds it a short random while,
gives it back (``seeding.locust.release``) and leases another; every hold is written down.

Configured by environment variables: SEEDS_DUMP (a dump or a service URL), SEEDS_RECORDS (a
directory: one file per process, lines ``pid index start|end|quarantine unix-time``; a hold is
written after it is granted and its end before it is given back, so written holds lie inside the
real ones), SEEDS_QUARANTINE (the index its first holder quarantines), SEEDS_WHEN_EMPTY, SEEDS_TTL
(a service lease's), SEEDS_HOLD (the longest hold, seconds) and SEEDS_PREDICT_EVERY (seconds between
looks at a service pool's prediction).
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from locust import FastHttpUser, constant, task

import seeding.locust
from seeding.locust import SeedsFeeder

feeder = SeedsFeeder(
    os.environ["SEEDS_DUMP"],
    strategy="lease",
    when_empty=os.environ.get("SEEDS_WHEN_EMPTY", "wait:20"),
    lease_ttl=float(os.environ.get("SEEDS_TTL", "30")),
)
feeder.prediction_every = float(os.environ.get("SEEDS_PREDICT_EVERY", "10"))  # a timed run's look at the pool


def record(index: int, event: str) -> None:
    with open(Path(os.environ["SEEDS_RECORDS"]) / f"{os.getpid()}.txt", "a") as records:
        records.write(f"{os.getpid()} {index} {event} {time.time():.6f}\n")


class LeasingUser(FastHttpUser):
    wait_time = constant(0.05)
    index: int | None = None

    def on_start(self) -> None:
        self._lease()

    def _lease(self) -> None:
        claim = feeder.claim_for(self)
        self.index, self.seed_user = claim.index, claim.user
        record(claim.index, "start")
        self.until = time.monotonic() + random.uniform(0.1, float(os.environ.get("SEEDS_HOLD", "0.4")))

    @task
    def use(self) -> None:
        self.client.get(f"/api/v1/users/{self.seed_user.user_id}", name="/api/v1/users/[id]")
        if str(self.index) == os.environ.get("SEEDS_QUARANTINE"):
            # Written down, then forgotten before the call (which may wait on a service): a user stopped
            # during the call must not write its end a second time in on_stop.
            record(self.index, "quarantine")
            self.index = None
            seeding.locust.quarantine(self, "broken by the test")
            self._lease()
        elif time.monotonic() >= self.until:
            record(self.index, "end")
            self.index = None
            seeding.locust.release(self)
            self._lease()

    def on_stop(self) -> None:
        if self.index is not None:
            record(self.index, "end")
