"""Existing-user load over HTTP: each virtual user reads and spends on its own seeded user's account.

Run it from the repository root against the embedded stand (another terminal:
``python -m seeding.stand``)::

    locust --config examples/locust/get_operations_http.conf

The first run seeds ``dumps/scenario-11-2_seeds.json`` from ``plans/scenario-11-2.yaml`` (the
master does it once, in a subprocess); later runs reuse it while it is under a day old and was made
on the same ``--host`` from the same plan. To make it by hand instead:
``python -m seeding plans/scenario-11-2.yaml --transport http --http-url http://localhost:8003``.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from locust import FastHttpUser, between, events, task

from seeding import dump_path
from seeding.locust import SeedsFeeder, regenerate_dump

PLAN = Path(__file__).resolve().parents[2] / "plans" / "scenario-11-2.yaml"

# One seeded user per virtual user, across every --processes worker; the run stops at start if the
# dump has fewer users than --users or its users have no debit-card account.
feeder = SeedsFeeder(dump_path("scenario-11-2"), strategy="unique", requires=["debit_card_accounts.physical_cards"])


@events.init.add_listener
def seed_before_run(environment, **_kwargs):
    regenerate_dump(environment, PLAN, transport="http", max_age=timedelta(days=1))


class DebitCardCustomer(FastHttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.account = feeder.user_for(self).debit_card_accounts[0]

    @task(3)
    def get_operations(self) -> None:
        self.client.get(f"/api/v1/operations?accountId={self.account.account_id}", name="/api/v1/operations")

    @task(1)
    def get_operations_summary(self) -> None:
        self.client.get(
            f"/api/v1/operations/operations-summary?accountId={self.account.account_id}",
            name="/api/v1/operations/operations-summary",
        )

    @task(1)
    def make_purchase(self) -> None:
        self.client.post(
            "/api/v1/operations/make-purchase-operation",
            json={
                "status": "COMPLETED",
                "amount": round(random.uniform(100, 1000), 2),
                "cardId": self.account.physical_cards[0].card_id,
                "accountId": self.account.account_id,
                "category": random.choice(["taxi", "restaurants", "supermarkets"]),
            },
        )
