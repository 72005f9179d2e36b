"""Which seeded user a virtual user gets: a global position from Locust's worker index and count.

Every process numbers its own virtual users ``k = 0, 1, 2, …`` (a stopped user's number goes to
the next one spawned). The worker ranked ``w`` of ``N`` (ranks are Locust's worker indices in
order) maps its ``k`` to the global position ``k * N + w``: no two workers can meet, and none has
to ask anyone. Locust's dispatcher gives each worker ``users // N`` or one more virtual user, so
the first ``rounds = min(users, seeds) // N`` numbers of every worker are striped; the few extra
users (fewer than ``N`` in all) and users added later take a position from the master's pool
``[rounds * N, seeds)``. Under ``unique`` a dump with as many seeded users as virtual users is
therefore always enough, whatever worker the dispatcher gives the extra users to.

The strategy then turns a position into a dump index:

    unique    the position itself; no position left → SeedsExhaustedError
    shuffle   a permutation of the dump seeded once per run (the same on every worker), then as unique
    cycle     position modulo the dump's size (users share seeded users once it wraps)
    random    no position: any seeded user, drawn per virtual user
    lease     as unique, with no stripes (``rounds`` 0): every position comes from the master's
              pool, which knows each holder, so a vanished worker's users come back to it

(Which is which is the table of strategies, ``seeding/dumps/_strategies.py``: exclusive or not, and its
order; nothing here names a strategy.)
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Container, Iterable
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Annotated, Any

from pydantic import Field, StrictInt, TypeAdapter

from ..dumps._strategies import STRATEGIES, Order, Strategy, strategy_spec

__all__ = ["STRATEGIES", "Assignment", "NumberPool", "Pace", "Strategy", "plan_assignments"]


# The types an Assignment's fields must have when one arrives in a message (ints, not bools or text).
_Count = Annotated[StrictInt, Field(ge=0)]


class NumberPool:
    """The smallest free number of ``[start, stop)`` (``stop=None``: unbounded); freed numbers come back.

    ``oldest=True`` hands out the least recently used instead (never-used numbers, then freed ones
    in the order they came back), as leases do: a held user's neighbours are not reused first.
    """

    def __init__(self, start: int = 0, stop: int | None = None, *, oldest: bool = False) -> None:
        self._next = start
        self._stop = stop
        self._free: list[int] = []
        self._returned: deque[int] | None = deque() if oldest else None

    def take(self) -> int | None:
        """The smallest (or least recently used) free number, or None when all of a bounded pool are taken."""
        if self._returned is not None:
            if self._stop is not None and self._next >= self._stop:
                return self._returned.popleft() if self._returned else None
        elif self._free:
            return heapq.heappop(self._free)
        if self._stop is not None and self._next >= self._stop:
            return None
        self._next += 1
        return self._next - 1

    def put(self, number: int) -> None:
        """Give ``number`` back (it must have come from ``take``)."""
        if self._returned is not None:
            self._returned.append(number)
        else:
            heapq.heappush(self._free, number)

    def take_except(self, barred: Container[int]) -> int | None:
        """As ``take``, skipping the numbers in ``barred`` (they stay free, in their place, for others)."""
        skipped: list[int] = []
        number = self.take()
        while number is not None and number in barred:
            skipped.append(number)
            number = self.take()
        for back in reversed(skipped):  # where they were: first in line
            if self._returned is not None:
                self._returned.appendleft(back)
            else:
                heapq.heappush(self._free, back)
        return number


class Pace:
    """Events per second over the last minute (or since the first, when sooner), as the service's pool counts."""

    WINDOW = 60.0

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self._since = time.monotonic()

    def add(self) -> None:
        self._times.append(time.monotonic())

    def per_second(self) -> float:
        now = time.monotonic()
        while self._times and self._times[0] <= now - self.WINDOW:
            self._times.popleft()
        return len(self._times) / min(self.WINDOW, max(1.0, now - self._since))


