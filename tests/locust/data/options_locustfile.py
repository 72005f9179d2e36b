"""A locustfile with no seeding code but ``seeding.locust.claim_for``: the run is configured by Locust options.

Each virtual user appends ``pid index user_id`` to a file of its process in SEEDS_RECORDS.
"""

from __future__ import annotations

import os
from pathlib import Path

from locust import FastHttpUser, constant, task

import seeding.locust


class OptionsUser(FastHttpUser):
    wait_time = constant(0.2)

    def on_start(self) -> None:
        claim = seeding.locust.claim_for(self)
        self.seed_user = claim.user
        with open(Path(os.environ["SEEDS_RECORDS"]) / f"{os.getpid()}.txt", "a") as records:
            records.write(f"{os.getpid()} {claim.index} {claim.user.user_id}\n")

    @task
    def get_user(self) -> None:
        self.client.get(f"/api/v1/users/{self.seed_user.user_id}", name="/api/v1/users/[id]")
