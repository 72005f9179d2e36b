"""Benchmark: the stand's CPU per call, next to a minimal server's (the floor), side by side.

The stand runs in its own process (``python -m seeding.stand --latency-ms 20``, as in
``seed_concurrency.py``); ``python -m seeding PLAN --users N`` seeds scenario 11.2 through it (15
calls per user) and the stand's user + sys time over the run (``/proc/PID/stat``, start-up
excluded) divided by the calls is its CPU per call. Servers, each a fresh process per run:

    floor      a minimal grpc.aio server and aiohttp.web app with the same methods and routes and the
               same latency, answering every call of a method with the same bytes (recorded once
               from a stand without latency): what the libraries cost, the stand's lower bound
    stand      this checkout's stand
    DIR        (--compare DIR, repeatable) another checkout's stand, named by its directory,
               e.g. ``git archive main | tar -x -C /tmp/main``

Every figure is the median of ``--repeats`` rounds; a round runs every server on every transport,
so they are compared within the same minute on a noisy machine. ``--profile PATH`` runs this
checkout's stand once under cProfile (gRPC) and writes its stats to PATH instead.

    python bench/stand_cpu.py [--users 300] [--repeats 3] [--latency-ms 20] [--compare DIR ...]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seeding.stand import StandProcess

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "plans" / "scenario-11-2.yaml"
CALLS_PER_USER = 15
TRANSPORTS = ("grpc", "http")
_TICK = os.sysconf("SC_CLK_TCK")

# The floor: the stand's methods and routes, each answering with what a real stand answered its first
# call (forwarded to it), after the same latency: gRPC reads each request as its message and sends
# that response message again, HTTP reads the body and sends the same bytes.
FLOOR = """
import asyncio, sys
import aiohttp, grpc
from aiohttp import web
from seeding.contract import ENDPOINTS, message_class, proto_service

record_grpc, record_http, latency = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000


