"""Which profile each plan index has: an interleaving in which every prefix holds each profile's share, within 1.

Tijdeman's schedule (the chairman assignment, 1980): at the ``t``-th user, among the profiles not
ahead of their share (``t·p − c ≥ 1/(2k − 2)``), the one whose deadline ``(c + 1 − 1/(2k − 2)) / p``
comes first takes it (``c`` its users so far, ``p`` its share of the whole, ``k`` profiles); every
prefix of ``n`` users then holds ``n·p`` of each profile within ``1 − 1/(2k − 2)``. It depends on
the shares alone, so a user's profile is the same on a resumed run, in any shard, after merging and
after growing the dump. Integer shares repeat with period ``Σ shares``: one period is worked out
and looked up; other shares are worked out as far as asked, once.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

__all__ = ["ProfileSchedule"]

_MAX_PERIOD = 1_000_000  # integer shares summing beyond this are scheduled like any others


class ProfileSchedule:
    """Plan index → profile number (its position in the plan's ``profiles``)."""

    def __init__(self, shares: Sequence[float]) -> None:
        if not shares or any(share <= 0 for share in shares):
            raise ValueError("a schedule needs positive shares")
        total = sum(shares)
        self._shares = [share / total for share in shares]
        whole = all(float(share).is_integer() for share in shares)
        self._period = int(total) if whole and total <= _MAX_PERIOD else None
        self._slack = 1 / (2 * len(shares) - 2) if len(shares) > 1 else 0.0
        self._counts = [0] * len(shares)
        self._made: bytearray | list[int] = bytearray() if len(shares) <= 256 else []
        self._waiting: list[tuple[int, int]] = []  # (the user at which it becomes eligible, profile)
        self._ready: list[tuple[float, int]] | None = None  # (deadline, profile) of the eligible; None: not begun
        if self._period is not None:
            self._extend(self._period)

    def _deadline(self, j: int) -> float:
        return (self._counts[j] + 1 - self._slack) / self._shares[j]

    def _eligible(self, j: int, t: int) -> bool:
        """Whether profile ``j`` is not ahead of its share at the ``t``-th user."""
        return t * self._shares[j] - self._counts[j] >= self._slack - 1e-9

    def _release(self, j: int) -> int:
        """The first user ``t`` (past those made) at which ``j`` is eligible: ``_eligible`` is monotone in ``t``
        (its count fixed), so the real-valued bound, rounded, is checked against it exactly around there."""
        first = len(self._made) + 1
        t = max(first, math.ceil((self._counts[j] + self._slack - 1e-9) / self._shares[j]) - 1)
        while t > first and self._eligible(j, t - 1):
            t -= 1
        while not self._eligible(j, t):
            t += 1
        return t

    def _extend(self, stop: int) -> None:
        """Users up to ``stop``: each the eligible profile with the first deadline (the lowest number on a tie),
        as a scan of every profile per user would choose, in O(log k) per user: profiles wait in ``_waiting``
        by the user at which they become eligible, then in ``_ready`` by deadline (heaps)."""
        made, counts = self._made, self._counts
        if self._ready is None:
            self._waiting, self._ready = [(self._release(j), j) for j in range(len(counts))], []
            heapq.heapify(self._waiting)
        waiting, ready = self._waiting, self._ready
        while len(made) < stop:
            t = len(made) + 1
            while waiting and waiting[0][0] <= t:
                _, j = heapq.heappop(waiting)
                heapq.heappush(ready, (self._deadline(j), j))
            _, j = heapq.heappop(ready)
            made.append(j)
            counts[j] += 1
            heapq.heappush(waiting, (self._release(j), j))

    def __getitem__(self, index: int) -> int:
        if index < 0:
            raise IndexError(index)
        made = self._made
        if self._period is not None:
            return made[index % self._period]
        if index >= len(made):
            self._extend(index + 1)
        return made[index]

    def counts(self, users: int, start: int = 0) -> list[int]:
        """How many of plan indices ``start..users-1`` each profile has."""
        counts = [0] * len(self._shares)
        if self._period is not None and users - start > self._period:
            whole, rest = divmod(users - start, self._period)
            for j in range(start, start + rest):
                counts[self[j]] += 1
            period = [0] * len(self._shares)
            for j in range(self._period):
                period[self[j]] += 1
            return [c + whole * p for c, p in zip(counts, period, strict=True)]
        for j in range(start, users):
            counts[self[j]] += 1
        return counts
