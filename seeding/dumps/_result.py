"""What a seeding run created, in the course's vocabulary: ``SeedsResult`` and its parts.

Field names and methods are the course's (``users``, ``get_next_user()``, ``get_random_user()``,
``seed_user.credit_card_accounts[0].account_id``), so locustfiles written for the course's ``seeds``
package work unchanged. ``users`` may be a plain list or a lazily parsed view of a dump file
(``seeding.dumps._files.open_dump``); both are sequences, indexable and sized.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, SerializerFunctionWrapHandler, field_serializer, model_serializer

from .._exceptions import SeedsExhaustedError

__all__ = [
    "SeedAccountResult",
    "SeedCardResult",
    "SeedOpenedCardResult",
    "SeedOperationResult",
    "SeedUserResult",
    "SeedsResult",
    "index_profiles",
    "members_of",
]


class SeedCardResult(BaseModel):
    card_id: str


class SeedOpenedCardResult(SeedCardResult):
    """A card the account opened with (card accounts open with a VIRTUAL and a PHYSICAL card)."""

    type: str  # "VIRTUAL" or "PHYSICAL"


class SeedOperationResult(BaseModel):
    operation_id: str


class SeedAccountResult(BaseModel):
    account_id: str
    physical_cards: list[SeedCardResult] = Field(default_factory=list)
    virtual_cards: list[SeedCardResult] = Field(default_factory=list)
    top_up_operations: list[SeedOperationResult] = Field(default_factory=list)
    purchase_operations: list[SeedOperationResult] = Field(default_factory=list)
    transfer_operations: list[SeedOperationResult] = Field(default_factory=list)
    cash_withdrawal_operations: list[SeedOperationResult] = Field(default_factory=list)
    # Not in the course's format; written to dumps only when the plan asks for them.
    fee_operations: list[SeedOperationResult] = Field(default_factory=list)
    cashback_operations: list[SeedOperationResult] = Field(default_factory=list)
    bill_payment_operations: list[SeedOperationResult] = Field(default_factory=list)
    # The cards the account opened with, kept so no plan issues a card just to get an id; not in
    # the course's format, whose readers ignore it (older dumps have none).
    opened_cards: list[SeedOpenedCardResult] = Field(default_factory=list)

    def first_card(self, card_type: str | None = None) -> SeedCardResult:
        """The account's first card (of ``card_type``, "PHYSICAL" or "VIRTUAL"): opened with it, else issued.

        Raises ``LookupError`` naming the account when it has none.
        """
        kind = card_type.upper() if card_type else None
        for card in self.opened_cards:
            if kind is None or card.type == kind:
                return card
        issued = {"PHYSICAL": self.physical_cards, "VIRTUAL": self.virtual_cards}
        for name, cards in issued.items():
            if cards and kind in (None, name):
                return cards[0]
        raise LookupError(f"account {self.account_id} has no {(kind or '').lower() + ' ' if kind else ''}card")


class SeedUserResult(BaseModel):
    user_id: str
    # The plan's profile of this user ("heavy"); None when the plan has no profiles. Not in the
    # course's format, whose readers ignore it; written only when there is one.
    profile: str | None = None
    deposit_accounts: list[SeedAccountResult] = Field(default_factory=list)
    savings_accounts: list[SeedAccountResult] = Field(default_factory=list)
    debit_card_accounts: list[SeedAccountResult] = Field(default_factory=list)
    credit_card_accounts: list[SeedAccountResult] = Field(default_factory=list)

    @model_serializer(mode="wrap")
    def _without_profile(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.profile is None and isinstance(data, dict):
            data.pop("profile", None)
        return data


def index_profiles(users: Sequence[SeedUserResult]) -> dict[str, list[int]]:
    """Profile → the indices of its users, in order; a lazy dump's profiles are read off each line's bytes."""
    from ._user_entry import profile_of

    found: dict[str, list[int]] = {}
    raw = getattr(users, "raw", None)
    for index in range(len(users)):
        name = profile_of(raw(index)) if raw is not None else users[index].profile
        if name is not None:
            found.setdefault(name, []).append(index)
    return found


def members_of(profiles: dict[str, list[int]], profile: str, source: str) -> list[int]:
    """The indices of ``profile``'s users; ``ValueError`` naming the profiles there are when it has none."""
    members = profiles.get(profile)
    if members is None:
        known = ", ".join(sorted(profiles)) or "none: its plan has no profiles"
        raise ValueError(f"{source}: no user has the profile {profile!r} (profiles: {known})")
    return members


class _Subset(Sequence[SeedUserResult]):
    """Some users of a sequence, by their indices there (``users_of``): read through, never copied."""

    def __init__(self, users: Sequence[SeedUserResult], indices: Sequence[int]) -> None:
        self._users = users
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._users[i] for i in self.indices[index]]
        return self._users[self.indices[index]]


class SeedsResult(BaseModel):
    """All seeded users, in plan order: ``users[i]`` is the plan's user ``i``.

    ``get_next_user()`` hands out users in order, each once (the course popped from the list; this
    keeps the list intact so by-index access stays valid); ``get_random_user()`` picks any user.
    """

    users: Sequence[SeedUserResult] = Field(default_factory=list)
    _next: int = PrivateAttr(default=0)
    _random: random.Random = PrivateAttr(default_factory=random.Random)
    _source: str = PrivateAttr(default="the seeds")
    _profiles: dict[str, list[int]] | None = PrivateAttr(default=None)  # profile → indices, found once

    @field_serializer("users", mode="wrap")
    def _serialize_users(self, users: Sequence[SeedUserResult], handler: SerializerFunctionWrapHandler) -> Any:
        return handler(users if isinstance(users, list) else list(users))

    def get_next_user(self) -> SeedUserResult:
        """The next user not handed out yet; ``SeedsExhaustedError`` (an IndexError) when none is left."""
        if self._next >= len(self.users):
            raise SeedsExhaustedError(
                f"{self._source}: all {len(self.users)} seeded users were already handed out; "
                "seed more users or reuse them (get_random_user)"
            )
        user = self.users[self._next]
        self._next += 1
        return user

    def get_random_user(self) -> SeedUserResult:
        """Any seeded user, at random."""
        if not self.users:
            raise SeedsExhaustedError(f"{self._source}: holds no seeded users")
        return self.users[self._random.randrange(len(self.users))]

    def profile_indices(self, profile: str) -> list[int]:
        """The indices (in ``users``) of the users of ``profile``; ``ValueError`` naming the profiles there are."""
        if self._profiles is None:
            self._profiles = index_profiles(self.users)
        return members_of(self._profiles, profile, self._source)

    def users_of(self, profile: str) -> SeedsResult:
        """The users of one profile, in plan order, as their own ``SeedsResult`` (read through, not copied).

        ``ValueError`` naming the dump's profiles when none has ``profile``.
        """
        subset = SeedsResult.model_construct(users=_Subset(self.users, self.profile_indices(profile)))
        subset._source = f"{self._source} (profile {profile!r})"
        return subset

    def get_user(self, index: int) -> SeedUserResult:
        """The plan's user ``index``; ``SeedsExhaustedError`` naming the count when out of range."""
        if not 0 <= index < len(self.users):
            raise SeedsExhaustedError(f"{self._source}: has {len(self.users)} seeded users, no user #{index}")
        return self.users[index]
