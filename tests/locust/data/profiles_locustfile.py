"""Two user classes, each taking seeded users of its profile (``seeds_profile``) through ``seeding.locust.user_for``.

Configured by Locust options (``--seeds-dump``, ``--seeds-profile``); each virtual user appends
``pid class profile user_id`` to a file of its process in SEEDS_RECORDS.
"""

from __future__ import annotations

import os
from pathlib import Path

from locust import FastHttpUser, constant, task

import seeding.locust


class _Recording(FastHttpUser):
    abstract = True
    wait_time = constant(0.2)

    def on_start(self) -> None:
        self.seed_user = seeding.locust.user_for(self)
        with open(Path(os.environ["SEEDS_RECORDS"]) / f"{os.getpid()}.txt", "a") as records:
            records.write(f"{os.getpid()} {type(self).__name__} {self.seed_user.profile} {self.seed_user.user_id}\n")

    @task
    def get_user(self) -> None:
        self.client.get(f"/api/v1/users/{self.seed_user.user_id}", name="/api/v1/users/[id]")


class LightUser(_Recording):
    seeds_profile = "light"
    weight = 3


class HeavyUser(_Recording):
    seeds_profile = "heavy"
    weight = 1
