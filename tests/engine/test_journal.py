"""The run journal: what survives a stop, and when it refuses to be reused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from seeding import JournalError
from seeding.engine._journal import Journal, journal_path


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


def test_damaged_lines_cost_only_their_users_and_are_reported_by_line(tmp_path: Path) -> None:
    """A damaged line is reported with its line number and skipped; every intact user is kept.

    (Issue 9: it used to refuse the whole journal, leaving only --restart, which threw every user away.)
    """
    path = tmp_path / "j"
    intact = [b'{"index":%d,"user":%s}\n' % (i, user(i)) for i in range(4)]
    path.write_bytes(
        b'{"journal":1,"plan_hash":"h","users":4}\n'
        + intact[0]
        + b'{"index":1,"user":{}}\n'  # line 3: no user_id
        + b"not json\n"  # line 4
        + b'{"foo":1}\n[1,2]\n{"index":1,"user":"oops"}\n'  # lines 5-7: JSON of the wrong shape
        + intact[2]
        + b'{"index":99,"user":{"user_id":"u99"}}\n'  # line 9: beyond the plan
        + intact[3][:-3]
        + b"\xff}}\n"  # line 10: the last user's bytes damaged
        + intact[3]
    )
    resumed = Journal.start(path, {"plan_hash": "h", "users": 4}, resume=True)
    assert resumed.done == {0, 2, 3}
    assert resumed.damaged_lines == [3, 4, 5, 6, 7, 9, 10]
    assert list(resumed.missing_ranges(4)) == [(1, 1)]
    resumed.append(1, user(1))
    resumed.close()
    again = Journal.start(path, {"plan_hash": "h", "users": 4}, resume=True)
    assert list(again.users_in_order(4)) == [user(i) for i in range(4)]


def test_a_journal_of_another_kind_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_bytes(b'{"something":"else"}\n')
    with pytest.raises(JournalError, match=r"j:1: not a seeding journal"):
        Journal.start(path, {"plan_hash": "h"}, resume=True)
    path.write_bytes(b"[1,2]\n")
    with pytest.raises(JournalError, match=r"j:1: not a seeding journal"):
        Journal.start(path, {"plan_hash": "h"}, resume=True)


def test_a_live_journal_is_refused_naming_its_process(tmp_path: Path) -> None:
    path = tmp_path / "j"
    live = Journal.start(path, {"plan_hash": "h", "users": 3})
    live.append(0, user(0))
    for flags in ({}, {"resume": True}, {"restart": True}):
        with pytest.raises(JournalError, match=rf"another run \(pid {os.getpid()}\) is writing this journal"):
            Journal.start(path, {"plan_hash": "h", "users": 3}, **flags)
    live.append(1, user(1))  # the live run is undisturbed
    live.close()
    resumed = Journal.start(path, {"plan_hash": "h", "users": 3}, resume=True)
    assert resumed.done == {0, 1}
    with pytest.raises(JournalError, match=rf"pid {os.getpid()}"):  # a resume names itself as the holder too
        Journal.start(path, {"plan_hash": "h", "users": 3}, resume=True)


def test_the_lock_is_held_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "j"
    code = (
        "import sys, time; from pathlib import Path; from seeding.engine._journal import Journal; "
        "j = Journal.start(Path(sys.argv[1]), {'plan_hash': 'h', 'users': 2}); print('locked', flush=True); "
        "time.sleep(30)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(JournalError, match=rf"another run \(pid {holder.pid}\)"):
            Journal.start(path, {"plan_hash": "h", "users": 2}, restart=True)
    finally:
        holder.kill()
        holder.wait()
    assert Journal.start(path, {"plan_hash": "h", "users": 2}).done == frozenset()  # the lock died with it


def test_resume_on_another_gateway_is_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "j"
    header = {"plan_hash": "h", "users": 2, "transport": "grpc", "target": "localhost:9003"}
    first = Journal.start(path, header)
    first.append(0, user(0))
    first.close()
    elsewhere = {**header, "transport": "http", "target": "http://localhost:8003"}
    with pytest.raises(JournalError, match=r"seeded grpc localhost:9003, this one targets http http://localhost:8003"):
        Journal.start(path, elsewhere, resume=True)
    assert Journal.start(path, header, resume=True).done == {0}


def test_a_journal_without_users_blocks_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j"
    Journal.start(path, {"plan_hash": "h", "users": 2, "seed": 1}).close()  # the first call failed
    again = Journal.start(path, {"plan_hash": "other", "users": 5, "seed": 2})
    assert again.header["seed"] == 2 and again.done == frozenset()


def test_a_journal_of_an_embedded_stand_blocks_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j"
    dead = Journal.start(path, {"plan_hash": "h", "users": 2, "target": "embedded"})
    dead.append(0, user(0))  # its stand, and so this user, ended with the process
    dead.close()
    assert Journal.start(path, {"plan_hash": "h", "users": 2, "target": "embedded"}).done == frozenset()


def test_a_symlink_at_the_journal_path_is_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    path = tmp_path / "dumps" / "j"
    path.parent.mkdir()
    path.symlink_to(outside)  # dangling
    with pytest.raises(JournalError, match=r"is a symbolic link"):
        Journal.start(path, {"plan_hash": "h", "users": 1})
    assert not outside.exists()


def test_a_failed_append_leaves_no_half_line(tmp_path: Path) -> None:
    path = tmp_path / "j"
    journal = Journal.start(path, {"plan_hash": "h", "users": 3})
    journal.append(0, user(0))
    size = path.stat().st_size
    os.close(journal._fd)  # the next write fails as a full disk would
    journal._fd = os.open(path, os.O_RDONLY)
    with pytest.raises(OSError, match=r"cannot write the journal"):
        journal.append(1, user(1))
    with pytest.raises(OSError, match=r"cannot write the journal"):  # and stays failed
        journal.append(2, user(2))
    journal.close()
    assert path.stat().st_size == size
    assert Journal.start(path, {"plan_hash": "h", "users": 3}, resume=True).done == {0}