async def main():
    recorded = {}
    channel = grpc.aio.insecure_channel(record_grpc)
    session = aiohttp.ClientSession()

    def grpc_answer(e):
        method = proto_service(e.grpc_service).methods_by_name[e.rpc]
        request_class = message_class(method.input_type.full_name)
        response_class = message_class(method.output_type.full_name)
        forward = channel.unary_unary(
            e.grpc_method,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )

        async def answer(request, context):
            await asyncio.sleep(latency)
            if e.rpc not in recorded:
                recorded[e.rpc] = await forward(request)
            return recorded[e.rpc]

        return grpc.unary_unary_rpc_method_handler(
            answer, request_deserializer=request_class.FromString, response_serializer=response_class.SerializeToString
        )

    def http_answer(path):
        async def answer(request):
            body = await request.read()
            await asyncio.sleep(latency)
            if path not in recorded:
                async with session.post(record_http + path, data=body) as response:
                    recorded[path] = await response.read()
            return web.Response(body=recorded[path], content_type="application/json")

        return answer

    server = grpc.aio.server()
    by_service = {}
    for e in ENDPOINTS.values():
        by_service.setdefault(e.grpc_service, {})[e.rpc] = grpc_answer(e)
    for service, methods in by_service.items():
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, methods),))
        server.add_registered_method_handlers(service, methods)
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    app = web.Application()
    for e in ENDPOINTS.values():
        if e.http_method == "POST":  # the plan's calls; GETs carry ids in their paths
            app.router.add_post(e.http_path, http_answer(e.http_path))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    http_port = runner.addresses[0][1]
    print(f"seeding stand ready: http=http://127.0.0.1:{http_port} grpc=127.0.0.1:{grpc_port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(2, stop.set)
    asyncio.get_running_loop().add_signal_handler(15, stop.set)
    await stop.wait()
    await runner.cleanup()
    await server.stop(1)
    await session.close()
    await channel.close()


asyncio.run(main())
"""


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(root)}


def _cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # fields 14 and 15 of stat(5)


class _Server:
    """A server process started with ``command``, read until its ready line."""

    def __init__(self, command: list[str], root: Path) -> None:
        self.process = subprocess.Popen(
            command, cwd=root, env=_env(root), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("seeding stand ready:"):
            self.process.kill()
            raise SystemExit(f"{' '.join(command[:4])} …: no ready line, got {line!r}")
        self.address = dict(pair.split("=", 1) for pair in line.split(":", 1)[1].split())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)


def _seed(transport: str, address: str, users: int, dumps: str, extra: list[str]) -> None:
    target = f"--grpc-target={address}" if transport == "grpc" else f"--http-url={address}"
    command = [sys.executable, "-m", "seeding", str(PLAN), f"--transport={transport}", target]
    command += [f"--users={users}", f"--dumps-dir={tempfile.mkdtemp(dir=dumps)}", "--no-progress", *extra]
    done = subprocess.run(command, cwd=ROOT, env=_env(ROOT), capture_output=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"seeding over {transport}: exit {done.returncode}: {done.stderr.decode()[-500:]}")


def measure(server: _Server, transport: str, users: int, dumps: str, extra: list[str]) -> float:
    """The server's CPU µs per call while seeding ``users`` users over ``transport``."""
    before = _cpu_seconds(server.process.pid)
    _seed(transport, server.address[transport], users, dumps, extra)
    return (_cpu_seconds(server.process.pid) - before) / (users * CALLS_PER_USER) * 1e6


def stand_command(latency_ms: float, *prefix: str) -> list[str]:
    return [
        sys.executable,
        *prefix,
        "-m",
        "seeding.stand",
        "--http-port=0",
        "--grpc-port=0",
        f"--latency-ms={latency_ms}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument(
        "--compare", type=Path, action="append", default=[], help="another checkout whose stand to measure alongside"
    )
    parser.add_argument("--transports", nargs="+", choices=TRANSPORTS, default=list(TRANSPORTS))
    parser.add_argument("--seeder-args", nargs="*", default=[], help="more flags for python -m seeding")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of this stand (gRPC run) here instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as dumps:
        if args.profile:
            server = _Server(stand_command(args.latency_ms, "-m", "cProfile", "-o", str(args.profile)), ROOT)
            _seed("grpc", server.address["grpc"], args.users, dumps, args.seeder_args)
            server.stop()
            print(f"cProfile stats of the stand: {args.profile}")
            return

        servers: dict[str, tuple[list[str], Path]] = {}
        servers["floor"] = ([], ROOT)  # its command needs the recording stand's addresses
        for other in args.compare:
            servers[other.resolve().name] = (stand_command(args.latency_ms), other.resolve())
        servers["stand"] = (stand_command(args.latency_ms), ROOT)
        figures: dict[tuple[str, str], list[float]] = {}
        started = time.perf_counter()
        with StandProcess() as recording:
            floor = [sys.executable, "-c", FLOOR, recording.grpc_target, recording.http_url, str(args.latency_ms)]
            servers["floor"] = (floor, ROOT)
            for _ in range(args.repeats):
                for name, (command, root) in servers.items():
                    for transport in args.transports:
                        server = _Server(command, root)
                        try:
                            figures.setdefault((name, transport), []).append(
                                measure(server, transport, args.users, dumps, args.seeder_args)
                            )
                        finally:
                            server.stop()

    calls = args.users * CALLS_PER_USER
    print(
        f"server CPU per call, scenario 11.2 × {args.users} users ({calls:,} calls per run), "
        f"{args.latency_ms:g} ms latency, median of {args.repeats} ({time.perf_counter() - started:.0f} s)"
    )
    medians = {key: statistics.median(values) for key, values in figures.items()}
    for transport in args.transports:
        floor_us = medians["floor", transport]
        for name in servers:
            us = medians[name, transport]
            spread = ", ".join(f"{v:.0f}" for v in figures[name, transport])
            print(f"  {transport:4} {name:12} {us:6.0f} µs  {us / floor_us:4.2f}× floor  ({spread})")


if __name__ == "__main__":
    main()
