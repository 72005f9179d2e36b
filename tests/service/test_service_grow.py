"""``POST /v1/runs`` with ``"users"``: a dump of the plan's shape grows (only the missing users), or is reused."""

from __future__ import annotations

import httpx

from seeding.gateway import Transport
from seeding.service import Service
from seeding.stand import Stand

from .conftest import PLAN, wait_run

PER_USER = 6  # the plan's entities per user (36 for its 6 users: see test_service_runs.TOTALS)


def _lines(path) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [line.rstrip(b",") for line in path.read_bytes().splitlines() if line.startswith(b'{"user_id":')]


async def test_runs_with_a_rising_user_count_grow_the_dump_and_a_falling_one_reuses_it(
    service: Service, http: httpx.AsyncClient, transport: Transport
) -> None:
    dump = service.dumps_dir / "grow_seeds.json"
    async with Stand() as stand:
        base = {"plan": PLAN, "scenario": "grow", "transport": transport, "target": stand.target(transport)}
        finals = []
        for users in (6, 9, 4):
            answer = await http.post("/v1/runs", json={**base, "users": users})
            assert answer.status_code == 202, answer.text
            finals.append(await wait_run(http, answer.json()["run"]["id"]))
            if users == 6:
                first = _lines(dump)
            elif users == 9:
                grown = dump.read_bytes()
                assert len(_lines(dump)) == 9 and _lines(dump)[:6] == first, "the first 6 users changed"
                assert len(stand.bank.users) == 9
        assert [final["state"] for final in finals] == ["succeeded"] * 3, finals
        assert [final["calls"] for final in finals] == [6 * PER_USER, 3 * PER_USER, 0]
        assert finals[1]["planned"] == 3 * PER_USER and finals[2]["planned"] == 0
        assert dump.read_bytes() == grown and len(stand.bank.users) == 9
