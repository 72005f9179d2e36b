"""Benchmark: the client's CPU per gateway call and a default run's wall, the seeder next to a raw grpc.aio loop.

A stand runs in its own process (``python -m seeding.stand``, no latency), so only the client's
CPU is counted: user + sys time of each client process, read with ``os.wait4`` when it exits.
Each client makes the calls of scenario 11.2 (15 per user) for ``--small`` and for ``--large``
users; the difference divided by the difference in calls is the marginal CPU per call, free of
start-up. Clients:

    raw      a grpc.aio loop on the course's generated stubs (``contracts/services``), 200 in flight
    grpc     python -m seeding over gRPC, --concurrency 200
    default  python -m seeding over gRPC with its default limit (latency-aware)
    http     python -m seeding over HTTP, --concurrency 200

Then the wall of whole runs (start-up included) of ``--wall-users`` users against a stand at
``--latency-ms`` (20 ms): the raw loop, the default and ``--concurrency 200``, in turn within each
repeat (a busy spell falls on all alike), with each process's own CPU beside its wall. Issue 27's
targets: the gRPC seeder's CPU per call ≤ 1.2× the raw loop's (both at 200 in flight, and the
default's), and the default's wall ≤ 1.15× the raw loop's.

Also ``python -m seeding --help`` against ``python -c "import grpc, pydantic"`` (whole processes).
Every figure is the median of ``--repeats`` runs. Other targets: HTTP ≤ 1.5× gRPC seeder, --help
≤ 1.5× the imports. ``--profile grpc|http|default`` prints the seeder's top functions (cProfile,
``--large`` users) instead.

    python bench/client_cpu.py [--small 100] [--large 1000] [--repeats 3] [--clients raw grpc default]
                               [--wall-users 100] [--latency-ms 20] [--profile grpc]
"""

from __future__ import annotations

import argparse
import compileall
import os
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
IN_FLIGHT = 200


def compile_bytecode() -> str:
    """Bytecode for the checkout's packages, as ``pip install`` leaves an installed package; what it did.

    Where ``PYTHONDONTWRITEBYTECODE`` is set (this sandbox, many Docker images) a checkout's modules
    are otherwise compiled from source by every process: ~40 ms of each seeder's start-up (and a
    little of the raw loop's, which imports ``contracts``) that an installed package never pays.
    """
    for package in ("seeding", "contracts"):
        compileall.compile_dir(ROOT / package, quiet=1)
    flag = "PYTHONDONTWRITEBYTECODE is set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "as Python would"
    return f"bytecode of seeding/ and contracts/ compiled first ({flag}; pip does it at install)"


