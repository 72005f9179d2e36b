"""``python -m seeding.stand``: run the embedded stand until Ctrl-C / SIGTERM.

Prints exactly one line to stdout once every port listens, naming the real addresses:

    seeding stand ready: http=http://127.0.0.1:8003 grpc=127.0.0.1:9003

``--max-in-flight N`` makes it a capacity-bound gateway: N calls served at once, the rest queued.

Exit status: 0 after a clean stop, 1 if it cannot start (a port in use), 2 for bad flags.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Sequence

from ..command._arguments import OneLineParser
from ..command._collector import freeze_survivors
from ._errors import StandStartError
from ._options import StandOptions, ready_line
from ._stand import Stand

COMMAND_LINE_DEFAULTS = StandOptions(http_port=8003, grpc_port=9003)  # the real gateway's ports


PROG = "python -m seeding.stand"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line: addresses, fault injection, capacity and the missing-receipt delay."""
    parser = OneLineParser(
        prog=prog,
        description="In-memory bank gateway serving the gateway contract over HTTP and gRPC.",
    )
    StandOptions.add_arguments(parser, COMMAND_LINE_DEFAULTS)
    return parser


async def serve(args: argparse.Namespace) -> int:
    """Start the stand, announce it, and serve until SIGINT / SIGTERM."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    stand = Stand(StandOptions.from_args(args))
    try:
        await stand.start()
    except StandStartError as exc:
        print(f"seeding stand: {exc}", file=sys.stderr, flush=True)
        return 1
    # What start-up built (modules, servers) lives as long as the process: kept out of the
    # collector's scans, which then cost a third (measured in-process over 30,000 calls); and so
    # is the data the stand holds, after each full collection that finds it alive.
    gc.collect()
    gc.freeze()
    stop_freezing = freeze_survivors()
    try:
        print(ready_line(stand.addresses), flush=True)
        await stopping.wait()
    finally:
        stop_freezing()
        await stand.stop()
    return 0


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Entry point (also ``seeding stand``, which names itself ``prog``); returns the exit status."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.pushback_above is not None and args.max_in_flight is None:
        parser.error("--pushback-above needs --max-in-flight: the queue it refuses calls above")
    if args.http_port and args.http_port == args.grpc_port:
        parser.error(f"--http-port and --grpc-port are both {args.http_port}: each side needs a port of its own")
    logging.basicConfig(level=logging.WARNING, format="seeding stand: %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        return 0


if __name__ == "__main__":
    sys.exit(main())
