"""Pools under load: lease + return pairs per second at 1, 10 and 100 clients, embedded and Redis, beside hand-outs.

    python bench/pools.py [--seconds 3] [--users 2000] [--clients 1,10,100]

``python -m seeding serve`` runs in its own process pinned to one core, once with the embedded store
(the append-only file next to the dump) and once with ``--store redis://…`` (a redis-server this
script starts on a free loopback port, ``appendonly yes``, ``appendfsync everysec``; it shares the
machine's cores with the rest). The load comes from another process (pinned to another core
where there is one): keep-alive HTTP/1.1 clients on asyncio streams, each leasing
(``POST /v1/dumps/bench/leases?ttl=60``) and returning (``DELETE /v1/leases/{id}``) in a loop; a
pair counts when both answered 201 and 200 (anything else fails the run). The pool holds more
users than clients, so nobody waits. Beside each level: unique hand-outs (``POST
…/next?strategy=unique``, one request per hand-out) on the same service, each store; and the
floor, aiohttp alone: an app of the same two routes answering fixed bodies, pinned to the same core
and loaded the same way, so ``service / aiohttp alone`` says how much of a pair is the service's own
work. Goal: 5,000 pairs/s at 100 clients on one core with the embedded store.

On a machine other work loads, the rates say more about that work than about the service: each
level also prints the service's own CPU time (``/proc/PID/stat``) per pair, and the pairs one
core would make at that cost (``pairs per service CPU-second``), which the other load does not
change much.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seeding import DumpWriter, dump_path  # noqa: E402
from seeding.service import ServiceProcess  # noqa: E402

GOAL = 5000.0

# The floor: aiohttp with the same two routes, answers of the same shape, no pool, no dump, no log.
_ALONE = """
import sys
from aiohttp import web
LEASE = b'{"lease":"%s.bench","index":1,"expires_at":"2026-12-03T06:31:07.412Z","user":{"user_id":"u1"}}' % (b"x" * 22)
async def lease(request):
    return web.Response(body=LEASE, status=201, content_type="application/json")
async def give_back(request):
    return web.Response(body=b'{"returned":true}', content_type="application/json")
