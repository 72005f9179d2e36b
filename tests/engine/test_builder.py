"""The builder against the embedded stand over real sockets, on both transports."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

from seeding import BuildError, NotFoundError, SeedsPlan, SeedUserResult, TransientGatewayError, parse_plan
from seeding.engine._builder import Builder, BuildOptions
from seeding.gateway import CallLog, GatewayClient, Transport, connect
from seeding.plan._fake_data import FakeData
from seeding.stand import Stand, StandProcess

EVERY_KIND = parse_plan(
    """
users:
  count: 6
  deposit_accounts: 1
  savings_accounts: 2
  debit_card_accounts:
    count: 1
    physical_cards: 2
    virtual_cards: 1
    top_up_operations: 2
    purchase_operations: 1
    transfer_operations: 1
    cash_withdrawal_operations: 1
    fee_operations: 1
    cashback_operations: 1
    bill_payment_operations: 1
  credit_card_accounts:
    count: 2
    virtual_cards: 1
    purchase_operations: 2
"""
)


async def build(plan: SeedsPlan, client: GatewayClient, **options: Any) -> tuple[list[SeedUserResult], Builder]:
    builder = Builder(plan, client, BuildOptions(**{"seed": 7, **options}))
    done: dict[int, bytes] = {}
    await builder.run(range(plan.users.count), lambda index, user: done.__setitem__(index, user))
    assert sorted(done) == list(range(plan.users.count))
    return [SeedUserResult.model_validate_json(done[i]) for i in range(plan.users.count)], builder


def all_ids(users: list[SeedUserResult]) -> list[str]:
    ids = []
    for user in users:
        ids.append(user.user_id)
        for account in itertools.chain(*(getattr(user, name) for name, _, _ in EVERY_KIND.users.accounts())):
            ids.append(account.account_id)
            for name in ("physical_cards", "virtual_cards"):
                ids += [card.card_id for card in getattr(account, name)]
            for name, _, _ in EVERY_KIND.users.debit_card_accounts.operations():
                ids += [op.operation_id for op in getattr(account, name)]
    return ids


async def test_every_kind_is_created_exactly_as_planned(client: GatewayClient, stand: Stand) -> None:
    users, builder = await build(EVERY_KIND, client)
    plan = EVERY_KIND.users
    for user in users:
        for name, _, account_plan in plan.accounts():
            accounts = getattr(user, name)
            assert len(accounts) == account_plan.count, name
            for account in accounts:
                for card_field, _, card_plan in account_plan.cards():
                    assert len(getattr(account, card_field)) == card_plan.count
                for op_field, _, op_plan in account_plan.operations():
                    assert len(getattr(account, op_field)) == op_plan.count
    ids = all_ids(users)
    assert len(ids) == len(set(ids)), "an id appears twice in the dump"
    totals = EVERY_KIND.totals()
    assert builder.stats.done == sum(totals.values()) == builder.stats.planned
    # what the stand holds is what the dump says: nothing more was created
    assert len(stand.bank.users) == totals["users"]
    assert len(stand.bank.accounts) == totals["accounts"]
    auto_cards = 2 * 6 * (plan.debit_card_accounts.count + plan.credit_card_accounts.count)
    assert len(stand.bank.cards) == totals["cards"] + auto_cards
    assert len(stand.bank.operations) == totals["operations"]
    assert builder.stats.retries == 0 and builder.stats.failures == 0


async def test_dump_order_is_plan_order(client: GatewayClient) -> None:
    """users[i] is plan user i however calls complete: the seeded names tell the users apart."""
    users, _ = await build(EVERY_KIND, client, concurrency=7)
    fake = FakeData(EVERY_KIND, seed=7)
    for index, user in enumerate(users):
        seen = await client.get_user(user.user_id)
        expected = fake.user(index)
        assert (seen.last_name, seen.first_name, seen.phone_number) == (
            expected.last_name,
            expected.first_name,
            expected.phone_number,
        )


async def test_balances_equal_opening_plus_operations(client: GatewayClient) -> None:
    plan = parse_plan(
        "users:\n  count: 4\n  credit_card_accounts:\n    count: 1\n    top_up_operations: 3\n"
        "    purchase_operations: 4\n    fee_operations: 2\n    cashback_operations: 2\n"
    )
    users, _ = await build(plan, client)
    for user in users:
        (account,) = await client.get_accounts(user.user_id)
        operations = await client.get_operations(account.id)
        assert len(operations) == 11
        assert {op.id for op in operations} == {
            o.operation_id
            for name, _, _ in plan.users.credit_card_accounts.operations()
            for o in getattr(user.credit_card_accounts[0], name)
        }
        assert account.balance == pytest.approx(25000.0 + sum(op.amount for op in operations), abs=1e-6)
        assert all(op.status.value == "COMPLETED" for op in operations)


async def test_operation_options_status_amount_and_cards(client: GatewayClient) -> None:
    plan = parse_plan(
        """
