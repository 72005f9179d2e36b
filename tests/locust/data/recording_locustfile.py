"""A locustfile for tests: every virtual user records the seeded user it got, then reads it.

Configured by environment variables: SEEDS_DUMP (the dump), SEEDS_RECORDS (a directory: one file
per process, one line ``pid index user_id`` per virtual user), SEEDS_STRATEGY, SEEDS_SEED,
SEEDS_REQUIRES, SEEDS_COURSE_STYLE (use ``environment.seeds.get_next_user()`` as the course's
locustfiles do) and, to exercise regeneration, SEEDS_PLAN with SEEDS_TARGET (the stand's HTTP URL)
and SEEDS_PROCESSES (seed it in that many processes).
"""

from __future__ import annotations

import os
from pathlib import Path

from locust import FastHttpUser, constant, events, task

from seeding.locust import SeedsFeeder, regenerate_dump

feeder = SeedsFeeder(
    os.environ["SEEDS_DUMP"],
    strategy=os.environ.get("SEEDS_STRATEGY", "unique"),  # type: ignore[arg-type]
    requires=[r for r in os.environ.get("SEEDS_REQUIRES", "").split(",") if r],
    seed=int(os.environ["SEEDS_SEED"]) if "SEEDS_SEED" in os.environ else None,
)


@events.init.add_listener
def _regenerate(environment, **_kwargs):
    if plan := os.environ.get("SEEDS_PLAN"):
        regenerate_dump(
            environment,
            plan,
            transport="http",
            target=os.environ["SEEDS_TARGET"],
            dumps_dir=Path(os.environ["SEEDS_DUMP"]).parent,
            processes=int(os.environ["SEEDS_PROCESSES"]) if "SEEDS_PROCESSES" in os.environ else None,
        )


class RecordingUser(FastHttpUser):
    wait_time = constant(0.2)

    def on_start(self) -> None:
        if os.environ.get("SEEDS_COURSE_STYLE"):  # an unchanged course locustfile: environment.seeds
            self.seed_user = self.environment.seeds.get_next_user()
            index = [user.user_id for user in self.environment.seeds.users].index(self.seed_user.user_id)
        else:
            claim = feeder.claim_for(self)
            self.seed_user, index = claim.user, claim.index
        with open(Path(os.environ["SEEDS_RECORDS"]) / f"{os.getpid()}.txt", "a") as records:
            records.write(f"{os.getpid()} {index} {self.seed_user.user_id}\n")

    @task
    def get_user(self) -> None:
        self.client.get(f"/api/v1/users/{self.seed_user.user_id}", name="/api/v1/users/[id]")