app = web.Application()
app.router.add_post("/v1/dumps/{scenario}/leases", lease)
app.router.add_delete("/v1/leases/{id}", give_back)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def make_dump(dumps: Path, scenario: str, users: int) -> None:
    with DumpWriter(dump_path(scenario, dumps), {"scenario": scenario, "counts": {"users": users}}) as writer:
        for i in range(users):
            writer.write(b'{"user_id":"u%08d","debit_card_accounts":[],"credit_card_accounts":[]}' % i)


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) != b"\r\n":
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _pairs(host: str, port: int, until: float, done: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    lease = f"POST /v1/dumps/bench/leases?ttl=60 HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode()
    try:
        while time.monotonic() < until:
            writer.write(lease)
            status, body = await _answer(reader)
            if status != 201:
                raise AssertionError(f"lease: {status} {body[:200]!r}")
            ident = body[10 : body.index(b'"', 10)]  # {"lease":"ID",...
            writer.write(
                b"DELETE /v1/leases/%b HTTP/1.1\r\nHost: %b\r\nContent-Length: 0\r\n\r\n" % (ident, host.encode())
            )
            status, body = await _answer(reader)
            if status != 200:
                raise AssertionError(f"return: {status} {body[:200]!r}")
            done.append(1)
    finally:
        writer.close()


async def _handouts(host: str, port: int, until: float, done: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    ask = f"POST /v1/dumps/handouts/next?strategy=unique HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"
    try:
        while time.monotonic() < until:
            writer.write(ask.encode())
            status, body = await _answer(reader)
            if status != 200:
                raise AssertionError(f"next: {status} {body[:200]!r}")
            done.append(1)
    finally:
        writer.close()


def _load(url: str, clients: int, seconds: float, kind: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    host, port = url.removeprefix("http://").rsplit(":", 1)
    done: list[int] = []
    client = _pairs if kind == "pairs" else _handouts

    async def main() -> float:
        until = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(*(client(host, int(port), until, done) for _ in range(clients)))
        return time.monotonic() - started

    elapsed = asyncio.run(main())
    queue.put(len(done) / elapsed)


def load(url: str, clients: int, seconds: float, kind: str) -> float:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    process = context.Process(target=_load, args=(url, clients, seconds, kind, queue))
    process.start()
    rate = queue.get(timeout=seconds + 60)
    process.join(10)
    return float(rate)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds process ``pid`` has used (Linux ``/proc``); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, url: str, clients: int, seconds: float, kind: str) -> tuple[float, float | None]:
    """(requests or pairs per second, the same per second of the service's own CPU time)."""
    before = cpu_seconds(pid)
    rate = load(url, clients, seconds, kind)
    after = cpu_seconds(pid)
    if before is None or after is None or after <= before:
        return rate, None
    return rate, rate * seconds / (after - before)  # about: the load's own start-up is outside ``seconds``


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_server(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install -y redis-server)")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
         "--dir", str(directory), "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("redis-server did not start")


def aiohttp_alone(levels: list[int], seconds: float, cores: int) -> dict[int, tuple[float, float | None]]:
    """Pairs/s (and per CPU-second) of ``_ALONE`` at each level: what aiohttp itself costs on this machine."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", _ALONE, str(port)])
    try:
        if hasattr(os, "sched_setaffinity") and cores > 1:
            os.sched_setaffinity(proc.pid, {0})
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the aiohttp-alone app did not start") from None
                time.sleep(0.05)
        return {
            clients: measured(proc.pid, f"http://127.0.0.1:{port}", clients, seconds, "pairs") for clients in levels
        }
    finally:
        proc.kill()
        proc.wait(10)


def store_alone(directory: Path, pairs: int = 20_000) -> float:
    """Lease + return pairs per second of the embedded store itself, no HTTP (what the file costs)."""
    from seeding.dumps._pool_file import FilePool

    pool = FilePool(directory / "alone_seeds.pool", "bench", 2000)
    started = time.perf_counter()
    for _ in range(pairs):
        held = pool.lease(60_000)
        assert held is not None
        pool.give_back(held.token)
    elapsed = time.perf_counter() - started
    pool.close()
    return pairs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--clients", default="1,10,100")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, {sys.platform}, Python {sys.version.split()[0]}; {args.seconds:g} s per level")
    rates: dict[str, dict[int, float]] = {}
    cpu: dict[str, dict[int, float | None]] = {}
    with tempfile.TemporaryDirectory(prefix="seeding-bench-") as scratch:
        dumps = Path(scratch) / "dumps"
        make_dump(dumps, "bench", args.users)
        make_dump(dumps, "handouts", 400_000)
        (Path(scratch) / "redis").mkdir()
        alone = store_alone(Path(scratch))
        redis, url = redis_server(Path(scratch) / "redis")
        try:
            for store in ("embedded", url):
                name = "embedded" if store == "embedded" else "redis"
                extra = [f"--store={store}"]
                with ServiceProcess(dumps_dir=dumps, plans_dir=Path(scratch), extra_args=extra) as service:
                    if hasattr(os, "sched_setaffinity") and cores > 1:
                        os.sched_setaffinity(service.pid, {0})
                    httpx.get(f"{service.url}/v1/dumps/bench/pool", timeout=30).raise_for_status()  # warm
                    for clients in levels:
                        rate, per_cpu = measured(service.pid, service.url, clients, args.seconds, "pairs")
                        rates.setdefault(name, {})[clients] = rate
                        cpu.setdefault(name, {})[clients] = per_cpu
                    for clients in levels:  # /next: the log next to the dump, or the record in Redis
                        rate, per_cpu = measured(service.pid, service.url, clients, args.seconds, "handouts")
                        rates.setdefault(f"{name} hand-outs", {})[clients] = rate
                        cpu.setdefault(f"{name} hand-outs", {})[clients] = per_cpu
        finally:
            redis.kill()
            redis.wait(10)
        for clients, (rate, per_cpu) in aiohttp_alone(levels, args.seconds, cores).items():
            rates.setdefault("alone", {})[clients] = rate
            cpu.setdefault("alone", {})[clients] = per_cpu
    print(f"embedded store alone (no HTTP, one core): {alone:,.0f} pairs/s")
    columns = ("embedded", "redis", "embedded hand-outs", "redis hand-outs", "alone")
    heads = ("embedded pairs", "redis pairs", "unique hand-outs", "redis hand-outs", "aiohttp alone pairs")
    for title, table in (("per second", rates), ("per service CPU-second (what one free core would do)", cpu)):
        print(f"\n{title}:\n{'clients':>8} " + " ".join(f"{head:>19}" for head in heads) + "  goal")
        for clients in levels:
            values = [table[column][clients] for column in columns]
            shown = [f"{value:,.0f}" if value is not None else "n/a" for value in values]
            embedded, alone_rate = values[0], values[4]
            said = ""
            if embedded is not None and alone_rate:
                said = f"embedded {embedded / GOAL:4.2f}x the goal, {embedded / alone_rate:4.2f}x aiohttp alone"
            print(f"{clients:8d} " + " ".join(f"{value:>19}" for value in shown) + f"  {said}")


if __name__ == "__main__":
    main()
