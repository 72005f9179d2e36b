"""Forged feeder messages, over Locust's real runner messaging: each is dropped with one line, none obeyed.

``data/message_driver.py`` runs a master and two workers of ``SeedsFeeder`` in one subprocess
(Locust is never imported here), lets worker b, the master or a node that never joined send what
a row says, and reports the claims that followed, the log and the files. A dump of 4 seeded
users for 2 virtual users over 2 workers: a holds striped position 0, b position 1, and the
master's pool hands out 2 and 3.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from seeding import write_dump

from .conftest import DATA, locust_env

pytestmark = pytest.mark.timeout(60)

GEN = 1  # the master's first test run
DUMP_NAME = "s_seeds.json"


def run(tmp_path: Path, steps: list[list[Any]], *, b_has_dump: bool = True) -> dict[str, Any]:
    dump = write_dump(
        tmp_path / "dumps" / DUMP_NAME,
        {"scenario": "s"},
        [{"user_id": f"user-{i}", "debit_card_accounts": []} for i in range(4)],
    )
    (tmp_path / "scratch").mkdir()
    scenario = {
        "dump": str(dump),
        "worker_b_dump": str(dump if b_has_dump else tmp_path / "b" / DUMP_NAME),
        "root": str(tmp_path),
        "users": 2,
        "steps": steps,
    }
    done = subprocess.run(
        [sys.executable, str(DATA / "message_driver.py"), json.dumps(scenario)],
        env=locust_env({"TMPDIR": tmp_path / "scratch"}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=45,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def claims(report: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(row[0], row[1]) for row in report["claims"]]


def assert_dropped(report: dict[str, Any], *reasons: str) -> None:
    """One log line per bad message, in order, each naming its reason; nothing else loud, no traceback."""
    assert report["tracebacks"] == 0, report["logs"]
    loud = [message for level, _, message in report["logs"] if level in ("WARNING", "ERROR", "CRITICAL")]
    assert len(loud) == len(reasons), loud
    for line, reason in zip(loud, reasons, strict=True):
        assert reason in line, (reason, loud)
        assert DUMP_NAME in line and "\n" not in line


def sending_lines(report: dict[str, Any]) -> list[str]:
    return [message for _, _, message in report["logs"] if message.startswith("sending ")]


def valid_assignment(**changes: Any) -> dict[str, Any]:
    fields = {"strategy": "unique", "seeds": 4, "workers": 2, "slot": 1, "rounds": 1, "seed": 1, "generation": GEN}
    return {"assignment": {**fields, **changes}, "fingerprint": None, "meta": None}


# --------------------------------------------------------------------------- sent to the master


def test_a_release_of_another_workers_position_is_dropped(tmp_path):
    report = run(
        tmp_path,
        [
            ["claim", "a"],
            ["claim", "a"],  # a's second user takes position 2 from the master's pool
            ["send", "b", "release", {"generation": GEN, "position": 2}],
            ["claim", "b"],
            ["claim", "b"],
            ["claim", "a"],
        ],
    )
    assert claims(report) == [("a", 0), ("a", 2), ("b", 1), ("b", 3), ("a", "exhausted")]
    assert_dropped(report, "dropped release message from ")
    assert any("position 2 is not held by this worker" in message for _, _, message in report["logs"])


def test_a_position_released_three_times_is_granted_once(tmp_path):
    report = run(
        tmp_path,
        [
            ["claim", "a"],
            ["claim", "a"],
            ["release", "a", 1],  # the real release of position 2
            ["send", "a", "release", {"generation": GEN, "position": 2}],
            ["send", "a", "release", {"generation": GEN, "position": 2}],
            ["claim", "b"],
            ["claim", "b"],
            ["claim", "a"],
            ["claim", "b"],
        ],
    )
    assert claims(report) == [("a", 0), ("a", 2), ("b", 1), ("b", 2), ("a", 3), ("b", "exhausted")]
    assert_dropped(report, "position 2 is not held", "position 2 is not held")


NEVER_GRANTED = [
    # (position, why it is dropped)
    (-1, "position: Input should be greater than or equal to 0"),
    (10**18, "position 1000000000000000000 is not held"),
    (2**63 - 1, "position 9223372036854775807 is not held"),
    (2**64 - 1, "position: Input should be less than"),
    ("x", "position: Input should be a valid integer"),
    (2.0, "position: Input should be a valid integer"),
    (True, "position: Input should be a valid integer"),
    (None, "position: Input should be a valid integer"),
]


def test_releases_of_positions_never_granted_are_dropped(tmp_path):
    forged = [["send", "b", "release", {"generation": GEN, "position": position}] for position, _ in NEVER_GRANTED]
    report = run(tmp_path, [*forged, ["claim", "a"], ["claim", "a"]])
    assert claims(report) == [("a", 0), ("a", 2)]  # the pool hands out its own, as if nothing came
    assert_dropped(report, *(reason for _, reason in NEVER_GRANTED))


def test_malformed_messages_to_the_master_are_dropped_without_a_traceback(tmp_path):
    report = run(
        tmp_path,
        [
            ["send", "b", "release", "x"],
            ["send", "b", "release", {"position": 2}],
            ["send", "b", "claim", {"ticket": 7}],
            ["send", "b", "need", {}],
            ["send", "b", "need", {"generation": "../../x"}],
            ["send", "b", "claim", {"generation": GEN, "ticket": "x"}],
            ["claim", "a"],
            ["claim", "a"],
        ],
    )
    assert claims(report) == [("a", 0), ("a", 2)]
    assert_dropped(
        report,
        "dropped release message from",
        "generation: Field required",
        "generation: Field required",
        "generation: Field required",
        "generation: Input should be a valid integer",
        "ticket: Input should be a valid integer",
    )


@pytest.mark.parametrize(
    ("data", "loud"),
    [
        pytest.param(None, True, id="none"),
        pytest.param({}, True, id="no-feeder"),
        pytest.param({"feeder": 5}, True, id="feeder-not-text"),
        pytest.param({"feeder": ["s_seeds.json"]}, True, id="feeder-a-list"),
        pytest.param({"feeder": "other_seeds.json"}, False, id="another-feeder"),  # served later, or never: quiet
        pytest.param({"feeder": DUMP_NAME}, False, id="this-feeder"),  # a worker of the run: nothing to do
    ],
)
def test_every_hello_is_heard_by_the_master_and_a_bad_one_dropped_in_one_line(tmp_path, data, loud):
    report = run(tmp_path, [["send", "b", "hello", data], ["claim", "a"], ["claim", "a"]])
    assert claims(report) == [("a", 0), ("a", 2)]
    assert report["tracebacks"] == 0, report["logs"]
    lines = [message for level, _, message in report["logs"] if level in ("WARNING", "ERROR", "CRITICAL")]
    assert not [line for line in lines if "Unknown message type" in line], lines
    if loud:
        assert lines == [f'seeding:hello: dropped hello message from {report["nodes"]["b"]}: not {{"feeder": name}}']
    else:
        assert lines == []


def test_a_release_from_an_earlier_test_run_is_ignored_quietly(tmp_path):
    report = run(
        tmp_path,
        [
            ["claim", "a"],
            ["claim", "a"],
            ["send", "a", "release", {"generation": 0, "position": 2}],
            ["claim", "b"],
            ["claim", "b"],
        ],
    )
    assert claims(report) == [("a", 0), ("a", 2), ("b", 1), ("b", 3)]  # 2 stays a's
    assert_dropped(report)  # routine during a restart: a debug line, not a warning


def test_an_unknown_node_gets_neither_the_dump_nor_a_position(tmp_path):
    report = run(
        tmp_path,
        [
            ["intruder", "need", {"generation": GEN}],
            ["intruder", "claim", {"generation": GEN, "ticket": 0}],
            ["intruder", "hello", {"feeder": DUMP_NAME}],
            ["intruder", "release", {"generation": GEN, "position": 2}],
            ["claim", "a"],
            ["claim", "a"],
        ],
    )
    assert sending_lines(report) == []
    assert claims(report) == [("a", 0), ("a", 2)]
    assert_dropped(
        report,
        "need message from intruder-node: not a worker of this test run",
        "claim message from intruder-node: not a worker of this test run",
        "hello message from intruder-node: not a worker of this master",
        "release message from intruder-node: position 2 is not held",
    )


def test_a_worker_gets_the_dump_once_per_test_run(tmp_path):
    report = run(tmp_path, [["send", "b", "need", {"generation": GEN}], ["claim", "b"]], b_has_dump=False)
    assert len(sending_lines(report)) == 1  # the one b asked for when it found no dump
    assert report["ready"] == {"a": 4, "b": 4} and claims(report) == [("b", 1)]
    assert_dropped(report, "it was sent the seeded users of this test run already")


def test_positions_held_by_a_worker_that_left_come_back_when_the_pool_runs_dry(tmp_path):
    report = run(
        tmp_path, [["claim", "b"], ["claim", "b"], ["claim", "a"], ["claim", "a"], ["quit", "b"], ["claim", "a"]]
    )
    assert claims(report) == [("b", 1), ("b", 2), ("a", 0), ("a", 3), ("a", 2)]
    assert any("1 pooled positions held by workers that left are free again" in row[2] for row in report["logs"])


def test_a_worker_back_from_missing_forgets_the_users_given_to_others_and_never_frees_them(tmp_path):
    """b holds pooled position 2; the master has b missing and frees 2; b comes back. Its old claim of 2 is
    forgotten (its release sends nothing), b is never granted 2 again in this run, a gets it."""
    report = run(
        tmp_path,
        [
            ["claim", "b"],  # striped 1
            ["claim", "b"],  # pooled 2
            ["missing", "b"],
            ["back", "b"],
            ["claim", "b"],  # told first, then granted 3, not 2: a late release of 2 from b can free nothing
            ["release", "b", 1],  # the old claim of 2: forgotten, so nothing is sent
            ["send", "b", "release", {"generation": GEN, "position": 2}],  # as if sent before b heard: dropped
            ["claim", "a"],  # striped 0
            ["claim", "a"],  # 2, held by nobody else now
            ["claim", "a"],
            ["claim", "b"],
        ],
    )
    assert claims(report) == [("b", 1), ("b", 2), ("b", 3), ("a", 0), ("a", 2), ("a", "exhausted"), ("b", "exhausted")]
    messages = [message for _, _, message in report["logs"]]
    assert any("1 pooled positions held by workers that left are free again" in m for m in messages), messages
    assert_dropped(
        report,
        "is back after the master had it missing; 1 pooled positions it held were freed meanwhile",
        "the master had this worker missing (no heartbeat) and gave 1 of its seeded users to others meanwhile",
    )


def test_a_worker_marked_missing_that_stays_away_is_told_nothing_and_its_users_are_others(tmp_path):
    report = run(tmp_path, [["claim", "b"], ["claim", "b"], ["missing", "b"], ["claim", "a"], ["claim", "a"]])
    assert claims(report) == [("b", 1), ("b", 2), ("a", 0), ("a", 2)]
    assert_dropped(report)  # nothing loud: b never came back to be told


def test_a_grant_that_comes_after_its_claim_gave_up_goes_back_to_the_pool(tmp_path):
    report = run(
        tmp_path,
        [
            ["claim", "b"],
            ["patience", "b", 0],
            ["claim", "b"],  # gives up at once; the master's grant of 2 arrives after
            ["patience", "b", 5],
            ["claim", "a"],
            ["claim", "a"],
        ],
    )
    assert claims(report) == [("b", 1), ("b", "no answer"), ("a", 0), ("a", 2)]
    assert_dropped(report)


# --------------------------------------------------------------------------- sent to a worker


BAD_ASSIGNMENTS = [
    # (changes to a valid assignment, why it is dropped)
    ({"generation": "../../x"}, "assignment.generation: Input should be a valid integer"),
    ({"generation": -1}, "assignment.generation: Input should be greater than or equal to 0"),
    ({"slot": 2}, "assignment: Value error, slot 2 is not a rank among 2 workers"),
    ({"seeds": 0}, "assignment.seeds: Input should be greater than or equal to 1"),
    ({"rounds": 3}, "assignment: Value error, 3 rounds of 2 workers need more than 4 seeds"),
    ({"strategy": "evil"}, "assignment: Value error, strategy must be one of unique, shuffle, cycle, random, zipf"),
    ({"workers": "2"}, "assignment.workers: Input should be a valid integer"),
    ({"seed": 0.5}, "assignment.seed: Input should be a valid integer"),
]


def test_bad_assignments_are_dropped_and_the_worker_keeps_its_place(tmp_path):
    forged = [["master_send", "b", "assign", valid_assignment(**changes)] for changes, _ in BAD_ASSIGNMENTS]
    forged.append(["master_send", "b", "assign", {**valid_assignment(), "fingerprint": "../../x"}])
    forged.append(["master_send", "b", "assign", {**valid_assignment(), "meta": "x"}])
    report = run(tmp_path, [*forged, ["claim", "b"]])
    assert claims(report) == [("b", 1)]
    reasons = [reason for _, reason in BAD_ASSIGNMENTS] + ["fingerprint: String should match", "meta: Input should be"]
    assert_dropped(report, *("assign message from the master: " + reason for reason in reasons))
    assert report["files"] == [f"dumps/{DUMP_NAME}"]


def test_no_file_name_comes_from_a_message(tmp_path):
    """A worker without the dump receives it under a name of its own making, whatever the generation."""
    forged = valid_assignment(generation=777_777)
    forged["meta"] = {"scenario": "../../evil", "note": "x"}
    report = run(tmp_path, [["master_send", "b", "assign", forged]], b_has_dump=False)
    scratch = [Path(name) for name in report["files"] if name.startswith("scratch/")]
    assert len(scratch) == 2 and all(path.parent.parent == Path("scratch") for path in scratch)
    # the copy received at start (0-…) and the one now awaited (1-…, still a temporary file)
    assert [re.sub(r"\.\d+\.[0-9a-f]{8}\.tmp$", ".tmp", path.name) for path in sorted(scratch)] == [
        f".1-{DUMP_NAME}.tmp",
        f"0-{DUMP_NAME}",
    ]
    assert {name for name in report["files"] if not name.startswith("scratch/")} == {f"dumps/{DUMP_NAME}"}
    assert report["ready"]["b"] is None  # it waits for users of generation 777777 that never come
    assert_dropped(report)  # the master ignores b's "need" of a generation it never ran: routine


def chunk(*lines: str, last: bool | None = True) -> list[Any]:
    data: dict[str, Any] = {"generation": GEN, "lines": [{"$bytes": line} for line in lines]}
    if last is not None:
        data["last"] = last
    return ["master_send", "b", "chunk", data]


def test_chunks_that_are_not_what_was_announced_are_refused(tmp_path):
    reassign = ["master_send", "b", "assign", valid_assignment()]  # b lacks the dump: it receives afresh
    report = run(
        tmp_path,
        [
            chunk('{"user_id":"z"}'),  # b has all its users already
            ["master_send", "b", "chunk", {"generation": GEN, "lines": ["x"], "last": True}],
            chunk('{"user_id":"z"}', last=None),
            reassign,
            chunk('{"user_id":"a"},{"user_id":"b"}', last=False),
            reassign,
            chunk('{"user_id":"a"}\n{"user_id":"b"}'),
            reassign,
            chunk(*['{"user_id":"u"}'] * 5),
        ],
        b_has_dump=False,
    )
    assert report["ready"]["b"] is None  # none of it was taken for seeds
    # nor left on disk: only the copy b received at start
    assert [Path(name).name for name in report["files"] if name.startswith("scratch/")] == [f"0-{DUMP_NAME}"]
    assert_dropped(
        report,
        "chunk message from the master: no seeded users of generation 1 are awaited",
        "chunk message from the master: lines.0: Input should be a valid bytes",
        "chunk message from the master: last: Field required",
        # the master streams a worker the dump once per test run: b's new "need"s go unanswered
        "it was sent the seeded users of this test run already",
        "seeded user #0 from the master is not one user's JSON line",
        "it was sent the seeded users of this test run already",
        "seeded user #0 from the master is not one user's JSON line",
        "it was sent the seeded users of this test run already",
        "the master sent more than the 4 seeded users it announced",
    )


def test_a_grant_nobody_asked_for_is_dropped(tmp_path):
    report = run(
        tmp_path,
        [
            ["master_send", "b", "grant", {"generation": GEN, "ticket": 99, "position": 2}],
            ["master_send", "b", "grant", {"generation": GEN, "ticket": -1, "position": 2}],
            ["claim", "b"],
            ["claim", "b"],
        ],
    )
    assert claims(report) == [("b", 1), ("b", 2)]
    assert_dropped(
        report,
        "grant message from the master: no claim with ticket 99 is waiting",
        "grant message from the master: ticket: Input should be greater than or equal to 0",
    )


BAD_REVOCATIONS = [
    # (revoke message, why it is dropped: None when quietly, as routine)
    ({"generation": GEN, "positions": "2"}, "positions: Input should be a valid list"),
    ({"generation": GEN, "positions": []}, "positions: List should have at least 1 item"),
    ({"generation": GEN, "positions": [-1]}, "positions.0: Input should be greater than or equal to 0"),
    ({"generation": GEN, "positions": [True]}, "positions.0: Input should be a valid integer"),
    ({"generation": GEN, "positions": [2**63]}, "positions.0: Input should be less than"),
    ({"generation": "1", "positions": [2]}, "generation: Input should be a valid integer"),
    ({"positions": [2]}, "generation: Field required"),
    ({"generation": GEN + 5, "positions": [2]}, None),  # another test run's: ignored quietly
    ({"generation": GEN, "positions": [3, 0, 1]}, None),  # not pooled claims held here: nothing to forget
]


def test_bad_revocations_are_dropped_and_the_worker_keeps_its_users(tmp_path):
    forged = [["master_send", "b", "revoke", message] for message, _ in BAD_REVOCATIONS]
    report = run(
        tmp_path,
        [
            ["claim", "b"],
            ["claim", "b"],  # pooled 2
            *forged,
            ["release", "b", 1],  # still its own: released to the master, so a gets it
            ["claim", "a"],
            ["claim", "a"],
        ],
    )
    assert claims(report) == [("b", 1), ("b", 2), ("a", 0), ("a", 2)]
    assert_dropped(report, *(reason for _, reason in BAD_REVOCATIONS if reason is not None))