# The raw loop: what a load tester would write with the generated stubs, scenario 11.2 per user.
RAW = """
import asyncio, os, sys
import grpc
from contracts.services.gateway.users import rpc_create_user_pb2 as users_rpc, users_gateway_service_pb2_grpc as users
from contracts.services.gateway.accounts import accounts_gateway_service_pb2_grpc as accounts
from contracts.services.gateway.accounts import rpc_open_credit_card_account_pb2 as credit_rpc
from contracts.services.gateway.accounts import rpc_open_debit_card_account_pb2 as debit_rpc
from contracts.services.gateway.cards import cards_gateway_service_pb2_grpc as cards
from contracts.services.gateway.cards import rpc_issue_physical_card_pb2 as physical_rpc
from contracts.services.gateway.cards import rpc_issue_virtual_card_pb2 as virtual_rpc
from contracts.services.gateway.operations import operations_gateway_service_pb2_grpc as operations
from contracts.services.gateway.operations import rpc_make_cash_withdrawal_operation_pb2 as cash_rpc
from contracts.services.gateway.operations import rpc_make_purchase_operation_pb2 as purchase_rpc
from contracts.services.gateway.operations import rpc_make_top_up_operation_pb2 as top_up_rpc
from contracts.services.gateway.operations import rpc_make_transfer_operation_pb2 as transfer_rpc

COMPLETED = 2  # OPERATION_STATUS_COMPLETED


async def main(target, count, in_flight):
    async with grpc.aio.insecure_channel(target) as channel:
        u, a = users.UsersGatewayServiceStub(channel), accounts.AccountsGatewayServiceStub(channel)
        c, o = cards.CardsGatewayServiceStub(channel), operations.OperationsGatewayServiceStub(channel)
        slots = asyncio.Semaphore(in_flight)

        async def call(method, request):
            async with slots:
                return await method(request, timeout=10)

        async def account(user_id, open_method, open_request):
            acc = (await call(open_method, open_request(user_id=user_id))).account
            card = acc.cards[0].id
            issue = [
                call(c.IssuePhysicalCard, physical_rpc.IssuePhysicalCardRequest(user_id=user_id, account_id=acc.id)),
                call(c.IssueVirtualCard, virtual_rpc.IssueVirtualCardRequest(user_id=user_id, account_id=acc.id)),
            ]

            async def ops():
                kw = dict(account_id=acc.id, card_id=card, status=COMPLETED)
                await call(o.MakeTopUpOperation, top_up_rpc.MakeTopUpOperationRequest(amount=100, **kw))
                purchase = purchase_rpc.MakePurchaseOperationRequest(amount=10, category="taxi", **kw)
                await call(o.MakePurchaseOperation, purchase)
                await call(o.MakeTransferOperation, transfer_rpc.MakeTransferOperationRequest(amount=5, **kw))
                await call(o.MakeCashWithdrawalOperation, cash_rpc.MakeCashWithdrawalOperationRequest(amount=5, **kw))

            await asyncio.gather(*issue, ops())

        async def user(i):
            request = users_rpc.CreateUserRequest(
                email=f"raw.{os.getpid()}.{i}@example.com",
                last_name="Ivanov",
                first_name="Ivan",
                middle_name="I",
                phone_number="+70000000000",
            )
            user_id = (await call(u.CreateUser, request)).user.id
            await asyncio.gather(
                account(user_id, a.OpenDebitCardAccount, debit_rpc.OpenDebitCardAccountRequest),
                account(user_id, a.OpenCreditCardAccount, credit_rpc.OpenCreditCardAccountRequest),
            )

        await asyncio.gather(*(user(i) for i in range(count)))


asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


# Processes that only import: what a gRPC run of ``python -m seeding`` loads from other projects
# (pydantic's plugin scan skipped, as the command does), and what the raw loop loads.
RUN_IMPORTS = "imports of a run"
RAW_IMPORTS = "imports of the raw loop"
IMPORTS = {
    RUN_IMPORTS: "import os; os.environ.setdefault('PYDANTIC_DISABLE_PLUGINS', '__all__')\n"
    "import argparse, asyncio, dotenv, orjson, yaml, grpc, grpc.aio, pydantic, pydantic_settings\n"
    "from pydantic import BaseModel, TypeAdapter\nfrom pydantic_settings import BaseSettings\n"
    "from faker import Generator\nfrom google.protobuf import descriptor_pool, message_factory",
    RAW_IMPORTS: RAW.split("\nCOMPLETED")[0],
}


def child_cpu(command: list[str]) -> float:
    """Run ``command`` to its end; its user + sys CPU seconds (its own, from ``wait4``)."""
    return child_run(command)[1]


def child_run(command: list[str]) -> tuple[float, float]:
    """Run ``command`` to its end; its wall seconds and its user + sys CPU seconds (its own, from ``wait4``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        shown = "the raw loop" if "-c" in command else " ".join(command[1:4])
        raise SystemExit(f"{shown} …: exit {process.returncode}: {stderr.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def client_command(kind: str, stand: StandProcess, users: int, dumps: Path, prefix: list[str]) -> list[str]:
    if kind == "raw":
        return [sys.executable, "-c", RAW, stand.grpc_target, str(users), str(IN_FLIGHT)]
    transport = "http" if kind == "http" else "grpc"
    address = f"--http-url={stand.http_url}" if kind == "http" else f"--grpc-target={stand.grpc_target}"
    limit = [] if kind == "default" else [f"--concurrency={IN_FLIGHT}"]
    return [
        *prefix,
        str(PLAN),
        f"--transport={transport}",
        address,
        f"--users={users}",
        *limit,
        f"--dumps-dir={dumps}",
        "--no-progress",
    ]


def seeder(*args: str) -> list[str]:
    return [sys.executable, "-m", "seeding", *args]


def per_call(kind: str, stand: StandProcess, small: int, large: int, repeats: int) -> tuple[float, float]:
    """Median marginal CPU per call (µs) and the median CPU of the small run (s), for one client."""
    marginal, small_cpu = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            low = child_cpu(client_command(kind, stand, small, Path(tmp) / "small", seeder()))
            high = child_cpu(client_command(kind, stand, large, Path(tmp) / "large", seeder()))
        marginal.append((high - low) / ((large - small) * CALLS_PER_USER) * 1e6)
        small_cpu.append(low)
    return statistics.median(marginal), statistics.median(small_cpu)


def startup(repeats: int) -> tuple[float, float]:
    """Median CPU (ms) of ``python -m seeding --help`` and of ``python -c "import grpc, pydantic"``."""
    help_cpu = [child_cpu(seeder("--help")) for _ in range(repeats)]
    imports = [child_cpu([sys.executable, "-c", "import grpc, pydantic"]) for _ in range(repeats)]
    return statistics.median(help_cpu) * 1e3, statistics.median(imports) * 1e3


def walls(stand: StandProcess, users: int, repeats: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of whole runs of ``users`` users: the raw loop, the default, fixed 200,
    and of the two processes that only import (a run's libraries, the raw loop's)."""
    kinds = ("raw", "default", "grpc", RUN_IMPORTS, RAW_IMPORTS)
    seen: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
    for _ in range(repeats):
        for kind in kinds:
            if kind in IMPORTS:
                seen[kind].append(child_run([sys.executable, "-c", IMPORTS[kind]]))
                continue
            with tempfile.TemporaryDirectory() as tmp:
                seen[kind].append(child_run(client_command(kind, stand, users, Path(tmp), seeder())))
    return {
        kind: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for kind, runs in seen.items()
    }


def profile(kind: str, stand: StandProcess, users: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "seeder.prof"
        command = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "seeding"]
        child_cpu(client_command(kind, stand, users, Path(tmp), command))
        import pstats

        stats = pstats.Stats(str(out))
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)


def verdict(ratio: float, target: float) -> str:
    return f"{ratio:.2f}× ({'meets' if ratio <= target else 'MISSES'} ≤ {target}×)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    kinds = ["raw", "grpc", "default", "http"]
    parser.add_argument("--clients", nargs="+", default=kinds, choices=kinds)
    parser.add_argument("--wall-users", type=int, default=100, help="users of the wall runs (0: none)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the stand's latency in the wall runs")
    parser.add_argument("--profile", choices=kinds[1:], help="profile the seeder instead of measuring")
    args = parser.parse_args()
    print(compile_bytecode())

    with StandProcess(latency_ms=0) as stand:
        if args.profile:
            profile(args.profile, stand, args.large)
            return
        print(
            f"scenario 11.2, {args.small} vs {args.large} users ({CALLS_PER_USER} calls each), {IN_FLIGHT} in flight; "
            f"stand in its own process, 0 ms latency; medians of {args.repeats}; {os.cpu_count()} CPUs"
        )
        print(f"{'client':<8}{'µs CPU/call':>13}{f'CPU s ({args.small} users)':>22}")
        figures = {}
        for kind in args.clients:
            micros, small_cpu = per_call(kind, stand, args.small, args.large, args.repeats)
            figures[kind] = micros
            print(f"{kind:<8}{micros:>13.0f}{small_cpu:>22.2f}")
    if "raw" in figures and "grpc" in figures:
        print(f"gRPC seeder / raw grpc.aio stub loop: {verdict(figures['grpc'] / figures['raw'], 1.2)}")
    if "raw" in figures and "default" in figures:
        print(f"default seeder / raw grpc.aio loop:   {verdict(figures['default'] / figures['raw'], 1.2)}")
    if args.wall_users:
        with StandProcess(latency_ms=args.latency_ms) as stand:
            runs = walls(stand, args.wall_users, args.repeats)
        print(
            f"\nwhole runs of {args.wall_users} users ({args.wall_users * CALLS_PER_USER:,} calls), stand at "
            f"{args.latency_ms:g} ms; medians of {args.repeats}"
        )
        print(f"{'client':<24}{'wall s':>8}{'CPU s':>8}")
        names = {"raw": f"raw, {IN_FLIGHT} in flight", "default": "default", "grpc": f"--concurrency {IN_FLIGHT}"}
        for kind, (wall, cpu) in runs.items():
            print(f"{names.get(kind, kind):<24}{wall:>8.2f}{cpu:>8.2f}")
        raw_wall, raw_cpu = runs["raw"]
        print(f"default's wall / raw loop's:          {verdict(runs['default'][0] / raw_wall, 1.15)}")
        print(f"--concurrency {IN_FLIGHT}'s wall / raw loop's:   {runs['grpc'][0] / raw_wall:.2f}×")
        print(f"default's CPU / raw loop's (whole):   {runs['default'][1] / raw_cpu:.2f}×")
        extra = runs[RUN_IMPORTS][0] - runs[RAW_IMPORTS][0]
        print(
            f"the libraries a run imports take {extra:+.2f} s of wall more than the raw loop's "
            f"({runs[RUN_IMPORTS][1] - runs[RAW_IMPORTS][1]:+.2f} s CPU): a client built on them whose own work "
            f"costs what the raw loop's does lands at {(raw_wall + extra) / raw_wall:.2f}× its wall"
        )
    if "grpc" in figures and "http" in figures:
        print(f"HTTP seeder / gRPC seeder:            {verdict(figures['http'] / figures['grpc'], 1.5)}")
    help_ms, imports_ms = startup(max(args.repeats, 5))
    print(f"python -m seeding --help: {help_ms:.0f} ms CPU; python -c 'import grpc, pydantic': {imports_ms:.0f} ms")
    print(f"--help / imports:                     {verdict(help_ms / imports_ms, 1.5)}")


if __name__ == "__main__":
    main()
