"""``python -m seeding export --profile NAME`` and ``--strategy zipf:S`` (a weight column), from a real seeded dump."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest

import seeding
from seeding.plan._models import parse_plan
from seeding.stand import Stand

from ..dumps.test_dump_export import export
from ..engine.test_profiles_build import MIX


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-profile plan of 20 users, seeded on the stand over gRPC."""
    import asyncio

    dumps = tmp_path_factory.mktemp("dumps")

    async def seed() -> None:
        async with Stand() as stand:
            await seeding.build_seeds(
                parse_plan(MIX), transport="grpc", target=stand.grpc_target, dumps_dir=dumps, seed=9
            )

    asyncio.run(seed())
    return dumps / "mix_seeds.json"


def test_export_of_one_profile_keeps_dump_indices_and_adds_zipf_weights(mixed: Path) -> None:
    seeds = seeding.open_dump(mixed)
    heavy = seeds.profile_indices("heavy")
    done = export(mixed, "--format=csv", "--profile=heavy", "--strategy=zipf:1.1", cwd=mixed.parent)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [int(r["index"]) for r in rows] == heavy
    assert {r["profile"] for r in rows} == {"heavy"}
    assert [r["user_id"] for r in rows] == [seeds.users[i].user_id for i in heavy]
    weights = [float(r["weight"]) for r in rows]
    assert weights == pytest.approx([(rank + 1) ** -1.1 for rank in range(len(heavy))], rel=1e-5)
    assert all(r["credit_card_account_id"] for r in rows)


def test_export_of_every_profile_lists_every_field_any_user_has(mixed: Path) -> None:
    done = export(mixed, "--format=jsonl", cwd=mixed.parent)
    assert done.returncode == 0, done.stderr
    records = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 20 and len({tuple(r) for r in records}) == 1  # the same keys on every line
    assert {"debit_card_account_id", "credit_card_account_id", "profile"} <= set(records[0])
    light = [r for r in records if r["profile"] == "light"]
    assert light and all(r["credit_card_account_id"] == "" for r in light)


BAD = [
    (["--profile=medium"], "no user has the profile 'medium' (profiles: heavy, light)"),
    (["--strategy=random"], "--strategy: 'random' weighs every user alike"),
    (["--strategy=zipf:0"], "--strategy: strategy 'zipf:0': the exponent must be greater than 0"),
    (["--fields=user_id,weight"], "--fields: the weight field needs --strategy zipf:S"),
]


@pytest.mark.parametrize(("flags", "expected"), BAD)
def test_bad_profile_and_strategy_flags_are_one_line(mixed: Path, flags: list[str], expected: str) -> None:
    done = export(mixed, "--format=csv", *flags, cwd=mixed.parent)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and expected in done.stderr, done.stderr
