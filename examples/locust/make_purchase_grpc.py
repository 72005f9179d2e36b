"""Existing-user load over gRPC: purchases on each virtual user's own seeded credit-card account.

Run it from the repository root against a stand (another terminal: ``seeding stand``)::

    locust --config examples/locust/make_purchase_grpc.conf --host 127.0.0.1:9003

``--host`` (or ``LOCUST_HOST``) is the gRPC target, and nothing else is: without it the run stops
before seeding, so a shared machine's port 9003 is never loaded by accident. Seeding is set up in
Python here (the HTTP example does it with Locust options instead): the first run seeds
``dumps/make-purchase-operation_seeds.json`` over gRPC, a dump of its own, so running the two
examples in turn never re-seeds either. By hand:
``seeding make-purchase-operation --transport grpc --grpc-target 127.0.0.1:9003``.
The generated synchronous stubs run under gevent once ``init_gevent()`` has been called.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import grpc
import grpc.experimental.gevent
from locust import User, between, events, task

from contracts.services.gateway.operations import (
    operations_gateway_service_pb2_grpc,
    rpc_get_operations_pb2,
    rpc_make_purchase_operation_pb2,
)
from contracts.services.operations import operation_pb2
from seeding import dump_path
from seeding.locust import SeedsFeeder, regenerate_dump

grpc.experimental.gevent.init_gevent()  # before any channel exists

PLAN = Path(__file__).resolve().parents[2] / "plans" / "make-purchase-operation.yaml"

feeder = SeedsFeeder(dump_path("make-purchase-operation"), strategy="unique", requires=["credit_card_accounts"])


@events.init_command_line_parser.add_listener
def require_a_gateway(parser, **_kwargs) -> None:
    """No default gateway. Checked as Locust reads its options: before seeding, before --processes forks."""
    options, _ = parser.parse_known_args()
    if not options.host and not {"-h", "--help"} & set(sys.argv):
        parser.error(
            "make_purchase_grpc: no gateway: give --host HOST:PORT (or LOCUST_HOST); "
            "`seeding stand` starts a stand with gRPC at 127.0.0.1:9003"
        )


@events.init.add_listener
def seed_before_run(environment, **_kwargs):
    regenerate_dump(environment, PLAN, transport="grpc", max_age=timedelta(days=1))


class CreditCardCustomer(User):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.account = feeder.user_for(self).credit_card_accounts[0]
        self.channel = grpc.insecure_channel(self.host)
        self.operations = operations_gateway_service_pb2_grpc.OperationsGatewayServiceStub(self.channel)

    def on_stop(self) -> None:
        self.channel.close()

    def call(self, name: str, method, request):
        """One RPC, reported to Locust's statistics like an HTTP request."""
        started, response, error = time.perf_counter(), None, None
        try:
            response = method(request, timeout=10)
        except grpc.RpcError as exc:
            error = exc
        self.environment.events.request.fire(
            request_type="grpc",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=response.ByteSize() if response is not None else 0,
            exception=error,
            context={},
        )
        return response

    @task(2)
    def make_purchase(self) -> None:
        request = rpc_make_purchase_operation_pb2.MakePurchaseOperationRequest(
            status=operation_pb2.OPERATION_STATUS_COMPLETED,
            amount=round(random.uniform(100, 1000), 2),
            card_id=self.account.first_card("VIRTUAL").card_id,  # opened with the account: no card issued
            account_id=self.account.account_id,
            category=random.choice(["taxi", "restaurants", "supermarkets"]),
        )
        self.call("MakePurchaseOperation", self.operations.MakePurchaseOperation, request)

    @task(1)
    def get_operations(self) -> None:
        request = rpc_get_operations_pb2.GetOperationsRequest(account_id=self.account.account_id)
        self.call("GetOperations", self.operations.GetOperations, request)
