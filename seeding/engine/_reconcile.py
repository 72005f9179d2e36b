"""What an earlier run made on the gateway but never journaled: found again before a resume completes a user.

The journal writes an entity down when the gateway's answer arrives. A run killed (``kill -9``, a
lost machine) between the gateway making an account, card or operation and that answer leaves the
entity on the gateway and not in the journal, and a resume that trusted the journal alone would make
it a second time: a user with three top-ups where the plan asks for two. So before a begun user is
completed, its accounts are read back (``GetAccounts``, whose views carry their cards) and, for an
account still short of operations, its operations (``GetOperations``); what the journal lacks is
adopted into the plan's empty places of the same kind, in order, and journaled as if just made.

Only calls in flight at the stop can be missing, so at most a few entities per user are adopted. A
user whose creation itself was never answered is beyond reach (nothing names it): it stays an
orphan on the gateway, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._partial import PartialAccount, PartialUser, part_record

__all__ = ["Found", "adopt_accounts", "adopt_cards", "adopt_operations", "missing_operations"]


@dataclass(frozen=True)
class Found:
    """An account as the gateway lists it: its kind and every card on it, ``(id, type)``."""

    account_id: str
    kind: object
    cards: tuple[tuple[str, object], ...]


def adopt_accounts(
    begun: PartialUser, planned: Sequence[tuple[str, int, object, Sequence[object]]], found: Sequence[Found]
) -> list[dict[str, Any]]:
    """Accounts on the gateway the journal never saw opened, into the planned places ``(field, number, kind,
    the card types it opens with)`` it has none for. Its opening cards: the first listed of each of those types
    (after a kill nothing else is on it: no card is issued on an account whose opening was never answered;
    a journal line edited by hand may have lost issued ones too, which ``adopt_cards`` then places)."""
    known = {account.account_id for account in begun.accounts.values()}
    spare = [account for account in found if account.account_id not in known]
    records = []
    for name, number, kind, opens_with in planned:
        if (name, number) in begun.accounts:
            continue
        match = next((account for account in spare if account.kind == kind), None)
        if match is None:
            continue
        spare.remove(match)
        first = [next((card for card in match.cards if card[1] == card_type), None) for card_type in opens_with]
        opened = [(card[0], str(card[1])) for card in first if card is not None]
        begun.accounts[(name, number)] = PartialAccount(match.account_id, opened)
        records.append(part_record("account", match.account_id, (name, number), opened=[list(c) for c in opened]))
    return records


def adopt_cards(
    account: PartialAccount,
    at: tuple[str, int],
    planned: Sequence[tuple[str, object, int]],
    found: Found,
) -> list[dict[str, Any]]:
    """Cards on the account that are neither opening cards nor journaled, into its empty card places
    (``(field, type, count)`` per card kind), in order."""
    known = {card_id for card_id, _ in account.opened}
    known |= {card_id for ids in account.cards.values() for card_id in ids.values()}
    spare = [(card_id, card_type) for card_id, card_type in found.cards if card_id not in known]
    records = []
    for name, card_type, count in planned:
        for number in range(count):
            if number in account.cards.get(name, {}):
                continue
            match = next((card for card in spare if card[1] == card_type), None)
            if match is None:
                break
            spare.remove(match)
            account.cards.setdefault(name, {})[number] = match[0]
            records.append(part_record("card", match[0], (*at, name, number)))
    return records


def missing_operations(account: PartialAccount, fields: Sequence[str]) -> bool:
    """Whether some of the planned operations (their fields, in order) are not made on the account yet."""
    return len(account.made_operations(fields)) < len(fields)


def adopt_operations(
    account: PartialAccount,
    at: tuple[str, int],
    planned: Sequence[tuple[str, object]],
    found: Sequence[tuple[str, object]],
) -> list[dict[str, Any]]:
    """Operations on the account (``(id, type)``) the journal lacks, into its empty places (``(field, type)``
    in order) of the same type."""
    made = account.made_operations([name for name, _ in planned])
    known = set(made.values())
    spare = [(operation_id, kind) for operation_id, kind in found if operation_id not in known]
    records = []
    for ordinal, (_, kind) in enumerate(planned):
        if ordinal in made:
            continue
        match = next((operation for operation in spare if operation[1] == kind), None)
        if match is None:
            continue
        spare.remove(match)
        account.operations[ordinal] = match[0]
        records.append(part_record("operation", match[0], (*at, ordinal)))
    return records
