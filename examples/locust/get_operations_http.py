"""Existing-user load over HTTP: each virtual user reads and spends on its own seeded credit-card account.

Run it from the repository root against a stand (another terminal: ``seeding stand``)::

    locust --config examples/locust/get_operations_http.conf --host http://127.0.0.1:8003

The gateway is ``--host`` (or ``LOCUST_HOST``) and nothing else: without it the run stops before
seeding, so a shared machine's port 8003 is never loaded by accident. Seeding is configured in the
``.conf`` with Locust options (``seeds-plan``, ``seeds-users``, ``seeds-max-age``, …), so this file
holds no seeding code but one call. The first run seeds ``dumps/get-operations_seeds.json`` from
``plans/get-operations.yaml``, sized to the run's ``--users`` (the master does it once, in a
subprocess); later runs reuse it while it is under a day old and was made on the same ``--host``
from the same plan and user count. By hand:
``seeding get-operations --users 10 --transport http --http-url http://127.0.0.1:8003``.
"""

from __future__ import annotations

import random
import sys

from locust import FastHttpUser, between, events, task

import seeding.locust


@events.init_command_line_parser.add_listener
def require_a_gateway(parser, **_kwargs) -> None:
    """No default gateway. Checked as Locust reads its options: before seeding, before --processes forks."""
    options, _ = parser.parse_known_args()
    if not options.host and not {"-h", "--help"} & set(sys.argv):
        parser.error(
            "get_operations_http: no gateway: give --host http://HOST:PORT (or LOCUST_HOST); "
            "`seeding stand` starts a stand at http://127.0.0.1:8003"
        )


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
