"""What plan user ``index`` is: its profile and every count drawn for it, from the run's seed and the index alone.

A plan whose users are all alike has one shape, built once. Otherwise each user's counts come
from ``random.Random(f"{seed}/{index}/shape")`` in plan order (account kinds, then each account's
card and operation kinds), so a resumed run, a shard, a merged dump and a grown dump all give user
``index`` the same accounts, cards and operations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..contract import AccountType
from ._distributions import Distribution
from ._profiles import ProfileSchedule

if TYPE_CHECKING:
    from ._models import SeedAccountsPlan, SeedsPlan, _UserShape

__all__ = ["Shapes", "UserShape"]

_MADE = 100_000  # account plans kept for reuse, at most


@dataclass(frozen=True)
class UserShape:
    """One user's accounts with fixed counts: ``(field, kind, one plan per account)`` in dump order."""

    profile: str | None
    accounts: tuple[tuple[str, AccountType, tuple[SeedAccountsPlan, ...]], ...]

    def counts(self) -> dict[str, int]:
        """This user's accounts, cards and operations."""
        accounts = cards = operations = 0
        for _, _, plans in self.accounts:
            accounts += len(plans)
            for plan in plans:
                cards += plan.cards_per_account
                operations += plan.operations_per_account
        return {"accounts": accounts, "cards": cards, "operations": operations}

    @property
    def entities(self) -> int:
        return 1 + sum(self.counts().values())


class Shapes:
    """Plan index → ``UserShape`` under one seed."""

    def __init__(self, plan: SeedsPlan, seed: int) -> None:
        self._users = plan.users
        self._seed = seed
        self._kinds = self._users.shapes()
        self._schedule = ProfileSchedule([share for _, share, _ in self._kinds]) if len(self._kinds) > 1 else None
        # Kinds without a drawn count have one shape, whatever the index.
        self._fixed = {
            number: _fixed(name, shape) for number, (name, _, shape) in enumerate(self._kinds) if not shape.any_drawn
        }
        self._subs: dict[int, list[tuple[str, Any]]] = {}  # an account plan (by id) → its drawn sub-fields
        self._made: dict[tuple[int, tuple[int, ...]], SeedAccountsPlan] = {}  # (account plan, drawn counts) → plan

    def profile_number(self, index: int) -> int:
        return self._schedule[index] if self._schedule is not None else 0

    def profile(self, index: int) -> str | None:
        return self._kinds[self.profile_number(index)][0]

    def profile_counts(self, users: int, start: int = 0) -> dict[str, int]:
        """Users of each profile among plan indices ``start..users-1`` (empty without profiles)."""
        if self._users.profiles is None:
            return {}
        if self._schedule is None:
            return {self._kinds[0][0] or "": users - start}
        counts = self._schedule.counts(users, start)
        return {name or "": n for (name, _, _), n in zip(self._kinds, counts, strict=True)}

    def __getitem__(self, index: int) -> UserShape:
        number = self.profile_number(index)
        fixed = self._fixed.get(number)
        if fixed is not None:
            return fixed
        name, _, shape = self._kinds[number]
        rng = random.Random(f"{self._seed}/{index}/shape")
        return UserShape(
            name,
            tuple(
                (field, kind, tuple(self._drawn(plan, rng) for _ in range(_count(plan.count, rng))))
                for field, kind, plan in shape.accounts()
            ),
        )

    def _drawn(self, plan: SeedAccountsPlan, rng: random.Random) -> SeedAccountsPlan:
        """One account's plan with its card and operation counts drawn, in plan order.

        Accounts drawn alike share one plan object (made once: copying a model costs ~12 µs).
        """
        subs = self._subs.get(id(plan))
        if subs is None:
            subs = self._subs[id(plan)] = [(f, sub) for f, _, sub in [*plan.cards(), *plan.operations()] if sub.drawn]
        counts = tuple(_count(sub.count, rng) for _, sub in subs)
        key = (id(plan), counts)
        made = self._made.get(key)
        if made is None:
            update = {field: sub.model_copy(update={"count": n}) for (field, sub), n in zip(subs, counts, strict=True)}
            made = plan.model_copy(update={"count": 1, **update})
            if len(self._made) < _MADE:
                self._made[key] = made
        return made


def _count(count: int | Distribution, rng: random.Random) -> int:
    return count if isinstance(count, int) else count.draw(rng)


def _fixed(name: str | None, shape: _UserShape) -> UserShape:
    return UserShape(name, tuple((field, kind, (plan,) * plan.fixed_count) for field, kind, plan in shape.accounts()))
