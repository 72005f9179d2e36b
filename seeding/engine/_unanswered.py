"""Calls that got no answer: the gateway may have made what they asked for, so it is looked for first.

A call that times out, or whose connection drops after it was sent, may have been made all the same
(the gateway has no idempotency keys). Sending it again would make a second account, card or
operation that no dump lists. So before such a call is sent again (``maybe_made``), the builder reads
back what the gateway holds for the user (``GetAccounts``, whose views carry their cards) or the
account (``GetOperations``) and takes an entity of the kind asked for that no place of the user holds
yet; only when there is none is the call sent again.

``Claims`` keeps that sound when a user's calls run side by side: each id goes to one place. A place
whose own answer names an id another place took meanwhile (that place's call went unanswered, and it
found this one first) takes the unanswered call's entity instead, or makes one: every place ends with
its own entity, and the gateway holds no more than the places. A ``CreateUser`` cannot be looked for
(nothing names the user before its answer): one that went unanswered leaves a user without accounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._exceptions import GatewayUnreachableError, OverloadedError, TransientGatewayError
from ._partial import PartialAccount

if TYPE_CHECKING:
    from ..gateway import Account, AccountType, CardType, Operation
    from ..plan._fake_data import OperationData

__all__ = ["Claims", "maybe_made", "unclaimed_account", "unclaimed_card", "unclaimed_operation"]

# Transient failures that say the gateway refused the call before making anything.
_REFUSED = frozenset({"UNAVAILABLE", "RESOURCE_EXHAUSTED", "ABORTED", "503", "429", "408"})


def maybe_made(exc: BaseException) -> bool:
    """Whether a failed call may have been made all the same: no answer came (a timeout, a connection lost
    once the request was sent) or one that does not say it was refused first (500, INTERNAL)."""
    if not isinstance(exc, TransientGatewayError) or isinstance(exc, OverloadedError | GatewayUnreachableError):
        return False
    return exc.status not in _REFUSED


class Claims:
    """The ids one plan user's places hold (journaled, answered or found): each id goes to one place."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._owners: dict[str, object] = dict.fromkeys(ids, self)  # journaled: held by no place of this run

    @classmethod
    def of(cls, accounts: Iterable[PartialAccount]) -> Claims:
        """The claims of a begun user: every id its journaled accounts hold (opening cards, cards, operations)."""
        ids: list[str] = []
        for account in accounts:
            ids.append(account.account_id)
            ids += [card_id for card_id, _ in account.opened]
            ids += [card_id for cards in account.cards.values() for card_id in cards.values()]
            ids += account.operations.values()
            ids += [entity for entities in account.by_field.values() for entity in entities]
        return cls(ids)

    def claim(self, entity_id: str, place: object) -> bool:
        """``entity_id`` for ``place``: True when it was free or is already ``place``'s."""
        return self._owners.setdefault(entity_id, place) is place


def unclaimed_account(listed: Iterable[Account], kind: AccountType, claims: Claims, place: object) -> Account | None:
    """An account of ``kind`` that no place holds, claimed for ``place``."""
    for account in listed:
        if account.type == kind and claims.claim(account.id, place):
            return account
    return None


def unclaimed_card(
    listed: Iterable[Account], account_id: str, card_type: CardType, claims: Claims, place: object
) -> str | None:
    """The id of a card of ``card_type`` on account ``account_id`` that no place holds, claimed for ``place``."""
    for account in listed:
        if account.id == account_id:
            for card in account.cards:
                if card.type == card_type and claims.claim(card.id, place):
                    return card.id
    return None


def unclaimed_operation(listed: Iterable[Operation], op: OperationData, claims: Claims, place: object) -> str | None:
    """The id of an operation like ``op`` (its type and amount: the gateway signs it by the type) that no place
    holds, claimed for ``place``."""
    for operation in listed:
        same = operation.type == op.type and abs(abs(operation.amount) - abs(op.amount)) < 0.005
        if same and claims.claim(operation.id, place):
            return operation.id
    return None
