"""Users in part: a run stopped mid-user, or a journal line lacking parts, is completed on the same user.

Real ``python -m seeding`` subprocesses against an in-process stand, which lists every user,
account, card and operation it holds: after the resume, the stand holds exactly what the dump
lists (nothing made twice, nothing orphaned), whatever was in flight when the run was stopped.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from seeding.engine._partial import PartialUser, UserCheck
from seeding.plan._models import load_plan
from seeding.stand import Stand

from ..cli.test_cli_journal import Cli, wait_for_users
from .test_shards import PLAN, gateway_flags

USERS = 16


def dump_users(dump: Path) -> list[dict[str, Any]]:
    return orjson.loads(dump.read_bytes())["users"]


def dump_ids(dump: Path) -> dict[str, set[str]]:
    """Every id a dump lists, by kind (cards: issued and opened with the account)."""
    return dump_ids_of(*dump_users(dump))


def dump_ids_of(*users: dict[str, Any]) -> dict[str, set[str]]:
    """Every id the user lines list, by kind."""
    ids: dict[str, set[str]] = {"users": set(), "accounts": set(), "cards": set(), "operations": set()}
    for user in users:
        ids["users"].add(user["user_id"])
        for entries in user.values():
            for account in entries if isinstance(entries, list) else []:
                ids["accounts"].add(account["account_id"])
                for items in account.values():
                    for item in items if isinstance(items, list) else []:
                        kind = "operations" if "operation_id" in item else "cards"
                        ids[kind].add(item.get("operation_id") or item["card_id"])
    return ids


def sixteen_users(tmp_path: Path, stand: Stand, transport: str) -> tuple[list[str], Path, Path]:
    """The plan of USERS users, written in ``tmp_path``: the arguments against ``stand``, the journal, the dump."""
    (tmp_path / "p.yaml").write_text(PLAN.format(count=USERS))
    args = ["p.yaml", *gateway_flags(stand, transport), f"--dumps-dir={tmp_path}", "--concurrency=6"]
    return args, tmp_path / "s_seeds.journal", tmp_path / "s_seeds.json"


def stand_ids(stand: Stand) -> dict[str, set[str]]:
    bank = stand.bank
    return {
        "users": set(bank.users),
        "accounts": set(bank.accounts),
        "cards": set(bank.cards),
        "operations": set(bank.operations),
    }


def begun_users(journal: Path) -> set[int]:
    """Plan indices with a part in the journal but no complete line: users stopped mid-way."""
    parts, complete = set(), set()
    for line in journal.read_bytes().splitlines()[1:]:
        record = orjson.loads(line)
        if "made" in record:
            parts.add(record["index"])
        elif "user" in record:
            complete.add(record["index"])
    return parts - complete


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_users_in_flight_at_a_signal_are_completed_not_made_again(
    tmp_path: Path, transport: str, stop: signal.Signals
) -> None:
    async with Stand(latency_ms=40) as stand:
        args, journal, dump = sixteen_users(tmp_path, stand, transport)
        run = await Cli.start(*args, cwd=tmp_path)
        await wait_for_users(journal, 3, run)
        run.proc.send_signal(stop)
        assert await run.finish() == 1, run.stderr
        assert begun_users(journal), "no user was in the making at the signal: the case is not exercised"
        # Everything the gateway made is in the journal, complete or in part: nothing is orphaned.
        made = stand_ids(stand)
        assert len(made["users"]) < USERS
        resumed = await Cli.run(*args, "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        listed = dump_ids(dump)
        assert len(listed["users"]) == USERS and len(dump_users(dump)) == USERS
        assert stand_ids(stand) == listed, "the gateway holds something the dump does not list, or twice"
        assert made["users"] <= listed["users"], "a user made before the signal is not in the dump"
    assert not journal.exists()


async def wait_for_begun_parts(journal: Path, kinds: set[str], run: Cli, timeout: float = 60) -> None:
    """Until two users in the making have a part of ``kinds`` in the journal."""
    deadline = time.monotonic() + timeout
    while True:
        assert run.proc.returncode is None, f"the run ended early ({run.proc.returncode})"
        assert time.monotonic() < deadline, "no user in the making got that far"
        if journal.exists():
            records = [orjson.loads(line) for line in journal.read_bytes().splitlines()[1:] if line.endswith(b"}")]
            complete = {r["index"] for r in records if "user" in r}
            if len({r["index"] for r in records if r.get("made") in kinds and r["index"] not in complete}) >= 2:
                return
        await asyncio.sleep(0.01)


def forget_last_parts(journal: Path, kinds: set[str]) -> list[dict[str, Any]]:
    """Drop, for each begun user, its last part record of ``kinds`` (and any record placed on a dropped
    account): what a kill -9 between the gateway's answer and the journal's write leaves. The dropped ones."""
    lines = journal.read_bytes().splitlines()
    records = [orjson.loads(line) for line in lines[1:]]
    begun = begun_users(journal)
    dropped: list[dict[str, Any]] = []
    for index in begun:
        parts = [r for r in records if r.get("index") == index and r.get("made") in kinds]
        if parts:
            dropped.append(parts[-1])
    gone_accounts = {(d["index"], tuple(d["at"][:2])) for d in dropped if d["made"] == "account"}
    dropped += [
        r
        for r in records
        if r.get("made") in ("card", "operation") and (r["index"], tuple(r["at"][:2])) in gone_accounts
    ]
    kept = [line for line, record in zip(lines[1:], records, strict=True) if record not in dropped]
    journal.write_bytes(b"\n".join([lines[0], *kept]) + b"\n")
    return dropped


@pytest.mark.parametrize("kinds", [{"operation", "card"}, {"account"}], ids=["operation-or-card", "account"])
@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_what_the_gateway_made_but_the_journal_lost_is_adopted_not_made_again(
    tmp_path: Path, transport: str, kinds: set[str]
) -> None:
    # A kill -9 can land after the gateway made an entity and before its answer was journaled (CI saw a
    # user with three top-ups where the plan asks for two). Simulated exactly: stop a run, drop each
    # begun user's last part record from the journal, resume: the resume finds those on the gateway.
    async with Stand(latency_ms=40) as stand:
        args, journal, dump = sixteen_users(tmp_path, stand, transport)
        run = await Cli.start(*args, cwd=tmp_path)
        await wait_for_begun_parts(journal, kinds, run)
        run.proc.kill()  # no last words: what was in flight is on the gateway, perhaps not in the journal
        await run.finish()
        dropped = forget_last_parts(journal, kinds)
        assert dropped, "no begun user had such a part: the case is not exercised"
        made = stand_ids(stand)
        resumed = await Cli.run(*args, "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        listed = dump_ids(dump)
        assert len(listed["users"]) == USERS
        assert stand_ids(stand) == listed, "the gateway holds something the dump does not list, or twice"
        for record in dropped:  # each forgotten entity is in the dump, where the plan puts it
            kind = {"account": "accounts", "card": "cards", "operation": "operations"}[record["made"]]
            assert record["id"] in listed[kind]
        assert made["accounts"] <= listed["accounts"] and made["operations"] <= listed["operations"]
    assert not journal.exists()


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_a_user_failing_for_good_leaves_nothing_the_journal_does_not_know(tmp_path: Path, transport: str) -> None:
    """One call fails for good (``--retries 0`` on a flaky gateway): the run stops sending, the calls
    of the other users in flight answer and are journaled, and the resume completes them."""
    async with Stand(latency_ms=30, fail_rate=0.06, seed=5) as stand:
        args, journal, dump = sixteen_users(tmp_path, stand, transport)
        failed = await Cli.run(*args, "--retries=0", cwd=tmp_path)
        assert failed.proc.returncode == 1, failed.stderr
        assert "failed" in failed.stderr and "--resume" in failed.stderr, failed.stderr
        assert journal.exists() and len(stand_ids(stand)["users"]) < USERS
        stand.faults.fail_rate = 0.0  # the gateway is well again
        resumed = await Cli.run(*args, "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        assert stand_ids(stand) == dump_ids(dump), "the gateway holds something the dump does not list, or twice"
        assert len(dump_users(dump)) == USERS


def _strip(field: str, key: str | None = None) -> Callable[[dict[str, Any]], int]:
    """An edit that removes the user's first ``field`` account (or its ``key`` list); returns how many
    entities went with it (left on the gateway by the edit, not by the run)."""

    def edit(user: dict[str, Any]) -> int:
        account = user[field][0]
        if key is not None:
            removed, account[key] = len(account[key]), []
            return removed
        user[field] = []
        return 1 + sum(len(items) for items in account.values() if isinstance(items, list))

    return edit


def _only_id(user: dict[str, Any]) -> int:
    """An edit that keeps the user's id alone; returns how many entities went (left on the gateway by the edit)."""
    removed = sum(
        1 + sum(len(items) for items in account.values() if isinstance(items, list))
        for entries in user.values()
        if isinstance(entries, list)
        for account in entries
    )
    kept = {"user_id": user["user_id"]}
    user.clear()
    user.update(kept)
    return removed


