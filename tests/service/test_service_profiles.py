"""``/next?profile=…`` and ``strategy=zipf:S`` over real sockets: only that profile's users, each once; hot users."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from seeding import DumpWriter, dump_path
from seeding.dumps._result import index_profiles
from seeding.plan._profiles import ProfileSchedule
from seeding.service import Service, _dumps

from .conftest import write_dump


def write_profile_dump(dumps: Path, scenario: str, users: int) -> dict[str, list[int]]:
    """A dump whose users are light or heavy (1 heavy in 4, interleaved as a plan's profiles are)."""
    schedule = ProfileSchedule([3, 1])
    members: dict[str, list[int]] = {"light": [], "heavy": []}
    with DumpWriter(dump_path(scenario, dumps), {"scenario": scenario, "plan_hash": "x"}) as writer:
        for i in range(users):
            profile = ("light", "heavy")[schedule[i]]
            members[profile].append(i)
            writer.write({"user_id": f"u-{i}", "profile": profile, "debit_card_accounts": []})
    return members


async def _next(http: httpx.AsyncClient, scenario: str, **params: str) -> httpx.Response:
    return await http.post(f"/v1/dumps/{scenario}/next", params=params)


async def test_200_concurrent_calls_for_heavy_users_hand_out_only_heavy_ones_each_once(
    service: Service, http: httpx.AsyncClient
) -> None:
    members = write_profile_dump(service.dumps_dir, "mix", 80)
    answers = await asyncio.gather(*(_next(http, "mix", profile="heavy") for _ in range(200)))
    ok = [a.json() for a in answers if a.status_code == 200]
    refused = [a.json()["error"] for a in answers if a.status_code == 409]
    assert len(ok) == 20 and len(refused) == 180
    assert sorted(a["index"] for a in ok) == members["heavy"]
    assert all(a["user"]["profile"] == "heavy" for a in ok)
    assert "all 20 users of profile 'heavy' were handed out" in refused[0]
    # the record is the dump's: unique without a profile gives the light users left, never a heavy one
    rest = await asyncio.gather(*(_next(http, "mix") for _ in range(61)))
    indices = [a.json()["index"] for a in rest if a.status_code == 200]
    assert sorted(indices) == members["light"] and sum(a.status_code == 409 for a in rest) == 1
    # shuffle within a profile, after a reset
    assert (await http.post("/v1/dumps/mix/reset")).status_code == 200
    shuffled = [(await _next(http, "mix", profile="light", strategy="shuffle")).json()["index"] for _ in range(60)]
    assert sorted(shuffled) == members["light"] and shuffled != members["light"]


async def test_zipf_hands_out_hot_users_most(service: Service, http: httpx.AsyncClient) -> None:
    write_dump(service.dumps_dir, "hot", 20)
    seen: Counter[int] = Counter()
    for _ in range(30):
        answers = await asyncio.gather(*(_next(http, "hot", strategy="zipf:1.2") for _ in range(50)))
        seen.update(a.json()["index"] for a in answers)
    assert sum(seen.values()) == 1500
    # P(user 0) = 1/H(20, 1.2) ≈ 0.31, P(user 9) ≈ 0.02: bounds far outside any sampling noise
    assert 0.22 * 1500 < seen[0] < 0.40 * 1500
    assert seen[0] > 4 * seen[9] and seen[1] > seen[10]


BAD = [
    # (scenario, query, status, what the error says)
    ("mix", {"profile": "medium"}, 404, "no user has the profile 'medium' (profiles: heavy, light)"),
    ("plain", {"profile": "heavy"}, 404, "(profiles: none: its plan has no profiles)"),
    ("mix", {"strategy": "zipf:0"}, 400, "the exponent must be greater than 0"),
    ("mix", {"strategy": "zipf:-1"}, 400, "the exponent must be greater than 0"),
    ("mix", {"strategy": "zipf:hot"}, 400, "the exponent must be a number"),
    ("mix", {"strategy": "unique:2"}, 400, "strategy 'unique' takes no parameter"),
    ("mix", {"strategy": "zipff"}, 400, "strategy 'zipff' is not one of unique, shuffle, cycle, random, zipf"),
]


@pytest.mark.parametrize(("scenario", "query", "status", "expected"), BAD)
async def test_bad_profiles_and_strategies_are_one_line(
    service: Service, http: httpx.AsyncClient, scenario: str, query: dict[str, str], status: int, expected: str
) -> None:
    write_profile_dump(service.dumps_dir, "mix", 8)
    write_dump(service.dumps_dir, "plain", 4)
    answer = await _next(http, scenario, **query)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert "\n" not in error and expected in error, error


@contextlib.contextmanager
def _service_in_thread(dumps: Path, plans: Path) -> Iterator[str]:
    """A service on its own event loop in a thread: its clients (the test's loop) never share its loop."""
    started: queue.Queue[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = queue.Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        async with Service(dumps_dir=dumps, plans_dir=plans) as running:
            started.put((running.url, asyncio.get_running_loop(), stop))
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    url, loop, stop = started.get(timeout=30)
    try:
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)


async def test_healthz_answers_while_a_dumps_first_profile_scan_runs_and_first_requests_share_it(
    dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[int] = []

    def counted(users: Any) -> dict[str, list[int]]:
        scans.append(len(users))
        return index_profiles(users)

    monkeypatch.setattr(_dumps, "index_profiles", counted)
    members = write_profile_dump(dirs[0], "big", 200_000)  # its scan takes ~0.5 s here, ~0.1 s on a fast machine
    with _service_in_thread(*dirs) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60.0) as http:
            first = [
                asyncio.ensure_future(_next(http, "big", profile=name)) for name in ("heavy", "light", "heavy", "light")
            ]
            await asyncio.sleep(0.05)  # the scan has begun
            answered_meanwhile = 0
            for _ in range(2_000):  # bounded: at most ~20 s of polling
                if all(task.done() for task in first):
                    break
                sent = asyncio.get_running_loop().time()
                health = await http.get("/healthz", timeout=10.0)
                assert health.status_code == 200
                if not any(task.done() for task in first):
                    answered_meanwhile += 1
                    assert asyncio.get_running_loop().time() - sent < 5.0
                await asyncio.sleep(0.01)
            answers = [(await task).json() for task in first]
    assert [a["user"]["profile"] for a in answers] == ["heavy", "light", "heavy", "light"]
    assert answers[0]["index"] in members["heavy"] and answers[1]["index"] in members["light"]
    assert len({a["index"] for a in answers}) == 4
    assert scans == [200_000]  # four first requests, one scan
    assert answered_meanwhile >= 3, "the service stopped answering /healthz while it read the dump's profiles"
