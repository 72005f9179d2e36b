"""``python -m seeding serve``: the service in the foreground until SIGINT/SIGTERM.

Prints ``seeding service ready: http://HOST:PORT`` once it listens. Exit codes: 0 stopped by a
signal; 2 bad usage or settings, a port that cannot be bound, or a non-loopback ``--host`` without
a token (nothing served).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .._exceptions import SeedingError
from .._settings import Settings, load_settings
from ..command._arguments import EXIT_OK, EXIT_USAGE, PROG as SEEDING_PROG, OneLineParser, bounded, port
from ..serving import ConnectionLimits
from ._app import Service
from ._store import EMBEDDED, check_store, probe_store

__all__ = ["main"]

PROG = f"{SEEDING_PROG} serve"
DEFAULT_PORT = 8010
_seconds = bounded(float, "more than 0 and at most 3600 (seconds)", lambda v: 0 < v <= 3600)
_connections = bounded(int, "within 1-1000000", lambda v: 1 <= v <= 1_000_000)


def _directory(text: str) -> Path:
    """A directory flag's value: an empty one is a mistake, not the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a directory")
    return Path(text)


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Seed plans on request and hand seeded users to load tools over HTTP. Open its address in a "
        "browser for runs and dumps (start, cancel, resume), /docs for the API (/openapi.json).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=port, default=DEFAULT_PORT, help="default %(default)s; 0 picks a free port")
    parser.add_argument(
        "--dumps-dir", type=_directory, default=Path(settings.seeding.dumps_dir), help="default %(default)s"
    )
    parser.add_argument(
        "--plans-dir", type=_directory, default=None, help="plans a run may name (default plans, if it is there)"
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log one line per request (client, request, status, size, time)"
    )
    parser.add_argument(
        "--token",
        default=settings.seeding.service_token,
        help="require 'Authorization: Bearer TOKEN' on every API route (not /healthz, nor the page, which asks "
        "for it) (default: SEEDING.SERVICE_TOKEN)",
    )
    parser.add_argument(
        "--store",
        type=_store,
        default=EMBEDDED,
        metavar="STORE",
        help="where pools (leases, quarantine) live: 'embedded' (files next to the dumps, one process; the default) "
        "or redis://HOST:PORT/DB (shared by every service process on it)",
    )
    defaults = ConnectionLimits()
    limits = parser.add_argument_group("connections (each bounded, so no client can hold the service)")
    limits.add_argument(
        "--header-timeout",
        type=_seconds,
        default=defaults.header_timeout,
        help="seconds a new connection has to send its request head; then 408 (default %(default)g)",
    )
    limits.add_argument(
        "--body-timeout",
        type=_seconds,
        default=defaults.body_timeout,
        help="seconds a request body has to arrive; then 408 (default %(default)g)",
    )
    limits.add_argument(
        "--max-connections",
        type=_connections,
        default=None,
        help="connections served at once; more are answered 503 (default: the descriptor limit less 64)",
    )
    return parser


def _store(text: str) -> str:
    try:
        return check_store(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost`` or a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings()
    except SeedingError as exc:
        return _error(str(exc))
    args = build_parser(settings).parse_args(argv)
    if args.token is not None and not args.token.strip():
        return _error("--token: is empty")
    if not is_loopback(args.host) and not args.token:
        return _error(
            f"--host {args.host}: listening beyond this machine needs a token (--token or SEEDING.SERVICE_TOKEN)"
        )
    if args.dumps_dir.exists() and not args.dumps_dir.is_dir():
        return _error(f"--dumps-dir {args.dumps_dir}: is not a directory")
    plans_dir: Path = args.plans_dir or Path("plans")  # the default may be absent: runs then send whole plans
    if args.plans_dir is not None and not plans_dir.is_dir():
        problem = "is not a directory" if plans_dir.exists() else "no such directory"
        return _error(f"--plans-dir {plans_dir}: {problem}")
    try:
        args.dumps_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _error(f"--dumps-dir {args.dumps_dir}: cannot make it: {exc.strerror}")
    refused, warning = probe_store(args.store)
    if refused is not None:
        return _error(f"--store {args.store}: Redis refuses it: {refused}")
    _log_to_stderr(access_log=args.access_log)
    if warning is not None:
        logging.getLogger("seeding.service").warning("%s", warning)
    service = Service(
        dumps_dir=args.dumps_dir,
        plans_dir=plans_dir,
        host=args.host,
        port=args.port,
        token=args.token,
        settings=settings,
        access_log=args.access_log,
        store=args.store,
        limits=ConnectionLimits(
            header_timeout=args.header_timeout,
            body_timeout=args.body_timeout,
            max_connections=args.max_connections,
        ),
    )
    try:
        return asyncio.run(_serve(service))
    except KeyboardInterrupt:
        return EXIT_OK


async def _serve(service: Service) -> int:
    try:
        await service.start()
    except SeedingError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot listen on {service.host}:{service._port}: {exc.strerror or exc}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"seeding service ready: {service.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await service.stop()
    return EXIT_OK


def _log_to_stderr(*, access_log: bool) -> None:
    """Our lines (runs, start, stop) at INFO; other libraries' only when they warn (httpx logs every request
    at INFO); aiohttp's access lines only with ``--access-log``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", datefmt="%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("seeding").setLevel(logging.INFO)
    if access_log:
        logging.getLogger("aiohttp.access").setLevel(logging.INFO)


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_USAGE