def _twice(field: str) -> Callable[[dict[str, Any]], int]:
    def edit(user: dict[str, Any]) -> int:
        user[field] = user[field] * 2
        return 0

    return edit


def _set(field: str, key: str, value: object) -> Callable[[dict[str, Any]], int]:
    def edit(user: dict[str, Any]) -> int:
        user[field][0][key] = value
        return 0

    return edit


def _add(key: str, value: object) -> Callable[[dict[str, Any]], int]:
    def edit(user: dict[str, Any]) -> int:
        user[key] = value
        return 0

    return edit


# (edit of journal line 2, user 0) → completed on the same user (0), or refused naming the line (2).
LINES = [
    pytest.param(_strip("credit_card_accounts"), 0, "1 of 1 credit_card_accounts", id="lacks-an-account"),
    pytest.param(
        _strip("credit_card_accounts", "physical_cards"),
        0,
        "1 of 1 credit_card_accounts[0].physical_cards",
        id="lacks-a-card",
    ),
    pytest.param(
        _strip("debit_card_accounts", "top_up_operations"),
        0,
        "2 of 2 debit_card_accounts[0].top_up_operations",
        id="lacks-operations",
    ),
    pytest.param(_only_id, 0, "1 of 1 debit_card_accounts, 1 of 1 credit_card_accounts", id="only-the-user-id"),
    pytest.param(
        _twice("debit_card_accounts"), 2, "has 2 debit_card_accounts, the plan asks for 1", id="extra-account"
    ),
    pytest.param(
        _add("deposit_accounts", [{"account_id": "x"}]),
        2,
        "has 1 deposit_accounts, the plan asks for 0",
        id="unplanned-account",
    ),
    pytest.param(
        _set("credit_card_accounts", "physical_cards", [{"card_id": "a"}, {"card_id": "b"}]),
        2,
        "has 2 credit_card_accounts[0].physical_cards, the plan asks for 1",
        id="extra-card",
    ),
    pytest.param(
        _set("debit_card_accounts", "account_id", 7), 2, "not an account with an account_id", id="id-not-text"
    ),
    pytest.param(_add("credit_card_accounts", {"a": 1}), 2, "credit_card_accounts is not a list", id="not-a-list"),
    pytest.param(
        _set("debit_card_accounts", "top_up_operations", [{"x": 1}, {"operation_id": "o"}]),
        2,
        "without its id",
        id="operation-without-id",
    ),
]


