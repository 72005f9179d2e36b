"""``when_empty`` on ``/next`` and on leases: stop, wait:SECONDS, cycle, warn, over real sockets."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from seeding.service import Service

from .conftest import write_dump


async def _next(http: httpx.AsyncClient, strategy: str = "unique", **params: str) -> httpx.Response:
    return await http.post("/v1/dumps/few/next", params={"strategy": strategy, **params})


@pytest.mark.parametrize("strategy", ["unique", "shuffle"])
async def test_stop_is_the_default_and_cycle_starts_over(
    service: Service, http: httpx.AsyncClient, strategy: str
) -> None:
    write_dump(service.dumps_dir, "few", 3)
    first = sorted([(await _next(http, strategy)).json()["index"] for _ in range(3)])
    stopped = await _next(http, strategy, when_empty="stop")
    assert stopped.status_code == 409 and "when_empty=cycle|warn|wait:SECONDS decides" in stopped.json()["error"]
    again = sorted([(await _next(http, strategy, when_empty="cycle")).json()["index"] for _ in range(3)])
    assert first == again == [0, 1, 2]  # a second round, each once again
    assert (await _next(http, strategy)).status_code == 409


async def test_warn_hands_out_again_with_a_warning_logged_once(
    service: Service, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    write_dump(service.dumps_dir, "few", 2)
    for _ in range(2):
        await _next(http)
    warned = [await _next(http, when_empty="warn") for _ in range(4)]
    assert [a.status_code for a in warned] == [200] * 4
    assert {a.json()["index"] for a in warned} == {0, 1}
    assert all("handing out users again" in a.headers["X-Seeding-Warning"] for a in warned)
    assert sum("when_empty=warn" in r.getMessage() for r in caplog.records) == 1


async def test_wait_gets_a_user_once_one_comes_back_and_stops_at_its_bound(
    service: Service, http: httpx.AsyncClient
) -> None:
    write_dump(service.dumps_dir, "few", 1)
    lease = (await http.post("/v1/dumps/few/leases", params={"ttl": 30})).json()
    out = await http.post(f"/v1/leases/{lease['lease']}/quarantine", json={"reason": "wedged"})
    assert out.status_code == 200
    started = time.monotonic()
    assert (await _next(http, "cycle", when_empty="wait:0.3")).status_code == 409  # every user quarantined
    assert 0.25 < time.monotonic() - started < 3.0
    waiting = asyncio.create_task(_next(http, "random", when_empty="wait:10"))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await http.delete("/v1/dumps/few/quarantine/0")
    answer = await asyncio.wait_for(waiting, 5)
    assert answer.status_code == 200 and answer.json()["index"] == 0


async def test_a_lease_waits_with_when_empty_and_refuses_cycle_and_warn(
    service: Service, http: httpx.AsyncClient
) -> None:
    write_dump(service.dumps_dir, "few", 1)
    lease = (await http.post("/v1/dumps/few/leases", params={"ttl": 0.3})).json()
    again = await http.post("/v1/dumps/few/leases", params={"ttl": 5, "when_empty": "wait:5"})
    assert again.status_code == 201 and again.json()["index"] == lease["index"]
    for policy in ("cycle", "warn"):
        refused = await http.post("/v1/dumps/few/leases", params={"ttl": 5, "when_empty": policy})
        assert refused.status_code == 400 and "a lease is exclusive" in refused.json()["error"]


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ("later", "expected stop, wait:SECONDS, cycle or warn"),
        ("wait", "wait needs a number of seconds"),
        ("wait:x", "wait needs a number of seconds"),
        ("wait:0", "wait takes above 0 and at most 60 seconds"),
        ("wait:61", "wait takes above 0 and at most 60 seconds"),
        ("wait:nan", "wait takes above 0"),
        ("cycle:3", "expected stop, wait:SECONDS, cycle or warn"),
    ],
)
async def test_a_bad_when_empty_is_one_line(
    service: Service, http: httpx.AsyncClient, policy: str, fragment: str
) -> None:
    write_dump(service.dumps_dir, "few", 1)
    for answer in (
        await _next(http, when_empty=policy),
        await http.post("/v1/dumps/few/leases", params={"ttl": 5, "when_empty": policy}),
    ):
        assert answer.status_code == 400 and fragment in answer.json()["error"], answer.text
    assert (await _next(http)).json()["index"] == 0  # nothing was handed out by the refusals