@dataclass(frozen=True)
class Assignment:
    """What one process needs to turn its virtual users' numbers into dump indices.

    ``slot`` is the worker's rank among the ``workers`` of the run, or None for a worker that
    joined a running test: all of its users then take positions from the master's pool.
    ``generation`` numbers the master's test runs. An inconsistent one raises ``ValueError``.
    """

    strategy: Strategy
    seeds: Annotated[StrictInt, Field(ge=1)]
    workers: Annotated[StrictInt, Field(ge=1)] = 1
    slot: _Count | None = 0
    rounds: _Count = 0
    seed: StrictInt = 0
    generation: _Count = 0

    def __post_init__(self) -> None:
        strategy_spec(self.strategy)  # ValueError naming the known ones
        if min(self.rounds, self.generation) < 0 or min(self.seeds, self.workers) < 1:
            raise ValueError("seeds and workers must be >= 1, rounds and generation >= 0")
        if self.slot is not None and not 0 <= self.slot < self.workers:
            raise ValueError(f"slot {self.slot} is not a rank among {self.workers} workers")
        if self.rounds * self.workers > self.seeds:
            raise ValueError(f"{self.rounds} rounds of {self.workers} workers need more than {self.seeds} seeds")

    @property
    def unique(self) -> bool:
        """Whether no two live virtual users may hold one seeded user."""
        return strategy_spec(self.strategy).exclusive

    @property
    def leased(self) -> bool:
        """Whether every position is held until given back, all from the one pool."""
        return strategy_spec(self.strategy).leased

    @property
    def drawn(self) -> bool:
        """Whether users are drawn at random (no positions at all)."""
        return strategy_spec(self.strategy).order is None

    def position(self, number: int) -> int | None:
        """The striped position of this process's user ``number``; None when it must ask the pool.

        Shared strategies stripe without bound (their order wraps); exclusive ones stripe the
        first ``rounds`` numbers and take the rest from the pool.
        """
        if self.drawn:
            return None
        if not self.unique:
            return number * self.workers + (self.slot or 0)
        if self.slot is None or number >= self.rounds:
            return None
        return number * self.workers + self.slot

    def pool(self) -> NumberPool:
        """The master's (or the local runner's) pool of positions beyond the striped rounds."""
        start = self.rounds * self.workers
        return NumberPool(start, max(start, self.seeds) if self.unique else start, oldest=self.leased)

    def pooled(self, position: int) -> bool:
        """Whether ``position`` is one the pool can hand out (a grant outside it is forged)."""
        return self.unique and self.rounds * self.workers <= position < self.seeds

    def index(self, position: int) -> int:
        """The dump index for ``position`` (below ``seeds`` for the exclusive strategies)."""
        return self._order[position]

    @cached_property
    def _order(self) -> Order:
        order = strategy_spec(self.strategy).order
        if order is None:
            raise ValueError(f"strategy {self.strategy!r} draws users at random: there are no positions")
        return order(self.seeds, self.seed)

    def to_message(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_message(cls, data: Any) -> Assignment:
        """The assignment in ``data``; ``pydantic.ValidationError`` for a wrong type or range."""
        return _ASSIGNMENT.validate_python(data)


_ASSIGNMENT = TypeAdapter(Assignment)


def plan_assignments(
    strategy: Strategy,
    *,
    seeds: int,
    users: int,
    worker_indexes: Iterable[int],
    seed: int,
    generation: int = 0,
) -> dict[int, Assignment]:
    """The master's plan: Locust worker index → that worker's ``Assignment`` (ranked by index).

    Ranking instead of using the index itself keeps positions dense when a worker has left and
    indices have gaps.
    """
    ranked = sorted(set(worker_indexes))
    workers = len(ranked)
    if not workers:
        return {}
    rounds = 0 if strategy_spec(strategy).leased else min(users, seeds) // workers
    return {
        index: Assignment(strategy, seeds, workers, slot, rounds, seed, generation) for slot, index in enumerate(ranked)
    }
