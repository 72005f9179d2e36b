"""How consumers hand out a dump's users: one table of strategies for Locust's feeder and the service.

unique    dump order, each user to one holder (a virtual user, a client of the service)
shuffle   as unique, in an order seeded per run (``shuffled``)
cycle     dump order, wrapping around
random    any user, with replacement
"""

from __future__ import annotations

import random
from array import array
from typing import Literal, get_args

__all__ = ["STRATEGIES", "Strategy", "exclusive", "shuffled"]

Strategy = Literal["unique", "shuffle", "cycle", "random"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)

_EXCLUSIVE: frozenset[str] = frozenset({"unique", "shuffle"})


def exclusive(strategy: str) -> bool:
    """Whether ``strategy`` gives each seeded user to one holder only (so users run out)."""
    return strategy in _EXCLUSIVE


def shuffled(count: int, seed: int) -> array[int]:
    """Dump indices ``0..count-1`` in the order ``shuffle`` hands them out under ``seed``."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return array("q", order)