@pytest.mark.parametrize(("edit", "code", "says"), LINES)
async def test_a_journal_line_lacking_parts_is_completed_on_the_same_user(
    tmp_path: Path, edit: Callable[[dict[str, Any]], int], code: int, says: str
) -> None:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=8))
    dump, journal = tmp_path / "s_seeds.json", tmp_path / "s_seeds.journal"
    async with Stand() as stand:
        args = ["p.yaml", *gateway_flags(stand, "grpc"), f"--dumps-dir={tmp_path}"]
        first = await Cli.run(*args, "--users=6", cwd=tmp_path)
        assert first.proc.returncode == 0, first.stderr
        meta = orjson.loads(dump.read_bytes())["meta"]
        users = dump_users(dump)
        dump.unlink()
        header = {key: meta[key] for key in ("scenario", "plan_hash", "shape_hash", "transport", "target", "seed")}
        orphaned = edit(users[0])
        lines = [orjson.dumps({"journal": 1, **header, "users": 8, "pid": 1})]
        lines += [b'{"index":%d,"user":' % i + orjson.dumps(user) + b"}" for i, user in enumerate(users)]
        journal.write_bytes(b"\n".join(lines) + b"\n")
        before = stand_ids(stand)

        resumed = await Cli.run(*args, "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == code, resumed.stderr
        assert "Traceback" not in resumed.stderr
        if code == 2:  # refused before any call, naming the line; the journal is left as it was
            (line,) = resumed.stderr.strip().splitlines()
            assert "s_seeds.journal:2: user 0" in line and says in line and "--restart" in line, line
            assert stand_ids(stand) == before
            assert journal.exists()
            return
        assert f"s_seeds.journal:2: user 0 lacked {says};" in resumed.stderr, resumed.stderr
        assert "the run completes it at its own index" in resumed.stderr, resumed.stderr
        after = dump_users(dump)
        assert [user["user_id"] for user in after[:6]] == [user["user_id"] for user in users]
        assert UserCheck(load_plan(tmp_path / "p.yaml"), meta["seed"])(0, after[0]) is None, after[0]
        listed = dump_ids(dump)
        made = {kind: stand_ids(stand)[kind] - before[kind] for kind in before}
        assert made["users"] == listed["users"] - before["users"]  # users 6 and 7 only: user 0 kept
        assert len(made["users"]) == 2
        assert set().union(*listed.values()) <= set().union(*stand_ids(stand).values())
        # What the line lacked is still on the gateway: found there and adopted, nothing made again or orphaned
        # (before reconciliation the run made it anew and left the ``orphaned`` ones behind).
        assert sum(map(len, stand_ids(stand).values())) == sum(map(len, listed.values()))
        user_0 = set().union(*dump_ids_of(after[0]).values())
        assert user_0 <= set().union(*before.values()), "user 0 got something new: what it lacked was made again"
        assert orphaned >= 0  # what the edit took out of the line: all of it is back in the dump


@pytest.mark.parametrize(
    ("record", "placed"),
    [
        pytest.param({"made": "account", "at": ["a", 0], "id": "x", "opened": [["c", "VIRTUAL"]]}, True, id="account"),
        pytest.param({"made": "account", "at": ["a", 0], "id": "x", "opened": [["c"]]}, False, id="card-no-type"),
        pytest.param({"made": "account", "at": ["a", -1], "id": "x", "opened": []}, False, id="negative"),
        pytest.param({"made": "account", "at": ["a", True], "id": "x", "opened": []}, False, id="bool-number"),
        pytest.param({"made": "account", "at": ["a", 0], "id": 5, "opened": []}, False, id="id-not-text"),
        pytest.param({"made": "card", "at": ["b", 0, "physical_cards", 0], "id": "x"}, False, id="unknown-account"),
        pytest.param({"made": "card", "at": ["a", 0, "physical_cards", 0], "id": "x"}, True, id="card"),
        pytest.param({"made": "operation", "at": ["a", 0, 3], "id": "x"}, True, id="operation"),
        pytest.param({"made": "operation", "at": ["a", 0, "3"], "id": "x"}, False, id="ordinal-text"),
        pytest.param({"made": "thing", "at": ["a", 0], "id": "x"}, False, id="unknown-kind"),
        pytest.param({"made": "card", "at": "a", "id": "x"}, False, id="at-not-a-list"),
    ],
)
def test_part_records_are_placed_or_refused(record: dict[str, Any], placed: bool) -> None:
    user = PartialUser("u")
    if record["made"] != "account":
        assert user.apply({"made": "account", "at": ["a", 0], "id": "acc", "opened": []})
    assert user.apply(record) is placed
