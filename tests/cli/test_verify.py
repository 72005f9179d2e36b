"""``python -m seeding verify``: a dump checked against a live stand, a wiped one, and a doctored dump."""

from __future__ import annotations

import orjson
import pytest

from seeding import open_dump, read_meta, write_dump
from seeding.cli._main import main
from seeding.stand import StandProcess


def verify(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, list[str], str]:
    """``python -m seeding verify ARGS`` in this process: exit code, stdout lines, stderr."""
    try:
        code = main(["verify", *map(str, args)])
    except SystemExit as exit_:  # argparse's way out, as under ``python -m seeding``
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def flags(stand: StandProcess, transport: str) -> list[str]:
    target = f"--grpc-target={stand.grpc_target}" if transport == "grpc" else f"--http-url={stand.http_url}"
    return [f"--transport={transport}", target]


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_live_stand_passes_and_a_restarted_one_is_stale(seed_dump, scenario_plan, tmp_path, capsys, transport):
    with StandProcess() as stand:
        dump = seed_dump(scenario_plan, stand, tmp_path, transport)
        code, out, err = verify(capsys, dump, "--sample=0", *flags(stand, transport))
        assert code == 0, err
        assert out[-1].endswith(": 0 stale")
        # 40 cards the plan issued and the 40 the accounts opened with (``opened_cards``)
        assert (
            "checked 10 users, 20 accounts, 80 cards (40 of them opened with the accounts), "
            "20 operations (one per account)" in out[-1]
        )

    with StandProcess() as wiped:  # the same code, none of the data
        code, out, err = verify(capsys, dump, "--sample=4", "--seed=3", *flags(wiped, transport))

    assert code == 1, err
    seeds = open_dump(dump)
    stale = [line for line in out if line.startswith("stale:")]
    assert len(stale) == 4
    for line in stale:
        index = int(line.split("#")[1].split()[0])
        assert f"user #{index} ({seeds.users[index].user_id}): the user is gone" in line
    assert out[-1].endswith("4 stale; the dump was made on " + (read_meta(dump) or {})["target"])


def test_accounts_cards_and_operations_are_checked_too(seed_dump, scenario_plan, tmp_path, capsys):
    with StandProcess() as stand:
        dump = seed_dump(scenario_plan, stand, tmp_path, "grpc")
        users = [orjson.loads(orjson.dumps(user.model_dump())) for user in open_dump(dump).users]
        # User #6 keeps its id but one account, one card and every operation of another account are doctored.
        debit, credit = users[6]["debit_card_accounts"][0], users[6]["credit_card_accounts"][0]
        debit["account_id"] = "00000000-0000-4000-8000-00000000000a"
        credit["virtual_cards"][0]["card_id"] = "00000000-0000-4000-8000-00000000000c"
        credit["opened_cards"][0]["card_id"] = "00000000-0000-4000-8000-00000000000d"
        for kind in ("top_up_operations", "purchase_operations", "transfer_operations", "cash_withdrawal_operations"):
            credit[kind][0]["operation_id"] = "00000000-0000-4000-8000-00000000000e"
        doctored = write_dump(tmp_path / "doctored_seeds.json", {"scenario": "doctored"}, users)

        code, out, _ = verify(capsys, doctored, "--sample=0", *flags(stand, "grpc"))

    assert code == 1
    stale = [line for line in out if line.startswith("stale:")]
    user = f"stale: user #6 ({users[6]['user_id']}): "
    fake = "00000000-0000-4000-8000-00000000000"
    assert stale == [
        f"{user}debit_card_accounts account {fake}a is not among the user's accounts",
        f"{user}virtual_cards card {fake}c is not on account {credit['account_id']}",
        f"{user}opened_cards card {fake}d is not on account {credit['account_id']}",
        stale[3],
    ]
    assert stale[3].startswith(user) and f"operation {fake}e is gone (GetOperation: NOT_FOUND)" in stale[3]


def test_unreachable_gateway_and_bad_usage(tmp_path, capsys, free_port):
    dump = write_dump(tmp_path / "s_seeds.json", {}, [{"user_id": "u"}])
    code, _, err = verify(capsys, dump, "--transport=grpc", f"--grpc-target=127.0.0.1:{free_port}")
    assert (
        code == 1
        and err.startswith("python -m seeding verify: error: cannot reach the gateway")
        and err.count("\n") == 1
    )
    code, _, err = verify(capsys, tmp_path / "missing_seeds.json")
    assert code == 2 and "no such dump" in err and err.count("\n") == 1
    code, _, err = verify(capsys, dump, "--sample=many")
    assert code == 2 and "--sample" in err and err.count("\n") == 1


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_transient_failures_are_retried_not_reported(
    seed_dump, scenario_plan, tmp_path, capsys, monkeypatch, transport
):
    # A gateway failing one call in five: the reads are retried with the run's policy, and only a
    # verify told not to retry fails, with one line naming the read.
    with StandProcess(fail_rate=0.2, seed=1) as stand:
        dump = seed_dump(scenario_plan, stand, tmp_path, transport)
        code, out, err = verify(capsys, dump, "--sample=0", *flags(stand, transport))
        assert code == 0, err
        assert out[-1].endswith(": 0 stale") and "reads retried)" in out[-1]
        assert (
            "checked 10 users, 20 accounts, 80 cards (40 of them opened with the accounts), "
            "20 operations (one per account)" in out[-1]
        )

        code, out, err = verify(capsys, dump, "--sample=0", "--retries=0", *flags(stand, transport))
        assert code == 1 and not [line for line in out if line.startswith("stale:")]
        assert err.startswith("python -m seeding verify: error: ") and err.count("\n") == 1
        assert "temporarily unavailable" in err or "503" in err

        monkeypatch.setenv("SEEDING_RETRIES", "0")  # the settings' count when no flag says otherwise
        assert verify(capsys, dump, "--sample=0", *flags(stand, transport))[0] == 1


@pytest.mark.parametrize("value", ["-1", "1001", "x", ""])
def test_bad_retries_are_usage_errors(tmp_path, capsys, value):
    dump = write_dump(tmp_path / "s_seeds.json", {}, [{"user_id": "u"}])
    code, _, err = verify(capsys, dump, f"--retries={value}")
    assert code == 2 and "--retries" in err and err.count("\n") == 1


def test_a_damaged_user_is_bad_input_for_verify_and_repair_and_nothing_is_rewritten(
    seed_dump, scenario_plan, tmp_path, capsys
):
    """A user record of the wrong shape is a damaged file (exit 2, one line naming the file and user), not a stale
    user (exit 1): a repair would re-seed users that are on the gateway."""
    with StandProcess() as stand:
        dump = seed_dump(scenario_plan, stand, tmp_path, "grpc")
        data = orjson.loads(dump.read_bytes())
        data["users"][3]["debit_card_accounts"][0]["account_id"] = 5
        dump.write_bytes(orjson.dumps(data))
        damaged = dump.read_bytes()

        code, out, err = verify(capsys, dump, "--sample=0", *flags(stand, "grpc"))
        assert code == 2 and not out and err.count("\n") == 1, err
        assert f"{dump}:1: user #3 is corrupt: debit_card_accounts.0.account_id: " in err

        code, out, err = verify(capsys, dump, "--sample=0", "--repair", *flags(stand, "grpc"))
        assert code == 2 and err.count("\n") == 1, err
        assert "user #3 is corrupt" in err and err.rstrip().endswith("nothing rewritten")
        assert dump.read_bytes() == damaged
