"""A seeded user as a dump line (and a journal line) holds it: the course's layout, in JSON bytes.

The builder writes each finished user this way straight from the ids it kept, so a run needs
none of the result models (``seeding.dumps._result``), which load when a dump is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

__all__ = ["COURSE_OPERATION_FIELDS", "account_entry", "profile_of", "user_json"]

_PROFILE = re.compile(rb'"profile"\s*:\s*"([^"\\]*)"')

# The course's dump lists these operation kinds always; the others only when the plan has them.
COURSE_OPERATION_FIELDS = (
    "top_up_operations",
    "purchase_operations",
    "transfer_operations",
    "cash_withdrawal_operations",
)


def account_entry(
    account_id: str,
    cards: Mapping[str, list[str]],
    operations: Iterable[tuple[str, str]],
    *,
    opened: Iterable[tuple[str, str]] = (),
) -> dict[str, Any]:
    """One seeded account as a dump lists it: card ids by field, ``(field, operation id)`` in order,
    and ``(card id, type)`` of the cards it opened with (``opened_cards``, which course readers ignore)."""
    entry: dict[str, Any] = {"account_id": account_id}
    entry.update({field: [{"card_id": card_id} for card_id in ids] for field, ids in cards.items()})
    by_field: dict[str, list[dict[str, str]]] = {field: [] for field in COURSE_OPERATION_FIELDS}
    for field, operation_id in operations:
        by_field.setdefault(field, []).append({"operation_id": operation_id})
    entry.update(by_field)
    entry["opened_cards"] = [{"card_id": card_id, "type": str(kind)} for card_id, kind in opened]
    return entry


def user_json(user_id: str, accounts: Mapping[str, list[Any]], *, profile: str | None = None) -> bytes:
    """One seeded user as a dump line (and a journal line) holds it: the course's layout, in JSON.

    ``profile`` (a plan with profiles) goes first after the id; the course's readers ignore it.
    """
    if profile is None:
        return orjson.dumps({"user_id": user_id, **accounts})
    return orjson.dumps({"user_id": user_id, "profile": profile, **accounts})


def profile_of(line: bytes) -> str | None:
    """The profile a dump line's user has, read off its bytes (ids are uuids: only the user has this key)."""
    found = _PROFILE.search(line)
    return found.group(1).decode() if found else None
