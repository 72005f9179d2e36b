"""Hundreds of calls in flight through one client: the seeder's normal load, not an edge case."""

from __future__ import annotations

import asyncio
import time

from seeding.gateway import GatewayClient, OperationType
from seeding.stand import Stand

IN_FLIGHT = 300


async def test_300_concurrent_calls_complete_without_errors(stand: Stand, client: GatewayClient) -> None:
    stand.faults.latency_ms = 20  # every call waits at the stand, so they really overlap
    started = time.monotonic()
    users = await asyncio.gather(
        *(
            client.create_user(
                email=f"load-{i}@example.com", last_name="L", first_name="F", middle_name="M", phone_number="1"
            )
            for i in range(IN_FLIGHT)
        )
    )
    assert len({u.id for u in users}) == IN_FLIGHT
    assert [u.email for u in users] == [f"load-{i}@example.com" for i in range(IN_FLIGHT)]
    # 300 calls at once: a client that serialised them would peak at 1; an in-process stand on a loaded
    # 2-core machine answers some before the last are sent, so the peak is tens, not 300.
    assert stand.faults.peak_in_flight >= 20, "the client serialised its calls"

    fetched = await asyncio.gather(*(client.get_user(u.id) for u in users))
    assert fetched == users
    assert time.monotonic() - started < 15


async def test_concurrent_operations_on_separate_accounts(stand: Stand, client: GatewayClient) -> None:
    """Mixed RPCs at once, one account each (the real gateway loses updates within an account)."""
    users = await asyncio.gather(
        *(
            client.create_user(email=f"mix-{i}@example.com", last_name="L", first_name="F", middle_name="M")
            for i in range(50)
        )
    )
    accounts = await asyncio.gather(*(client.open_debit_card_account(u.id) for u in users))
    operations = await asyncio.gather(
        *(
            client.make_operation(t, account_id=a.id, card_id=a.cards[0].id, amount=10.0, category="c")
            for a in accounts
            for t in (OperationType.TOP_UP, OperationType.PURCHASE)
        )
    )
    assert len(operations) == 100
    summaries = await asyncio.gather(*(client.get_operations_summary(a.id) for a in accounts))
    assert {(s.spent_amount, s.received_amount) for s in summaries} == {(-10.0, 10.0)}