users:
  count: 2
  debit_card_accounts:
    count: 1
    physical_cards: 1
    top_up_operations: {count: 4, amount: {min: 10, max: 20}}
    purchase_operations: {count: 2, status: FAILED}
operations:
  card: round_robin
  purchase_categories: [books]
"""
    )
    users, _ = await build(plan, client)
    for user in users:
        account_result = user.debit_card_accounts[0]
        (account,) = await client.get_accounts(user.user_id)
        operations = {op.id: op for op in await client.get_operations(account.id)}
        top_ups = [operations[o.operation_id] for o in account_result.top_up_operations]
        purchases = [operations[o.operation_id] for o in account_result.purchase_operations]
        assert all(10 <= op.amount <= 20 for op in top_ups)
        assert all(op.status.value == "FAILED" and op.category == "books" for op in purchases)
        # FAILED operations do not move the balance
        assert account.balance == pytest.approx(sum(op.amount for op in top_ups), abs=1e-6)
        # round robin: operations went through every card of the account in turn
        assert len({op.card_id for op in operations.values()}) == len(account.cards) == 3


async def test_first_card_is_the_default_card_for_operations(client: GatewayClient) -> None:
    plan = parse_plan(
        "users:\n  count: 1\n  debit_card_accounts:\n    count: 1\n    physical_cards: 1\n    top_up_operations: 3\n"
    )
    (user,), _ = await build(plan, client)
    (account,) = await client.get_accounts(user.user_id)
    operations = await client.get_operations(account.id)
    assert {op.card_id for op in operations} == {account.cards[0].id}


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_transient_faults_are_retried_to_exact_counts(transport: Transport) -> None:
    async with Stand(fail_rate=0.2, seed=3) as flaky, connect(transport, flaky.target(transport)) as client:
        users, builder = await build(EVERY_KIND, client, retries=12)
        assert builder.stats.retries > 0, "a 20% fault rate caused no retry"
        assert flaky.faults.total_injected == builder.stats.retries
        totals = EVERY_KIND.totals()
        # injected faults change nothing, so the stand holds exactly the plan: no duplicates
        assert len(flaky.bank.users) == totals["users"]
        assert len(flaky.bank.operations) == totals["operations"]
        assert len(set(all_ids(users))) == len(all_ids(users)) == sum(totals.values())


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_the_fast_first_attempt_keeps_the_retry_policy_and_its_counters(transport: Transport) -> None:
    """A stand process failing 30% of calls: every failure after a first attempt made outside tenacity
    is retried by the same policy, counted once in the stats and once in the call log."""
    with StandProcess(fail_rate=0.3, seed=5) as flaky:
        async with connect(transport, flaky.target(transport)) as client:
            client.call_log = log = CallLog()
            users, builder = await build(EVERY_KIND, client, retries=30)
    stats = builder.stats
    assert stats.retries > 20, "a 30% fault rate caused few retries"
    assert stats.failures == 0
    # every attempt either created its entity or failed transiently and was tried again
    assert stats.calls == stats.done + stats.retries == sum(rpc.calls for rpc in log.rpcs.values())
    assert sum(rpc.retried for rpc in log.rpcs.values()) == stats.retries
    assert len(set(all_ids(users))) == len(all_ids(users)) == sum(EVERY_KIND.totals().values())


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_a_call_that_keeps_failing_makes_exactly_the_policy_attempts(transport: Transport) -> None:
    plan = parse_plan("users: {count: 1}")
    with StandProcess(fail_rate=1.0, seed=1) as down:
        for retries in (0, 1, 3):
            async with connect(transport, down.target(transport)) as client:
                client.call_log = log = CallLog()
                builder = Builder(plan, client, BuildOptions(retries=retries))
                with pytest.raises(BuildError) as caught:
                    await builder.run([0], lambda i, u: None)
            assert isinstance(caught.value.cause, TransientGatewayError)
            stats = builder.stats
            assert (stats.calls, stats.retries, stats.failures) == (retries + 1, retries, 1)
            (create,) = log.rpcs.values()
            assert create.calls == create.retried == retries + 1
            # the policy's exponential waits still separate the attempts: 50 ms, 100 ms, 200 ms (+ jitter)
            assert stats.elapsed >= sum(0.05 * 2**n for n in range(retries))


class LostResponses:
    """A real client whose first CreateUser responses are lost after the gateway applied them.

    Not a mock: every call goes to the stand. This is the case the contract warns about: a retried
    CreateUser whose first attempt succeeded must not fail as a duplicate email.
    """

    def __init__(self, inner: GatewayClient, losses: int = 3) -> None:
        self.inner = inner
        self.losses = losses
        self.lost = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def create_user(self, **fields: str) -> Any:
        user = await self.inner.create_user(**fields)
        if self.lost < self.losses:
            self.lost += 1
            raise TransientGatewayError(method="CreateUser", target=self.target, status="UNAVAILABLE", detail="lost")
        return user


async def test_a_retried_create_user_never_collides_on_email(client: GatewayClient, stand: Stand) -> None:
    lossy = LostResponses(client)
    plan = parse_plan("users:\n  count: 3\n  debit_card_accounts: 1\n")
    users, builder = await build(plan, lossy)  # type: ignore[arg-type]
    assert lossy.lost == 3 and builder.stats.retries == 3
    assert len(users) == 3
    # the three lost first attempts exist on the gateway as orphans, with their own emails
    assert len(stand.bank.users) == 6
    assert len({user.email for user in stand.bank.users.values()}) == 6


async def test_a_permanent_error_fails_at_once_naming_the_user(client: GatewayClient) -> None:
    class Gone(LostResponses):
        async def create_user(self, **fields: str) -> Any:  # type: ignore[override]
            self.lost += 1
            raise NotFoundError(method="CreateUser", target=self.target, status="NOT_FOUND", detail="gone")

    gone = Gone(client)
    plan = parse_plan("users: {count: 1}")
    builder = Builder(plan, gone, BuildOptions(retries=5))  # type: ignore[arg-type]
    with pytest.raises(BuildError, match=r"plan user #0: CreateUser at .* failed: NOT_FOUND: gone") as caught:
        await builder.run([0], lambda i, u: None)
    assert gone.lost == 1, "a permanent error was retried"
    assert isinstance(caught.value.cause, NotFoundError)
    assert builder.stats.failures == 1


async def test_run_builds_only_the_indices_asked_for(client: GatewayClient) -> None:
    plan = parse_plan("users: {count: 10}")
    builder = Builder(plan, client, BuildOptions(seed=1))
    done: dict[int, bytes] = {}
    await builder.run([2, 5, 9], lambda i, u: done.__setitem__(i, u))
    assert sorted(done) == [2, 5, 9]
    assert all(orjson.loads(user)["user_id"] for user in done.values())
