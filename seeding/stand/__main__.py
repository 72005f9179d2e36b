"""``python -m seeding.stand``: run the embedded stand until Ctrl-C / SIGTERM.

Prints exactly one line to stdout once both ports listen, naming the real addresses:

    seeding stand ready: http=http://127.0.0.1:8003 grpc=127.0.0.1:9003

Exit status: 0 after a clean stop, 1 if it cannot start (a port in use), 2 for bad flags.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from .._arguments import OneLineParser, fraction, non_negative_float, port
from ._errors import StandStartError
from ._stand import Stand

READY_PREFIX = "seeding stand ready:"


def build_parser() -> argparse.ArgumentParser:
    """The command line: addresses, fault injection and the missing-receipt delay."""
    parser = OneLineParser(
        prog="python -m seeding.stand",
        description="In-memory bank gateway serving the gateway contract over HTTP and gRPC.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--http-port", type=port, default=8003, help="0 picks a free port (default: %(default)s)")
    parser.add_argument("--grpc-port", type=port, default=9003, help="0 picks a free port (default: %(default)s)")
    parser.add_argument("--latency-ms", type=non_negative_float, default=0.0, help="delay added to every call")
    parser.add_argument("--jitter-ms", type=non_negative_float, default=0.0, help="extra random delay, 0..jitter")
    parser.add_argument(
        "--fail-rate", type=fraction, default=0.0, help="share of calls answered 503 / UNAVAILABLE, unapplied"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for faults and card data (reproducible)")
    parser.add_argument(
        "--missing-receipt-delay-s",
        type=non_negative_float,
        default=0.0,
        help="how long a missing receipt takes to fail (real gateway: ~2.5 s HTTP, ~5 s gRPC)",
    )
    return parser


async def serve(args: argparse.Namespace) -> int:
    """Start the stand, announce it, and serve until SIGINT / SIGTERM."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    stand = Stand(
        host=args.host,
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        fail_rate=args.fail_rate,
        seed=args.seed,
        missing_receipt_delay_s=args.missing_receipt_delay_s,
    )
    try:
        await stand.start()
    except StandStartError as exc:
        print(f"seeding stand: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        print(f"{READY_PREFIX} http={stand.http_url} grpc={stand.grpc_target}", flush=True)
        await stopping.wait()
    finally:
        await stand.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="seeding stand: %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        return 0


if __name__ == "__main__":
    sys.exit(main())
