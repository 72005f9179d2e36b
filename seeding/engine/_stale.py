"""Which of a dump's users are stale on the gateway: the check ``verify`` prints and a repair (CLI, service) re-seeds.

One implementation for both: each sampled user (GetUser), its accounts and cards (GetAccounts) and one
operation per account (GetOperation, on the right account), reads retried with the run's policy.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .._exceptions import InvalidRequestError, NotFoundError, PlanError, SeedingError
from ..dumps._result import SeedOperationResult, SeedsResult, SeedUserResult
from ..gateway import GatewayClient, Transport, connect
from ..plan._models import ACCOUNT_FIELDS, CARD_FIELDS, OPERATION_FIELDS, SeedsPlan
from ._retry import retry_policy

__all__ = ["Check", "StaleReport", "check_sample", "repair_plan"]

T = TypeVar("T")
Read = Callable[..., Awaitable[Any]]  # ``read(client.get_user, user_id)``: one read, retried if it fails transiently
_CONCURRENCY = 16


@dataclass
class StaleReport:
    """What was checked and what was found stale, in the sample's order."""

    checked: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("users", "accounts", "cards", "operations"), 0)
    )
    stale: dict[int, list[str]] = field(default_factory=dict)
    retries: int = 0
    opened_cards: int = 0  # of ``checked["cards"]``: those the card accounts opened with

    def add(self, index: int, user: SeedUserResult, what: str) -> None:
        self.stale.setdefault(index, []).append(f"stale: user #{index} ({user.user_id}): {what}")


@dataclass(frozen=True)
class Check:
    """What one ``verify`` checks, where, and how patiently."""

    seeds: SeedsResult
    sample: list[int]  # indices of the users to check
    seed: int  # each user's operation to check is drawn from it
    transport: Transport
    address: str
    timeout: float
    retries: int


async def check_sample(check: Check) -> StaleReport:
    report = StaleReport()
    limit = asyncio.Semaphore(_CONCURRENCY)

    def count_retry(_: object) -> None:
        report.retries += 1

    policy = retry_policy(check.retries, on_retry=count_retry)

    async def read(method: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await method(*args)``, again after a transient failure (reads change nothing: retrying is safe)."""
        return await policy.copy()(method, *args)

    async with connect(check.transport, check.address, timeout=check.timeout) as client:
        await client.preflight(check.timeout)

        async def one(index: int) -> None:
            async with limit:
                rng = random.Random(f"{check.seed}:{index}")
                await _verify_user(client, read, index, check.seeds.users[index], report, rng)

        try:
            async with asyncio.TaskGroup() as group:  # the first failure cancels the rest
                for index in check.sample:
                    group.create_task(one(index))
        except BaseExceptionGroup as failures:
            raise failures.exceptions[0] from None
    return report


# What says an entity is gone: NOT_FOUND / 404, or an id the gateway refuses as malformed. Any other refusal
# (UNIMPLEMENTED: not the bank gateway at all, PERMISSION_DENIED…) ends the check in one line: counting it as
# "gone" made every user stale, and --repair would have seeded them all again.
_GONE = (NotFoundError, InvalidRequestError)


async def _verify_user(
    client: GatewayClient, read: Read, index: int, user: SeedUserResult, report: StaleReport, rng: random.Random
) -> None:
    """Check one seeded user; a user that is gone is one stale entry, its accounts are not listed too."""
    report.checked["users"] += 1
    try:
        await read(client.get_user, user.user_id)
    except _GONE as exc:
        report.add(index, user, f"the user is gone ({exc.method}: {exc.status})")
        return
    live = {account.id: account for account in await read(client.get_accounts, user.user_id)}
    for kind in ACCOUNT_FIELDS:
        for account in getattr(user, kind):
            report.checked["accounts"] += 1
            found = live.get(account.account_id)
            if found is None:
                report.add(index, user, f"{kind} account {account.account_id} is not among the user's accounts")
                continue
            cards_here = {card.id for card in found.cards}
            for card_kind in (*CARD_FIELDS, "opened_cards"):  # opened with the account, or issued by the plan
                for card in getattr(account, card_kind):
                    report.checked["cards"] += 1
                    report.opened_cards += card_kind == "opened_cards"
                    if card.card_id not in cards_here:
                        report.add(index, user, f"{card_kind} card {card.card_id} is not on account {found.id}")
            operations = [(op_kind, op) for op_kind in OPERATION_FIELDS for op in getattr(account, op_kind)]
            if operations:
                kind, operation = rng.choice(operations)
                await _verify_operation(client, read, index, user, account.account_id, kind, operation, report)


async def _verify_operation(
    client: GatewayClient,
    read: Read,
    index: int,
    user: SeedUserResult,
    account_id: str,
    kind: str,
    operation: SeedOperationResult,
    report: StaleReport,
) -> None:
    report.checked["operations"] += 1
    operation_id = operation.operation_id
    try:
        found = await read(client.get_operation, operation_id)
    except _GONE as exc:
        report.add(index, user, f"{kind} operation {operation_id} is gone ({exc.method}: {exc.status})")
        return
    if found.account_id != account_id:
        report.add(index, user, f"{kind} operation {operation_id} is on account {found.account_id}, not {account_id}")


def repair_plan(dump: Path, meta: dict[str, Any], users: int) -> SeedsPlan:
    """The plan the dump was seeded from (its meta), with its size; refused when its shape is not recorded."""
    scenario, data, shape = meta.get("scenario"), meta.get("plan"), meta.get("shape_hash")
    if not isinstance(scenario, str) or not isinstance(data, dict) or not isinstance(shape, str):
        raise SeedingError(
            f"{dump}: its meta records no plan and shape (an older version or the course's builder made it); "
            "a repair needs both: seed it anew instead"
        )
    if dump.name != f"{scenario}_seeds.json":
        raise SeedingError(
            f"{dump}: holds scenario {scenario!r}; a repair rewrites it in place as {scenario}_seeds.json"
        )
    try:
        plan = SeedsPlan.model_validate({**data, "scenario": scenario}).with_users(users)
    except (PlanError, ValueError) as exc:
        raise SeedingError(f"{dump}: its meta.plan is not a valid plan: {exc}") from None
    if plan.shape_hash != shape:
        raise SeedingError(f"{dump}: its meta.plan gives shape {plan.shape_hash}, its meta says {shape}; seed it anew")
    return plan
