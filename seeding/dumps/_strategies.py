"""How consumers hand out a dump's users: one table of strategies for Locust's feeder and the service.

unique    dump order, each user to one holder (a virtual user, a client of the service)
shuffle   as unique, in an order seeded per run (``shuffled``)
cycle     dump order, wrapping around
random    any user, with replacement
zipf:S    any user, with replacement, user ``i`` drawn with weight (i + 1)^−S (default S = 1):
          a few hot users get most hand-outs, as in production
lease     dump order, each user to one holder until it gives it back (or quarantines it); every
          holder asks the one pool, so a holder that vanishes can have its users taken back
          (Locust's feeder; the service leases through ``POST …/leases``, not ``/next``)

A strategy is a row: whether it is exclusive (each user to one holder, so users run out) and its
order, position → dump index (None: drawn instead, uniformly or by the row's ``weight``). A row
may take a parameter after a colon (``zipf:1.1``). Locust's feeder numbers positions across
workers, the service counts them per dump and export writes the weights; all read only the row,
so a new strategy is a row here.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

__all__ = ["STRATEGIES", "Order", "Strategy", "StrategySpec", "exclusive", "shuffled", "strategy_spec"]

Strategy = str  # a row's name, with its parameter when it takes one ("zipf:1.1")


class Order(Protocol):
    """Position → dump index. Exclusive strategies' orders are permutations of ``0..count-1``."""

    def __getitem__(self, position: int, /) -> int: ...


@dataclass(frozen=True)
class StrategySpec:
    name: Strategy
    exclusive: bool  # each seeded user to one holder at a time: they run out
    order: Callable[[int, int], Order] | None  # (count, seed) → its order; None: any user, drawn at random
    # Drawn rows: (dump index, parameter) → the index's relative weight; None: all alike.
    weight: Callable[[int, float], float] | None = None
    parameter: float | None = None  # the row's default; "name:value" sets another
    parameter_name: str = ""
    # Held until given back, every position from one pool (no worker's private stripe): a lost
    # holder's users can come back, and a quarantined one never does.
    leased: bool = False

    def weights(self, count: int) -> list[float] | None:
        """Each dump index's relative weight under a drawn strategy that weighs them (None: all alike)."""
        if self.weight is None or self.parameter is None:
            return None
        return [self.weight(index, self.parameter) for index in range(count)]

    def draw(self, count: int, rng: random.Random) -> int:
        """A dump index drawn as this strategy draws them (``count`` > 0)."""
        if self.weight is None or self.parameter is None:
            return rng.randrange(count)
        cumulative = _cumulative(self.name, self.parameter, count)
        return min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), count - 1)


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


def _zipf(index: int, exponent: float) -> float:
    return math.pow(index + 1, -exponent)


_TABLE: dict[str, StrategySpec] = {
    spec.name: spec
    for spec in (
        StrategySpec("unique", exclusive=True, order=lambda count, seed: range(count)),
        StrategySpec("shuffle", exclusive=True, order=shuffled),
        StrategySpec("cycle", exclusive=False, order=lambda count, seed: _Wrapping(count)),
        StrategySpec("random", exclusive=False, order=None),
        StrategySpec("zipf", exclusive=False, order=None, weight=_zipf, parameter=1.0, parameter_name="exponent"),
        StrategySpec("lease", exclusive=True, order=lambda count, seed: range(count), leased=True),
    )
}
STRATEGIES: tuple[str, ...] = tuple(_TABLE)


@functools.lru_cache(maxsize=16)
def _cumulative(name: str, parameter: float, count: int) -> list[float]:
    spec = _TABLE[name.partition(":")[0]]
    assert spec.weight is not None
    return list(itertools.accumulate(spec.weight(index, parameter) for index in range(count)))


def strategy_spec(name: str) -> StrategySpec:
    """The row of ``name`` (``zipf:1.1``: with its parameter); ``ValueError`` in one line otherwise."""
    base, colon, value = name.partition(":")
    spec = _TABLE.get(base)
    if spec is None:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)} (zipf:S sets the exponent), not {name!r}")
    if not colon:
        return spec
    if spec.parameter is None:
        raise ValueError(f"strategy {base!r} takes no parameter, not {name!r}")
    try:
        parameter = float(value)
    except ValueError:
        raise ValueError(f"strategy {name[:40]!r}: the {spec.parameter_name} must be a number") from None
    if not math.isfinite(parameter) or parameter <= 0:
        raise ValueError(f"strategy {name[:40]!r}: the {spec.parameter_name} must be greater than 0")
    return replace(spec, name=f"{base}:{parameter:g}", parameter=parameter)


def exclusive(strategy: str) -> bool:
    """Whether ``strategy`` gives each seeded user to one holder only (so users run out)."""
    return strategy_spec(strategy).exclusive
