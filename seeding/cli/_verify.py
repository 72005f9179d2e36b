"""``python -m seeding verify DUMP``: do a dump's users, accounts and operations still exist on the gateway?

DUMP is a dump file or a bare scenario name (``verify get-operations``: ``dumps/get-operations_seeds.json``).

A stand's data can be wiped (a restarted embedded stand, a reset database) while yesterday's dump
still looks fine; a load test then fails on 404s that have nothing to do with load. This checks a
seeded random sample of the dump's users: each user (GetUser), its accounts and their cards (one
GetAccounts: every account id must be the user's, every card on its account) and one operation per
account (GetOperation, on the right account). Its counts differ from the seeding summary's on purpose: the cards
include the two each card account opens with (the summary counts only the cards the plan issues),
and the operations are one per account (each shares its account and its read with the others).
Each stale entry is one line naming the user's
index and id. Reads that fail transiently (UNAVAILABLE, 503, a timeout) are retried with the
run's policy (``seeding.engine._retry``, ``--retries``): a gateway that drops a call now and then is not
a stale dump.

Exit codes: 0 every sampled entry exists; 1 stale entries found, or the gateway is unreachable or
failing; 2 bad usage or an unreadable dump.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .._exceptions import DumpError, GatewayUnreachableError, SeedingError
from .._settings import Settings, load_settings
from ..dumps._files import find_dump, open_dump, read_meta
from ..engine._options import DEFAULT_RETRIES
from ..engine._stale import Check, StaleReport, check_sample
from ..gateway import TRANSPORTS, Transport, transport_spec
from ._arguments import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    OneLineParser,
    add_gateway_arguments,
    address_flag,
    flags_transport,
    non_negative_int,
    retries,
    seed_number,
)
from ._shutdown import Shutdown

__all__ = ["main"]

T = TypeVar("T")
Read = Callable[..., Awaitable[Any]]  # ``read(client.get_user, user_id)``: one read, retried if it fails transiently

NAME = f"{PROG} verify"
DEFAULT_SAMPLE = 20
_CONCURRENCY = 16


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=NAME,
        description="Check on the gateway that a sample of a dump's users still exist, with all their accounts "
        "and cards (the two each card account opens with included) and one operation per account, drawn at random "
        "(GetUser, GetAccounts, GetOperation). Exit 1 when any is stale.",
    )
    parser.add_argument(
        "dump", type=Path, metavar="DUMP", help="a dump file, or a scenario name in --dumps-dir (<scenario>_seeds.json)"
    )
    parser.add_argument(
        "--dumps-dir", type=Path, help="where scenario names are looked up (default: SEEDING.DUMPS_DIR, else dumps)"
    )
    parser.add_argument(
        "--sample",
        type=non_negative_int,
        default=DEFAULT_SAMPLE,
        help="users to check, drawn at random (0: every user); each is checked with all its accounts and cards "
        "and one operation per account; default %(default)s",
    )
    parser.add_argument("--seed", type=seed_number, help="draw the same sample again (the seed used is printed)")
    parser.add_argument(
        "--retries",
        type=retries,
        help=f"further attempts of a read after a transient failure (default: SEEDING.RETRIES, else {DEFAULT_RETRIES})",
    )
    add_gateway_arguments(parser)  # unset flags fall back to the dump's transport and target (meta), then the settings
    repair = parser.add_argument_group("repair")
    repair.add_argument(
        "--repair",
        action="store_true",
        help="re-seed every stale user found at its own index and rewrite the dump (all users with --sample 0); "
        "journaled like a run",
    )
    journal = repair.add_mutually_exclusive_group()
    journal.add_argument("--resume", action="store_true", help="with --repair: finish an interrupted repair")
    journal.add_argument("--restart", action="store_true", help="with --repair: discard an interrupted repair")
    return parser


def main(argv: Sequence[str]) -> int:
    """Entry point of ``python -m seeding verify``; returns the exit code."""
    with Shutdown(NAME, exit_code=EXIT_FAILED) as shutdown:
        try:
            args = build_parser().parse_args(list(argv))
            if (args.resume or args.restart) and not args.repair:
                raise SeedingError(f"--{'resume' if args.resume else 'restart'} goes with --repair")
            settings = load_settings()
            dump = find_dump(args.dump, args.dumps_dir or settings.seeding.dumps_dir)
            seeds = open_dump(dump)
            meta = read_meta(dump) or {}
            transport, address, timeout = _gateway(args, dump, settings, meta)
        except (DumpError, SeedingError) as exc:
            print(f"{NAME}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print(f"{NAME}: error: interrupted", file=sys.stderr)
            return EXIT_FAILED
        seed = args.seed if args.seed is not None else random.randrange(2**31)
        count = len(seeds.users)
        size = count if args.sample == 0 else min(args.sample, count)
        sample = sorted(random.Random(seed).sample(range(count), size))
        retry_count = args.retries if args.retries is not None else settings.seeding.retries
        check = Check(seeds, sample, seed, transport, address, timeout, retry_count)
        if args.repair:
            from ._repair import repair_main

            return repair_main(args, dump, check, meta, shutdown)
        try:
            report = asyncio.run(_verify(check, shutdown))
        except GatewayUnreachableError as exc:
            print(
                f"{NAME}: error: cannot reach the gateway over {transport} at {address}: {exc.detail}", file=sys.stderr
            )
            return EXIT_FAILED
        except DumpError as exc:  # a user of the sample is damaged: the file is bad input (exit 2), not stale
            print(f"{NAME}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except SeedingError as exc:  # transient failures: the gateway is up but not answering properly
            print(f"{NAME}: error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except (asyncio.CancelledError, KeyboardInterrupt):
            print(f"{NAME}: error: interrupted", file=sys.stderr)
            return EXIT_FAILED
    lines = [line for index in sample for line in report.stale.get(index, [])]
    for line in lines:
        print(line)
    # Not the seeding summary's counts: say why (the cards the accounts opened with, one operation per account).
    notes = {
        "cards": f" ({report.opened_cards} of them opened with the accounts)" if report.opened_cards else "",
        "operations": " (one per account)" if report.checked["operations"] else "",
    }
    checked = ", ".join(f"{n} {kind}{notes.get(kind, '')}" for kind, n in report.checked.items())
    if report.retries:
        checked += f" ({report.retries} reads retried)"
    made_on = meta.get("target")
    note = f"; the dump was made on {made_on}" if made_on and made_on != address else ""
    print(
        f"{dump}: sampled {size} of {count} users (seed {seed}); checked {checked} "
        f"over {transport} at {address}: {len(lines)} stale{note}"
    )
    return EXIT_FAILED if lines else EXIT_OK


def _gateway(
    args: argparse.Namespace, dump: Path, settings: Settings, meta: dict[str, Any]
) -> tuple[Transport, str, float]:
    """Transport, address and timeout: the flags', else the ones the dump was made on, else the settings'.

    A dump made on the embedded stand names no gateway that still exists: the settings' is used.
    """
    made_over, made_on = meta.get("transport"), meta.get("target")
    recorded = made_over in TRANSPORTS and isinstance(made_on, str) and made_on != "embedded"
    given: Transport | None = flags_transport(args)
    if given is None and made_over is not None and made_over not in TRANSPORTS:  # not a dump of ours, or damaged
        raise SeedingError(
            f"{dump}: its meta.transport {str(made_over)[:40]!r} is not grpc or http; pass --transport and the "
            "gateway's address"
        )
    transport: Transport = given or (made_over if recorded and made_over else settings.seeding.transport)
    flag = address_flag(args, transport)
    if flag:
        address = flag
    elif recorded and made_over == transport:
        try:
            address = transport_spec(transport).check(str(made_on))
        except ValueError as exc:
            raise SeedingError(f"{dump}: its meta.target is unusable ({exc}); pass the gateway's address") from None
    else:
        address = settings.target(transport)
    return transport, address, args.timeout or settings.timeout(transport)


async def _verify(check: Check, shutdown: Shutdown) -> StaleReport:
    shutdown.attach()
    try:
        return await check_sample(check)
    finally:
        shutdown.finishing(EXIT_FAILED)  # the report is printed after the loop ends: this only bounds a hang
