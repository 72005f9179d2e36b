"""Users the journal holds only in part: what of a plan user exists on the gateway, so a resume completes it.

The builder journals each entity the moment the gateway answers for it (``part_record``): the user,
each account (with the cards it opened with), each issued card, each operation, by its place in the
plan user's tree. A run stopped mid-user (Ctrl-C, SIGTERM, a failure elsewhere, a kill) thus leaves
what it made in the journal, and ``--resume`` finishes that user at its own plan index instead of
creating it again: no user, account, card or operation is made twice.

A complete user line that lacks what the plan asks for (a hand edit, an older tool) is the same
thing: ``UserCheck`` finds what is missing and the user becomes a ``PartialUser`` that the run
completes. One holding more than the plan asks for is refused (it belongs to another plan).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..plan._models import SeedsPlan

__all__ = ["PartialAccount", "PartialUser", "UserCheck", "part_record"]


@dataclass
class PartialAccount:
    """An opened account of a user being built: its id, opening cards, and what was made on it so far."""

    account_id: str
    opened: list[tuple[str, str]]  # (card id, type) of the cards it opened with
    cards: dict[str, dict[int, str]] = field(default_factory=dict)  # card field → ordinal → card id
    operations: dict[int, str] = field(default_factory=dict)  # ordinal in the account's operations → id
    by_field: dict[str, list[str]] = field(default_factory=dict)  # from a user line: ids by field, in order

    def made_operations(self, fields: Sequence[str]) -> dict[int, str]:
        """Ordinal → id of the operations already made, given the field of each planned operation in order."""
        made = dict(self.operations)
        left = {name: list(ids) for name, ids in self.by_field.items()}
        for ordinal, name in enumerate(fields):
            if ordinal not in made and left.get(name):
                made[ordinal] = left[name].pop(0)
        return made


@dataclass
class PartialUser:
    """A plan user whose CreateUser answered, and the parts of its tree made since."""

    user_id: str
    accounts: dict[tuple[str, int], PartialAccount] = field(default_factory=dict)

    def apply(self, record: dict[str, Any]) -> bool:
        """Add one part record (an account, card or operation of this user); False: not one we can place."""
        made, at, entity = record.get("made"), record.get("at"), record.get("id")
        if not isinstance(at, list) or not isinstance(entity, str) or len(at) < 2:
            return False
        name, number = at[0], at[1]
        if not isinstance(name, str) or not _ordinal(number):
            return False
        if made == "account" and len(at) == 2:
            opened = record.get("opened")
            if not isinstance(opened, list) or not all(_pair(card) for card in opened):
                return False
            self.accounts[(name, number)] = PartialAccount(entity, [(card[0], card[1]) for card in opened])
            return True
        account = self.accounts.get((name, number))
        if account is None:
            return False  # made on an account the journal never saw opened
        if made == "card" and len(at) == 4 and isinstance(at[2], str) and _ordinal(at[3]):
            account.cards.setdefault(at[2], {})[at[3]] = entity
            return True
        if made == "operation" and len(at) == 3 and _ordinal(at[2]):
            account.operations[at[2]] = entity
            return True
        return False

    @classmethod
    def of_user(cls, user: dict[str, Any]) -> PartialUser:
        """A user line that lacks parts (``UserCheck`` said so), as what exists of it, by position."""
        partial = cls(user["user_id"])
        for name, entries in user.items():
            if not isinstance(entries, list):
                continue
            for number, entry in enumerate(entries):
                opened = [(card["card_id"], card["type"]) for card in entry.get("opened_cards", [])]
                account = partial.accounts[(name, number)] = PartialAccount(entry["account_id"], opened)
                for key, items in entry.items():
                    if not isinstance(items, list) or key == "opened_cards":
                        continue
                    ids = [item.get("card_id") or item.get("operation_id") for item in items]
                    if items and "card_id" in items[0]:
                        account.cards[key] = dict(enumerate(ids))
                    else:
                        account.by_field[key] = ids
        return partial


def part_record(made: str, entity: str, at: tuple[object, ...], **extra: object) -> dict[str, Any]:
    """What the journal keeps of one made entity: its kind, id and place in the user's tree."""
    return {"made": made, "id": entity, "at": list(at), **extra}


class UserCheck:
    """Whether a journaled user line holds what the plan asks for user ``index`` under ``seed``.

    ``__call__`` returns None (complete), or what it lacks (the run completes it); ``ValueError`` when it
    holds more than the plan asks for, or is not a user as seeding writes it.
    """

    def __init__(self, plan: SeedsPlan, seed: int) -> None:
        from ..plan._shapes import Shapes

        self._shapes = Shapes(plan, seed)

    def __call__(self, index: int, user: dict[str, Any]) -> str | None:
        shape = self._shapes[index]
        lacks: list[str] = []
        planned = {name for name, _, _ in shape.accounts}
        for name, entries in user.items():
            if isinstance(entries, list) and entries and name not in planned:
                raise ValueError(f"user {index} has {name}, which the plan does not ask for")
        for name, _, plans in shape.accounts:
            entries = user.get(name, [])
            if not isinstance(entries, list):
                raise ValueError(f"user {index}: {name} is not a list")
            if len(entries) > len(plans):
                raise ValueError(f"user {index} has {len(entries)} {name}, the plan asks for {len(plans)}")
            if len(entries) < len(plans):
                lacks.append(f"{len(plans) - len(entries)} of {len(plans)} {name}")
            for number, (entry, plan) in enumerate(zip(entries, plans, strict=False)):
                where = f"{name}[{number}]"
                _check_entry(index, where, entry)
                for kind, _, sub in [*plan.cards(), *plan.operations()]:
                    items = entry.get(kind, [])
                    if not isinstance(items, list):
                        raise ValueError(f"user {index}: {where}.{kind} is not a list")
                    wanted = sub.fixed_count
                    if len(items) > wanted:
                        raise ValueError(f"user {index} has {len(items)} {where}.{kind}, the plan asks for {wanted}")
                    if len(items) < wanted:
                        lacks.append(f"{wanted - len(items)} of {wanted} {where}.{kind}")
        return ", ".join(lacks) or None


def _check_entry(index: int, where: str, entry: object) -> None:
    """An account entry as the builder writes it (ids are text, cards and operations are id objects)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("account_id"), str):
        raise ValueError(f"user {index}: {where} is not an account with an account_id")
    for key, items in entry.items():
        if key == "account_id":
            continue
        if not isinstance(items, list):
            raise ValueError(f"user {index}: {where}.{key} is not a list")
        wanted = ("card_id", "type") if key == "opened_cards" else None
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"user {index}: {where}.{key} holds something that is not an object")
            ids = [item.get(k) for k in wanted] if wanted else [item.get("card_id") or item.get("operation_id")]
            if not all(isinstance(value, str) for value in ids):
                raise ValueError(f"user {index}: {where}.{key} holds an entry without its id")


def _ordinal(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 31


def _pair(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)


Check = Callable[[int, dict[str, Any]], str | None]
