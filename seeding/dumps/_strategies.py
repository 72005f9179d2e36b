"""How consumers hand out a dump's users: one table of strategies for Locust's feeder and the service.

unique    dump order, each user to one holder (a virtual user, a client of the service)
shuffle   as unique, in an order seeded per run (``shuffled``)
cycle     dump order, wrapping around
random    any user, with replacement

A strategy is a row: whether it is exclusive (each user to one holder, so users run out) and its
order, position → dump index (None: drawn at random instead). Locust's feeder numbers positions
across workers and the service counts them per dump; both read only the row, so a new strategy
is a row here (and its name in ``Strategy``).
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

__all__ = ["STRATEGIES", "Order", "Strategy", "StrategySpec", "exclusive", "shuffled", "strategy_spec"]

Strategy = Literal["unique", "shuffle", "cycle", "random"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)


class Order(Protocol):
    """Position → dump index. Exclusive strategies' orders are permutations of ``0..count-1``."""

    def __getitem__(self, position: int, /) -> int: ...


@dataclass(frozen=True)
class StrategySpec:
    name: Strategy
    exclusive: bool  # each seeded user to one holder at a time: they run out
    order: Callable[[int, int], Order] | None  # (count, seed) → its order; None: any user, drawn at random


def shuffled(count: int, seed: int) -> array[int]:
    """Dump indices ``0..count-1`` in the order ``shuffle`` hands them out under ``seed``."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return array("q", order)


@dataclass(frozen=True)
class _Wrapping:
    count: int

    def __getitem__(self, position: int, /) -> int:
        return position % self.count


_TABLE: dict[str, StrategySpec] = {
    spec.name: spec
    for spec in (
        StrategySpec("unique", exclusive=True, order=lambda count, seed: range(count)),
        StrategySpec("shuffle", exclusive=True, order=shuffled),
        StrategySpec("cycle", exclusive=False, order=lambda count, seed: _Wrapping(count)),
        StrategySpec("random", exclusive=False, order=None),
    )
}
assert tuple(_TABLE) == STRATEGIES, "every Strategy has a row"


def strategy_spec(name: str) -> StrategySpec:
    """The row of ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return _TABLE[name]
    except KeyError:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {name!r}") from None


def exclusive(strategy: str) -> bool:
    """Whether ``strategy`` gives each seeded user to one holder only (so users run out)."""
    return strategy_spec(strategy).exclusive
