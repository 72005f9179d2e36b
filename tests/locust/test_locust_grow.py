"""``seeds-users = run`` with a rising ``--users``: the second Locust run grows the dump instead of re-seeding it.

The stand runs in this process (``Stand``), so what the runs created is counted on the stand itself;
Locust runs headless in a subprocess (never imported here: it patches the standard library).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from seeding import open_dump, read_meta
from seeding.stand import Stand

from .conftest import locust_env
from .test_locust_runs import RUN, records, seeding_lines

pytestmark = pytest.mark.timeout(120)


async def _locust(args: list[str], env: dict[str, str | Path], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "locust",
        *args,
        env=locust_env(env),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, err.decode()


def _entities(stand: Stand) -> int:
    """Everything the stand holds: users, accounts, cards, operations."""
    bank = stand.bank
    return len(bank.users) + len(bank.accounts) + len(bank.cards) + len(bank.operations)


def _owned(stand: Stand, user_ids: set[str]) -> int:
    """What the stand holds for these users: themselves, their accounts, cards and operations."""
    bank = stand.bank
    accounts = {account.id for account in bank.accounts.values() if account.user_id in user_ids}
    cards = sum(card.account_id in accounts for card in bank.cards.values())
    operations = sum(operation.account_id in accounts for operation in bank.operations.values())
    return len(user_ids) + len(accounts) + cards + operations


async def test_a_rising_users_grows_the_dump_seeding_only_the_added_users(
    data_dir: Path, scenario_plan: Path, tmp_path: Path
) -> None:
    async with Stand() as stand:
        conf = tmp_path / "run.conf"
        conf.write_text(
            f"locustfile = {data_dir / 'options_locustfile.py'}\n"
            f"host = {stand.http_url}\n"
            f"seeds-plan = {scenario_plan}\n"
            "seeds-users = run\n"
            "seeds-transport = http\n"
        )
        dump = tmp_path / "seeded" / "scenario-11-2_seeds.json"
        env: dict[str, str | Path] = {"SEEDS_RECORDS": tmp_path / "records", "LOCUST_SEEDS_DUMPS_DIR": dump.parent}
        (tmp_path / "records").mkdir()

        code, err = await _locust(["--config", str(conf), *RUN, "-u", "4"], env, tmp_path)
        assert code == 0, err[-3000:]
        first = open_dump(dump).users
        first_ids = [user.user_id for user in first]
        assert len(first_ids) == 4 and set(stand.bank.users) == set(first_ids)
        entities_before = _entities(stand)
        old_lines = [line for line in dump.read_bytes().splitlines() if line.startswith(b'{"user_id":')]

        for path in (tmp_path / "records").iterdir():
            path.unlink()
        code, err = await _locust(["--config", str(conf), *RUN, "-u", "7"], env, tmp_path)
        assert code == 0, err[-3000:]
        grown = open_dump(dump).users
        assert [user.user_id for user in grown][:4] == first_ids, "the first 4 users changed"
        new_lines = [line for line in dump.read_bytes().splitlines() if line.startswith(b'{"user_id":')]
        assert [line.rstrip(b",") for line in new_lines[:4]] == [line.rstrip(b",") for line in old_lines]
        assert len(grown) == 7 and len(stand.bank.users) == 7, seeding_lines(err)  # only 3 users created
        meta = read_meta(dump) or {}
        assert meta.get("grown_from") == 4, meta
        added = {user.user_id for user in grown[4:]}
        assert entities_before == _owned(stand, set(first_ids))  # the first run made only its users' entities
        assert _entities(stand) == entities_before + _owned(stand, added) > entities_before  # the second: only 3
        rows = records(tmp_path / "records")
        assert len(rows) == 7 and {user_id for _, _, user_id in rows} == {u.user_id for u in grown}
