"""Can this dump serve this run? Checked once, at test start, so a run fails in its first second.

Two things go wrong late otherwise: a ``unique`` run with more virtual users than seeded users
(the course's ``pop from empty list`` minutes into the test) and a scenario reading an account
kind the dump's plan never made (an ``IndexError`` deep in a task). Each problem is one line.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..dumps._exhaustion import WhenEmpty
from ..dumps._result import SeedsResult
from ..dumps._strategies import Strategy, exclusive
from ..plan._models import ACCOUNT_FIELDS, CARD_FIELDS, OPERATION_FIELDS, did_you_mean

__all__ = ["capacity_problem", "requirements_problem", "validate_requirements"]

_ACCOUNT_PARTS = (*CARD_FIELDS, *OPERATION_FIELDS)


def validate_requirements(requires: Iterable[str]) -> tuple[str, ...]:
    """Check names like ``"credit_card_accounts"`` or ``"debit_card_accounts.purchase_operations"``.

    A typo raises ``ValueError`` when the locustfile is imported, not when the test starts.
    """
    checked = []
    for requirement in requires:
        account, _, part = requirement.partition(".")
        if account not in ACCOUNT_FIELDS:
            raise ValueError(f"requires: unknown account kind {account!r}{did_you_mean(account, ACCOUNT_FIELDS)}")
        if part and part not in _ACCOUNT_PARTS:
            raise ValueError(f"requires: unknown {account} field {part!r}{did_you_mean(part, _ACCOUNT_PARTS)}")
        checked.append(requirement)
    return tuple(checked)


def requirements_problem(source: str, seeds: SeedsResult, requires: Iterable[str]) -> str | None:
    """Why the dump lacks what the scenario reads, judged on its first user (a plan shapes every user alike)."""
    if not len(seeds.users):
        return f"{source}: holds no seeded users"
    first = seeds.users[0]
    for requirement in requires:
        account, _, part = requirement.partition(".")
        accounts = getattr(first, account)
        if not accounts:
            return (
                f"{source}: the scenario requires {account} but the dump's users have none; "
                f"seed it from a plan with users.{account}.count >= 1"
            )
        if part and not getattr(accounts[0], part):
            return (
                f"{source}: the scenario requires {requirement} but the dump's {account} have no {part}; "
                f"seed it from a plan with users.{account}.{part}.count >= 1"
            )
    return None


def capacity_problem(
    source: str, strategy: Strategy, *, seeds: int, users: int, when_empty: WhenEmpty | None = None
) -> str | None:
    """Why ``seeds`` seeded users cannot serve ``users`` virtual users under ``strategy`` (and ``when_empty``)."""
    if seeds == 0:
        return f"{source}: holds no seeded users"
    if exclusive(strategy) and users > seeds and (when_empty is None or when_empty.action == "stop"):
        return (
            f"{source}: holds {seeds} seeded users but the run asks for {users} virtual users, and strategy "
            f"{strategy!r} gives each its own; seed at least {users} users, use strategy='cycle', "
            "or say what to do when none is left (--seeds-when-empty wait:SECONDS|cycle|warn)"
        )
    return None
