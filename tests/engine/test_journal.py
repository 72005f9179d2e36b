"""The run journal: what survives a stop, and when it refuses to be reused."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from seeding import JournalError
from seeding._journal import Journal, journal_path


def user(index: int) -> bytes:
    return orjson.dumps({"user_id": f"u{index}", "deposit_accounts": []})


def test_journal_sits_beside_the_dump() -> None:
    assert journal_path(Path("dumps/x_seeds.json")) == Path("dumps/x_seeds.journal")


def test_users_come_back_in_plan_order_whatever_order_they_completed(tmp_path: Path) -> None:
    journal = Journal.start(tmp_path / "j", {"plan_hash": "h", "users": 4})
    for index in (2, 0, 3, 1):
        journal.append(index, user(index))
    assert journal.done == {0, 1, 2, 3}
    assert list(journal.users_in_order(4)) == [user(i) for i in range(4)]
    journal.remove()
    assert not (tmp_path / "j").exists()


def test_a_torn_last_line_is_dropped_and_appends_continue_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "j"
    journal = Journal.start(path, {"plan_hash": "h", "users": 3, "seed": 9})
    journal.append(0, user(0))
    journal.close()
    with open(path, "ab") as file:  # killed in the middle of writing user 1
        file.write(b'{"index":1,"user":{"user_id":"u')
    resumed = Journal.start(path, {"plan_hash": "h", "seed": 1}, resume=True)
    assert resumed.done == {0}
    assert resumed.header["seed"] == 9, "a resumed run must keep the seed it started with"
    resumed.append(1, user(1))
    resumed.append(2, user(2))
    resumed.close()
    again = Journal.start(path, {"plan_hash": "h"}, resume=True)
    assert list(again.users_in_order(3)) == [user(i) for i in range(3)]


def test_an_unfinished_run_is_never_silently_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "j"
    Journal.start(path, {"plan_hash": "h", "users": 5}).append(0, user(0))
    with pytest.raises(JournalError, match=r"left 1 of 5 users here; pass --resume .* or --restart"):
        Journal.start(path, {"plan_hash": "h", "users": 5})
    with pytest.raises(JournalError, match=r"made from another plan \(hash h, now z\)"):
        Journal.start(path, {"plan_hash": "z"}, resume=True)
    fresh = Journal.start(path, {"plan_hash": "z"}, restart=True)
    assert fresh.done == frozenset()


def test_a_corrupt_journal_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_bytes(b'{"journal":1,"plan_hash":"h"}\n{"index":0,"user":{}}\nnot json\n')
    with pytest.raises(JournalError, match=r"j:3: corrupt journal line"):
        Journal.start(path, {"plan_hash": "h"}, resume=True)
    path.write_bytes(b'{"something":"else"}\n')
    with pytest.raises(JournalError, match=r"j:1: not a seeding journal"):
        Journal.start(path, {"plan_hash": "h"}, resume=True)
