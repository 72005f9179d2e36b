"""The service under load: unique hand-outs per second at 1, 10 and 100 clients, and what watching a run costs.

    python bench/service_handouts.py [--seconds 3] [--users 400000] [--clients 1,10,100]

Hand-outs: ``python -m seeding serve`` runs in its own process, pinned to one core; the load comes
from another process (pinned to another core where there is one), a small keep-alive HTTP/1.1
client on asyncio streams so that the client costs less than the server it measures. Each level
resets the sequence and then POSTs ``/v1/dumps/bench/next?strategy=unique`` from N connections
for ``--seconds``; every answer is checked (200, and exactly-once: the indices received are all
distinct). Goal: 5,000 unique hand-outs/s at 100 clients on one core. A last level
asks ``GET /healthz`` instead, the ceiling aiohttp itself sets on this machine at that moment.

Watching a run: the same service seeds a plan into a stand in a third process (2 ms of latency per
call), once with nobody watching, once with one client and once with ten clients reading
``/v1/runs/{id}/events`` (plain sockets, so the watchers' own CPU stays out of it); the wall time
is from the POST to the end of the run (read from the record, polled every 50 ms in every case).
The rounds alternate, and the median of each is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seeding import DumpWriter, dump_path  # noqa: E402
from seeding.service import ServiceProcess  # noqa: E402
from seeding.stand import StandProcess  # noqa: E402

GOAL = 5000.0
PLAN = {"scenario": "watched", "users": {"count": 500, "debit_card_accounts": {"count": 1, "top_up_operations": 2}}}


def make_dump(dumps: Path, users: int) -> None:
    """A dump of ``users`` users shaped like scenario 11.2's (ids only matter here)."""
    meta = {"scenario": "bench", "counts": {"users": users}}
    account = '{"account_id":"%s","physical_cards":[{"card_id":"c"}],"top_up_operations":[{"operation_id":"o"}]}'
    with DumpWriter(dump_path("bench", dumps), meta) as writer:
        for i in range(users):
            acc = account % f"a{i:08d}"
            writer.write(
                b'{"user_id":"u%08d","debit_card_accounts":[%s],"credit_card_accounts":[]}' % (i, acc.encode())
            )


# --- the load generator (its own process) ------------------------------------------------------


async def _client(host: str, port: int, request: bytes, until: float, indices: list[int], codes: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < until:
            writer.write(request)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) != b"\r\n":
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            codes.append(status)
            if status == 200 and body.startswith(b'{"index":'):
                indices.append(int(body[9 : body.index(b",")]))  # {"index":N,"user":...}
            elif status == 409:
                break  # nobody left: the dump is too small for this rate and duration
    finally:
        writer.close()


def _load(url: str, clients: int, seconds: float, route: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    host, port = url.removeprefix("http://").rsplit(":", 1)
    request = f"{route} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"
    indices: list[int] = []
    codes: list[int] = []

    async def main() -> float:
        until = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(
            *(_client(host, int(port), request.encode(), until, indices, codes) for _ in range(clients))
        )
        return time.monotonic() - started

    elapsed = asyncio.run(main())
    queue.put((len(indices), len(set(indices)), codes.count(200), len(codes), elapsed))


def load(url: str, clients: int, seconds: float, route: str) -> tuple[int, int, int, int, float]:
    """(hand-outs, distinct hand-outs, 200 answers, answers, seconds) of one load level."""
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    process = context.Process(target=_load, args=(url, clients, seconds, route, queue))
    process.start()
    result = queue.get(timeout=seconds + 60)
    process.join(10)
    return result


def handouts(url: str, clients: int, seconds: float) -> tuple[float, int]:
    httpx.post(f"{url}/v1/dumps/bench/reset", timeout=30).raise_for_status()
    handed, distinct, ok, answered, elapsed = load(url, clients, seconds, "POST /v1/dumps/bench/next?strategy=unique")
    assert handed == distinct == ok == answered, f"{handed} hand-outs, {distinct} distinct, {ok} 200s of {answered}"
    return handed / elapsed, handed


# --- watching a run ----------------------------------------------------------------------------


def _watch(url: str, run_id: str) -> None:
    """Read the run's events to their end on a plain socket: a watcher that costs the machine nothing.

    (An httpx client per watcher costs tens of ms of CPU to set up, which on two cores slows the
    service and the stand it shares them with, and would be counted against the service.)
    """
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=120) as conn:
        conn.sendall(f"GET /v1/runs/{run_id}/events HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    assert b"event: end" in received, received[-300:]


def run_wall_time(url: str, target: str, watchers: int) -> float:
    started = time.monotonic()
    answer = httpx.post(f"{url}/v1/runs", json={"plan": PLAN, "transport": "grpc", "target": target}, timeout=30)
    answer.raise_for_status()
    run_id = answer.json()["run"]["id"]
    threads = [threading.Thread(target=_watch, args=(url, run_id), daemon=True) for _ in range(watchers)]
    for thread in threads:
        thread.start()
    with httpx.Client(base_url=url, timeout=30) as http:
        while (run := http.get(f"/v1/runs/{run_id}").json()["run"])["state"] in ("queued", "running"):
            time.sleep(0.05)
    elapsed = time.monotonic() - started
    assert run["state"] == "succeeded", run
    for thread in threads:
        thread.join(10)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--users", type=int, default=400_000)
    parser.add_argument("--clients", default="1,10,100")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count()
    print(f"machine: {cores} cores, {sys.platform}, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="seeding-bench-") as scratch:
        dumps = Path(scratch) / "dumps"
        make_dump(dumps, args.users)
        with ServiceProcess(dumps_dir=dumps, plans_dir=Path(scratch)) as service:
            if hasattr(os, "sched_setaffinity") and (cores or 1) > 1:
                os.sched_setaffinity(service.pid, {0})
            print(f"\nunique hand-outs, server pinned to one core, load from another process, {args.seconds:g} s each")
            for clients in (int(c) for c in args.clients.split(",")):
                rate, handed = handouts(service.url, clients, args.seconds)
                print(
                    f"  {clients:4d} clients: {rate:8,.0f} hand-outs/s ({handed:,} handed out, all distinct)"
                    f"  {rate / GOAL:5.2f}x the {GOAL:,.0f}/s goal"
                )
            _, _, ok, answered, elapsed = load(service.url, 100, args.seconds, "GET /healthz")
            assert ok == answered
            print(
                f"  baseline: GET /healthz (a route that does nothing) at 100 clients: {ok / elapsed:8,.0f} answers/s"
            )
            if hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(service.pid, set(range(cores or 1)))
            if args.rounds < 1:
                return
            with StandProcess(latency_ms=2) as stand:
                times: dict[int, list[float]] = {0: [], 1: [], 10: []}
                for _ in range(args.rounds):
                    for watchers in times:
                        times[watchers].append(run_wall_time(service.url, stand.grpc_target, watchers))
            users = PLAN["users"]["count"]  # type: ignore[index]
            print(f"\na run of {users} users ({users * 4:,} entities), stand at 2 ms per call, median of {args.rounds}")
            base = statistics.median(times[0])
            for watchers, samples in times.items():
                median = statistics.median(samples)
                print(f"  {watchers:2d} clients watching events: {median:6.2f} s  ({median / base:5.2f}x unwatched)")


if __name__ == "__main__":
    main()
