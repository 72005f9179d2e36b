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


class _Steps:
    """A limit that the test sets by hand, standing in for an adaptive one (``limit`` is read on change)."""

    maximum = 400

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def sample(self, now: float, round_trip: float, *, failed: bool = False, in_flight: int = 0) -> bool:
        return False

    def back_off(self) -> bool:
        return False


async def test_users_are_admitted_in_arrival_order_and_only_as_many_as_fit() -> None:
    limit = _Steps(2)
    slots = _Slots(limit)
    await slots.admit()
    await slots.admit()  # two users in progress: the limit is full
    admitted: list[int] = []

    async def user(number: int) -> None:
        await slots.admit()
        admitted.append(number)

    waiting = [asyncio.create_task(user(n)) for n in range(10)]
    await asyncio.sleep(0)
    parked = list(slots._admitting)
    for _ in range(50):  # an adaptive limit that moves without making room wakes nobody
        slots._set_cap()
        await asyncio.sleep(0)
    assert admitted == [] and len(slots._admitting) == 10
    assert all(now is before for now, before in zip(slots._admitting, parked, strict=True))  # none woken to wait again
    slots.user_done()
    await asyncio.sleep(0)
    assert admitted == [0]  # one place, the first to come
    limit.limit = 5
    slots._set_cap()  # room for three more
    await asyncio.sleep(0)
    assert admitted == [0, 1, 2, 3]
    for task in waiting[4:]:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)


async def test_a_user_cancelled_as_it_is_admitted_passes_its_place_on() -> None:
    slots = _Slots(1)
    await slots.admit()
    cancelled = asyncio.create_task(slots.admit())
    waiting = asyncio.create_task(slots.admit())
    await asyncio.sleep(0)
    slots.user_done()  # the place goes to `cancelled`...
    cancelled.cancel()  # ...cancelled before it runs: the place must pass on
    await asyncio.wait_for(waiting, timeout=5)
    assert cancelled.cancelled() and slots._users == 1
