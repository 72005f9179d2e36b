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
        if self._period is not None:
            self._extend(self._period)

    def _deadline(self, j: int) -> float:
        return (self._counts[j] + 1 - self._slack) / self._shares[j]

    def _extend(self, stop: int) -> None:
        made = self._made
        shares, counts, slack = self._shares, self._counts, self._slack
        while len(made) < stop:
            t = len(made) + 1
            eligible = [j for j, p in enumerate(shares) if t * p - counts[j] >= slack - 1e-9]
            j = min(eligible, key=self._deadline)
            made.append(j)
            counts[j] += 1

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
