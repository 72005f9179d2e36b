"""``seeding.build_seeds``: the Python entry point seeds a plan and returns the opened dump."""

from __future__ import annotations

from pathlib import Path

import pytest

import seeding
from seeding import BuildOptions, GatewayUnreachableError, SeedsPlan, SeedUsersPlan, read_meta
from seeding.gateway import Transport
from seeding.stand import Stand

PLAN = Path(__file__).resolve().parents[2] / "plans" / "scenario-11-2.yaml"


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_build_seeds_from_a_plan_file(stand: Stand, tmp_path: Path, transport: Transport) -> None:
    seeds = await seeding.build_seeds(
        PLAN, transport=transport, target=stand.target(transport), dumps_dir=tmp_path, seed=3
    )
    assert len(seeds.users) == 10
    assert seeds.get_next_user().user_id == seeds.users[0].user_id
    dump = tmp_path / "scenario-11-2_seeds.json"
    meta = read_meta(dump)
    assert meta is not None and meta["seed"] == 3 and meta["transport"] == transport
    assert {user.user_id for user in seeds.users} <= set(stand.bank.users)


async def test_build_seeds_from_a_course_style_plan_object(stand: Stand, tmp_path: Path) -> None:
    plan = SeedsPlan(scenario="objects", users=SeedUsersPlan(count=4))
    seeds = await seeding.build_seeds(
        plan, target=stand.grpc_target, transport="grpc", dumps_dir=tmp_path, options=BuildOptions(concurrency=2)
    )
    assert len(seeds.users) == 4 and (tmp_path / "objects_seeds.json").exists()


async def test_build_seeds_names_an_unreachable_target(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GatewayUnreachableError, match=f"127.0.0.1:{port}"):
        await seeding.build_seeds(PLAN, transport="grpc", target=f"127.0.0.1:{port}", dumps_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
