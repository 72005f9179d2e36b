"""The builder's call pool: longest remaining chain first, ties by arrival, no slot ever lost."""

from __future__ import annotations

import asyncio

from seeding.engine._builder import _Slots


async def test_waiters_are_served_longest_chain_first_then_by_arrival() -> None:
    slots = _Slots(1)
    await slots.acquire(0)  # the only slot is busy
    served: list[str] = []

    async def call(name: str, chain: int) -> None:
        await slots.acquire(chain)
        served.append(name)
        await asyncio.sleep(0)
        slots.release()

    tasks = [
        asyncio.create_task(call(name, chain)) for name, chain in [("leaf", 0), ("deep", 5), ("mid", 2), ("mid2", 2)]
    ]
    await asyncio.sleep(0)  # all four are waiting now
    slots.release()
    await asyncio.gather(*tasks)
    assert served == ["deep", "mid", "mid2", "leaf"]


async def test_a_cancelled_waiter_does_not_lose_the_slot() -> None:
    slots = _Slots(1)
    await slots.acquire(0)
    cancelled = asyncio.create_task(slots.acquire(3))
    waiting = asyncio.create_task(slots.acquire(1))
    await asyncio.sleep(0)
    slots.release()  # granted to `cancelled`...
    cancelled.cancel()  # ...which is cancelled before it runs: the slot must pass on
    await asyncio.wait_for(waiting, timeout=5)
    assert cancelled.cancelled()
    slots.release()
    await asyncio.wait_for(slots.acquire(0), timeout=5)  # and the pool is whole again
