"""``verify DUMP --repair`` through the real CLI against in-process stands over real sockets.

A stand that restarted (a new ``Stand``: every user stale) and a stand that lost a few users
(``Bank.delete_user``) are repaired; only the stale users are seeded again (counted on the stand),
every other user stays byte for byte at its index, and ``verify`` then finds nothing stale. A
repair interrupted by SIGINT keeps its journal and ``--resume`` finishes it.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import orjson
import pytest

from seeding import open_dump, read_meta, write_dump
from seeding.stand import Stand

from .test_cli_grow import CALLS_PER_USER, PLAN, Cli, calls, gateway, user_lines, wait_for_journal


async def seed(tmp_path: Path, stand: Stand, transport: str, count: int) -> Path:
    (tmp_path / "p.yaml").write_text(PLAN.format(count=count, ops=2))
    run = await Cli.run("p.yaml", *gateway(stand, transport), cwd=tmp_path)
    assert run.proc.returncode == 0, run.stderr
    return tmp_path / "dumps" / "p_seeds.json"


async def verify(dump: Path, stand: Stand, transport: str, *flags: str) -> Cli:
    return await Cli.run("verify", dump, "--sample", "0", *gateway(stand, transport), *flags, cwd=dump.parent.parent)


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_repair_after_a_stand_restart_reseeds_every_user(tmp_path: Path, transport: str) -> None:
    async with Stand() as first:
        dump = await seed(tmp_path, first, transport, 6)
    seed_before = read_meta(dump)["seed"]  # type: ignore[index]
    async with Stand() as restarted:  # a restarted stand: none of the dump's users exist
        stale = await verify(dump, restarted, transport)
        assert stale.proc.returncode == 1 and "6 stale" in stale.stdout, stale.stdout + stale.stderr
        repaired = await verify(dump, restarted, transport, "--repair")
        assert repaired.proc.returncode == 0, repaired.stderr
        assert "checked 6, stale 6" in repaired.stdout and "repaired 6" in repaired.stdout, repaired.stdout
        assert len(restarted.bank.users) == 6
        assert {user.user_id for user in open_dump(dump).users} == set(restarted.bank.users)
        clean = await verify(dump, restarted, transport)
        assert clean.proc.returncode == 0 and ": 0 stale" in clean.stdout, clean.stdout + clean.stderr
        meta = read_meta(dump)
        assert meta is not None and meta["seed"] == seed_before and meta["repaired"]["users"] == 6
        assert meta["counts"]["users"] == 6 and meta["target"] == restarted.target(transport)  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_repair_after_deleting_a_few_users_reseeds_only_those(tmp_path: Path, transport: str) -> None:
    async with Stand() as stand:
        dump = await seed(tmp_path, stand, transport, 8)
        before = user_lines(dump)
        users = open_dump(dump).users
        for index in (1, 5):
            stand.bank.delete_user(users[index].user_id)
        quiet = calls(stand)
        repaired = await verify(dump, stand, transport, "--repair")
        assert repaired.proc.returncode == 0, repaired.stderr
        assert "checked 8, stale 2" in repaired.stdout and "repaired 2" in repaired.stdout, repaired.stdout
        assert "stale: user #1 " in repaired.stdout and "stale: user #5 " in repaired.stdout
        after = user_lines(dump)
        assert len(after) == 8 and after[1] != before[1] and after[5] != before[5]
        assert [line for i, line in enumerate(after) if i not in (1, 5)] == [
            line for i, line in enumerate(before) if i not in (1, 5)
        ], "a user that was not stale changed"
        assert len(stand.bank.users) == 8 and {u.user_id for u in open_dump(dump).users} == set(stand.bank.users)
        reads = calls(stand) - quiet - 2 * CALLS_PER_USER
        assert 0 < reads <= 8 * 3 + 2, reads  # the check's reads (user, accounts, one operation) + pre-flight
        clean = await verify(dump, stand, transport)
        assert clean.proc.returncode == 0 and ": 0 stale" in clean.stdout, clean.stdout


async def test_a_repair_by_scenario_name_as_the_docs_show_it(tmp_path: Path) -> None:
    # `seeding verify p --sample 0 --repair`: the bare name is found in the dumps dir, and the repair rewrites
    # that file (it compared the name given with the file's and refused every such repair).
    async with Stand() as stand:
        dump = await seed(tmp_path, stand, "grpc", 4)
        stand.bank.delete_user(open_dump(dump).users[2].user_id)
        repaired = await Cli.run("verify", "p", "--sample", "0", "--repair", *gateway(stand, "grpc"), cwd=tmp_path)
        assert repaired.proc.returncode == 0, repaired.stderr
        assert "checked 4, stale 1" in repaired.stdout and "repaired 1" in repaired.stdout, repaired.stdout
        assert {user.user_id for user in open_dump(dump).users} == set(stand.bank.users)


async def test_a_repair_interrupted_by_sigint_resumes_from_its_journal(tmp_path: Path) -> None:
    async with Stand() as first:
        dump = await seed(tmp_path, first, "grpc", 12)
    journal = dump.with_suffix(".journal")
    async with Stand(latency_ms=10, max_in_flight=1) as restarted:  # one call at a time: users finish one by one
        args = ("verify", dump, "--sample", "0", "--repair", *gateway(restarted, "grpc"))
        repair = await Cli.start(*args, cwd=tmp_path)
        before = dump.read_bytes()
        await wait_for_journal(journal, 2, repair)
        repair.proc.send_signal(signal.SIGINT)
        assert await repair.finish() == 1
        line = repair.stderr.strip().splitlines()[-1]
        assert "interrupted" in line and "the dump is not rewritten yet" in line, repair.stderr
        assert line.endswith(f"finish with: python -m seeding verify {dump} --repair --resume"), line
        assert dump.read_bytes() == before and journal.exists()
        kept = {
            record["index"]: record["user"]["user_id"]
            for record in map(orjson.loads, journal.read_bytes().splitlines()[1:])
            if "user" in record
        }
        assert kept

        again = await Cli.run(*args, cwd=tmp_path)  # without --resume: refused, the journal is kept
        assert again.proc.returncode == 2 and "pass --resume" in again.stderr, again.stderr

        resumed = await Cli.run(*args, "--resume", cwd=tmp_path)
        assert resumed.proc.returncode == 0, resumed.stderr
        assert "stale 12 (from the journal of the interrupted repair), repaired 12" in resumed.stdout, resumed.stdout
        assert not journal.exists()
        ids = {user.user_id for user in open_dump(dump).users}
        assert len(ids) == 12 and ids <= set(restarted.bank.users)
        users = open_dump(dump).users
        assert all(users[index].user_id == user_id for index, user_id in kept.items()), "a journaled user was redone"
        clean = await Cli.run("verify", dump, "--sample", "0", *gateway(restarted, "grpc"), cwd=tmp_path)
        assert clean.proc.returncode == 0 and ": 0 stale" in clean.stdout, clean.stdout


def _old_dump(tmp_path: Path) -> Path:
    path = tmp_path / "dumps" / "p_seeds.json"
    meta = {"scenario": "p", "transport": "grpc", "target": "127.0.0.1:1", "counts": {"users": 1}}
    return write_dump(path, meta, [{"user_id": "u0", "debit_card_accounts": []}])


BAD = [
    # (case, flags, exit code, words of the one line)
    ("--resume without --repair", ["--resume"], 2, ["--resume goes with --repair"]),
    ("a dump without a recorded shape", ["--repair"], 2, ["records no plan and shape"]),
]


@pytest.mark.parametrize(("case", "flags", "code", "words"), BAD, ids=[row[0] for row in BAD])
async def test_bad_repairs_are_one_line_and_rewrite_nothing(tmp_path, case, flags, code, words) -> None:
    dump = _old_dump(tmp_path)
    before = dump.read_bytes()
    run = await Cli.run("verify", dump, *flags, cwd=tmp_path)
    assert run.proc.returncode == code, (case, run.stderr)
    assert len(run.stderr.strip().splitlines()) == 1 and all(word in run.stderr for word in words), run.stderr
    assert dump.read_bytes() == before


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_a_repair_whose_gateway_is_unreachable_rewrites_nothing(
    tmp_path: Path, transport: str, free_port: int
) -> None:
    async with Stand() as stand:
        dump = await seed(tmp_path, stand, transport, 3)
    before = dump.read_bytes()
    flag = "--grpc-target" if transport == "grpc" else "--http-url"
    address = f"127.0.0.1:{free_port}" if transport == "grpc" else f"http://127.0.0.1:{free_port}"
    run = await Cli.run("verify", dump, "--repair", "--transport", transport, flag, address, cwd=tmp_path)
    assert run.proc.returncode == 1, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "cannot reach the gateway" in run.stderr and "nothing rewritten" in run.stderr
    assert dump.read_bytes() == before and not dump.with_suffix(".journal").exists()
    await asyncio.sleep(0)


@pytest.mark.parametrize("repair", [False, True], ids=["verify", "repair"])
async def test_a_server_that_is_not_the_gateway_is_one_line_not_every_user_gone(tmp_path: Path, repair: bool) -> None:
    # A gRPC server with none of the gateway's services answers UNIMPLEMENTED to every call: that is not "the user
    # is gone" (every user was stale, and --repair would have seeded them all again), it is one line, nothing touched.
    import grpc

    async with Stand() as stand:
        dump = await seed(tmp_path, stand, "grpc", 3)
    before = dump.read_bytes()
    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        flags = ["--repair"] if repair else []
        run = await Cli.run("verify", dump, "--sample", "0", "--grpc-target", f"127.0.0.1:{port}", *flags, cwd=tmp_path)
    finally:
        await server.stop(None)
    assert run.proc.returncode == 1, (run.stdout, run.stderr)
    assert "stale:" not in run.stdout and len(run.stderr.strip().splitlines()) == 1, (run.stdout, run.stderr)
    assert "UNIMPLEMENTED" in run.stderr, run.stderr
    assert dump.read_bytes() == before


async def test_a_dump_naming_no_transport_of_ours_is_one_line(tmp_path: Path) -> None:
    # meta.transport "carrier-pigeon": verify fell back to the settings' gateway (localhost:9003) without a word.
    path = tmp_path / "dumps" / "p_seeds.json"
    meta = {"scenario": "p", "transport": "carrier-pigeon", "target": "coop:1", "counts": {"users": 1}}
    write_dump(path, meta, [{"user_id": "u0", "debit_card_accounts": []}])
    run = await Cli.run("verify", path, cwd=tmp_path)
    assert run.proc.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "its meta.transport 'carrier-pigeon' is not grpc or http; pass --transport" in run.stderr, run.stderr
