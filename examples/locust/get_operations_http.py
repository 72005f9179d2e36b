"""Existing-user load over HTTP: each virtual user reads and spends on its own seeded credit-card account.

Run it from the repository root against the embedded stand (another terminal:
``python -m seeding.stand``)::

    locust --config examples/locust/get_operations_http.conf

Seeding is configured in the ``.conf`` with Locust options (``seeds-plan``, ``seeds-users``,
``seeds-max-age``, …), so this file holds no seeding code but one call. The first run seeds
``dumps/get-operations_seeds.json`` from ``plans/get-operations.yaml``, sized to the run's
``--users`` (the master does it once, in a subprocess); later runs reuse it while it is under a
day old and was made on the same ``--host`` from the same plan and user count. By hand:
``python -m seeding get-operations --users 10 --transport http --http-url http://localhost:8003``.
"""

from __future__ import annotations

import random

from locust import FastHttpUser, between, task

import seeding.locust


class CreditCardCustomer(FastHttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        # One call: this virtual user's own seeded user, unique across every --processes worker.
        self.account = seeding.locust.user_for(self).credit_card_accounts[0]

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
                "cardId": self.account.first_card("PHYSICAL").card_id,  # opened with the account
                "accountId": self.account.account_id,
                "category": random.choice(["taxi", "restaurants", "supermarkets"]),
            },
        )
