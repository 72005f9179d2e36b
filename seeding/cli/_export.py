"""``python -m seeding export DUMP --format csv|jsonl``: a dump as flat rows for k6, JMeter, Gatling.

Those tools read one record per line with flat fields (k6 ``SharedArray`` over JSON lines or
papaparse, JMeter's CSV Data Set Config, Gatling's ``csv()`` feeder), not the nested dump. Each
user becomes one row of ids: ``index``, ``user_id``, and per account kind its first account
(``credit_card_account_id``), that account's first card of any type and of each type
(``…_card_id``, ``…_physical_card_id``, ``…_virtual_card_id``: the cards it opened with first, then
issued ones) and its first operation of each kind (``…_purchase_operation_id``). By default the
fields are those the dump's first user has (a plan shapes every user alike; with profiles, those
any user has); ``--fields`` picks and orders them. CSV has a header row; JSON lines have the same
keys on every line.

``--profile NAME`` writes only that profile's users (``index`` stays the dump's); ``--strategy
zipf:S`` adds a ``weight`` column, each row's weight under that strategy (the exported rows in
order: the first is the hottest), for a tool that draws rows by weight (k6's weighted pick,
JMeter's weighted random controller).

Exit codes: 0 written; 2 bad usage, an unknown field or an unreadable dump.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

import orjson

from .._exceptions import DumpError
from ..dumps._files import LazyUsers, find_dump, open_dump
from ..dumps._index import index_path, replaced_fingerprints
from ..dumps._pool_file import quarantined_in
from ..dumps._result import SeedAccountResult, SeedUserResult
from ..dumps._strategies import StrategySpec, strategy_spec
from ..plan._models import ACCOUNT_FIELDS, CARD_FIELDS, OPERATION_FIELDS
from ._arguments import EXIT_OK, EXIT_USAGE, PROG, OneLineParser

__all__ = ["FORMATS", "field_names", "flatten", "main"]

NAME = f"{PROG} export"
FORMATS = ("csv", "jsonl")


def _singular(accounts: str) -> str:
    return accounts.removesuffix("s")  # "debit_card_accounts" → "debit_card_account"


def field_names() -> list[str]:
    """Every field an export can have, in their default order."""
    names = ["index", "user_id", "profile"]
    for accounts in ACCOUNT_FIELDS:
        prefix = _singular(accounts)
        names += [f"{prefix}_id", f"{prefix}_card_id"]
        names += [f"{prefix}_{_singular(cards)}_id" for cards in CARD_FIELDS]
        names += [f"{prefix}_{_singular(operations)}_id" for operations in OPERATION_FIELDS]
    return [*names, "weight"]


def flatten(index: int, user: SeedUserResult) -> dict[str, str]:
    """The user's ids as flat fields; only those the user has (an absent account or card has no field)."""
    row = {"index": str(index), "user_id": user.user_id}
    if user.profile is not None:
        row["profile"] = user.profile
    for accounts in ACCOUNT_FIELDS:
        found: list[SeedAccountResult] = getattr(user, accounts)
        if not found:
            continue
        account, prefix = found[0], _singular(accounts)
        row[f"{prefix}_id"] = account.account_id
        for card_type, cards in (("", None), *((kind.value, name) for name, kind in CARD_FIELDS.items())):
            try:
                card = account.first_card(card_type or None)
            except LookupError:
                continue
            row[f"{prefix}_{_singular(cards) if cards else 'card'}_id"] = card.card_id
        for operations in OPERATION_FIELDS:
            done = getattr(account, operations)
            if done:
                row[f"{prefix}_{_singular(operations)}_id"] = done[0].operation_id
    return row


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=NAME,
        description="Write a dump as CSV (with a header) or JSON lines: one user per row, flat ids, "
        "for k6, JMeter and Gatling.",
    )
    parser.add_argument("dump", metavar="DUMP", help="a dump file, or a scenario name in --dumps-dir")
    parser.add_argument("--format", choices=FORMATS, required=True, help="csv or jsonl")
    parser.add_argument(
        "--fields",
        help="comma-separated fields, in this order (default: all the dump's users have); "
        "`--fields list` prints the possible ones",
    )
    parser.add_argument("--profile", help="only the users of this profile of the plan")
    parser.add_argument(
        "--strategy", help="zipf:S adds a weight column: each row's weight under that strategy (the first row hottest)"
    )
    parser.add_argument("--output", "-o", type=Path, help="write here instead of stdout ('-': stdout)")
    parser.add_argument("--dumps-dir", type=Path, default=Path("dumps"), help="where scenario names are looked up")
    parser.add_argument(
        "--exclude-quarantined",
        action="store_true",
        help="leave out the users quarantined in the dump's pool (<scenario>_seeds.pool, the service's embedded store)",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    """Entry point of ``python -m seeding export``; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.fields == "list":
        print("\n".join(field_names()))
        return EXIT_OK
    try:
        path = find_dump(args.dump, args.dumps_dir)
        weights = _weights(args.strategy)
        seeds = open_dump(path)
        indices: Sequence[int] = range(len(seeds.users))
        if args.profile is not None:
            indices = seeds.profile_indices(args.profile)
        if args.exclude_quarantined:
            skip = _quarantined(path, seeds.users)
            indices = [index for index in indices if index not in skip]
        first = _default_fields(seeds.users, indices)
        if weights is not None:
            first["weight"] = ""
        fields = _fields(args.fields, first)
        if "weight" in fields and weights is None:
            raise ValueError("--fields: the weight field needs --strategy zipf:S")
    except (DumpError, ValueError) as exc:
        return _error(str(exc))
    output: Path | None = None if args.output == Path("-") else args.output
    if output is not None:
        refused = _output_problem(output, path)
        if refused:
            return _error(f"-o {output}: {refused}")

    def rows() -> Iterator[dict[str, str]]:  # each write reads the dump again
        return _rows(seeds.users, indices, weights)

    try:
        if output is None:
            _write(sys.stdout, args.format, fields, rows())
        else:
            temporary = output.with_name(f".{output.name}.tmp")
            try:
                with temporary.open("w", encoding="utf-8", newline="") as out:
                    _write(out, args.format, fields, rows())
                temporary.replace(output)
            finally:
                temporary.unlink(missing_ok=True)
    except DumpError as exc:
        return _error(str(exc))
    except BrokenPipeError:  # `export … | head`: the reader has all it wanted (the command line ends quietly)
        raise
    except OSError as exc:
        written_aside = output is not None and exc.filename == str(output.with_name(f".{output.name}.tmp"))
        where = output if written_aside or not exc.filename else exc.filename  # the path given, not our temporary
        return _error(f"{where or 'stdout'}: {exc.strerror or exc}")
    if output is not None:
        print(f"{path}: {len(indices)} users, {len(fields)} fields → {output}", file=sys.stderr)
    return EXIT_OK


def _output_problem(output: Path, dump: Path) -> str | None:
    """Why ``output`` cannot be written: an input it would replace (the dump: its only ids), a directory, a
    device or pipe (the file written is renamed over the path: as root, a device would become that file), or a
    directory that is not there."""
    if output.is_dir():
        return "is a directory; name a file"
    if output.exists() and not output.is_file():
        return "is not a regular file (a device, pipe or socket); name a file, or '-' for stdout"
    if not output.parent.is_dir():
        return f"no such directory {output.parent}"
    for source, what in ((dump, "the dump being exported"), (index_path(dump), "that dump's index")):
        same = output.resolve() == source.resolve()
        with contextlib.suppress(OSError):
            same = same or os.path.samefile(output, source)
        if same:
            return f"is {what}; exporting over it would replace it. Name another file"
    return None


def _fields(requested: str | None, first: dict[str, str]) -> list[str]:
    if requested is None:
        return list(first)
    fields = [name.strip() for name in requested.split(",") if name.strip()]
    if not fields:
        raise ValueError("--fields: no field named")
    known = field_names()
    for name in fields:
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else " (`--fields list` shows them)"
            raise ValueError(f"--fields: unknown field {name!r}{hint}")
    if len(set(fields)) != len(fields):
        raise ValueError("--fields: a field is named twice")
    return fields


def _quarantined(path: Path, users: Sequence[SeedUserResult]) -> frozenset[int]:
    """Indices quarantined in the dump's pool file, when that file is this dump's (else none)."""
    if not isinstance(users, LazyUsers):
        raise ValueError(f"{path}: --exclude-quarantined needs a dump laid out as seeding writes it")
    return frozenset(quarantined_in(path, users.fingerprint(), len(users), replaced_fingerprints(users.meta)))


def _weights(strategy: str | None) -> StrategySpec | None:
    """The strategy whose weights the ``weight`` column holds (one that weighs users: ``zipf:S``)."""
    if strategy is None:
        return None
    try:
        spec = strategy_spec(strategy)
    except ValueError as exc:
        raise ValueError(f"--strategy: {exc}") from None
    if spec.weight is None:
        raise ValueError(f"--strategy: {strategy!r} weighs every user alike; only zipf:S adds a weight column")
    return spec


def _default_fields(users: Sequence[SeedUserResult], indices: Sequence[int]) -> dict[str, str]:
    """The first exported user's fields; with profiles (users of different shapes), every field any has."""
    if not len(indices):
        return {"index": "", "user_id": ""}
    first = flatten(indices[0], users[indices[0]])
    if "profile" not in first:
        return first
    seen: set[str] = set(first)
    for index in indices[1:]:
        seen.update(flatten(index, users[index]))
    return {name: "" for name in field_names() if name in seen}


def _rows(
    users: Sequence[SeedUserResult], indices: Sequence[int], weights: StrategySpec | None
) -> Iterator[dict[str, str]]:
    column = weights.weights(len(indices)) if weights is not None else None
    for rank, index in enumerate(indices):
        row = flatten(index, users[index])
        if column is not None:
            row["weight"] = f"{column[rank]:.6g}"
        yield row


def _write(out: TextIO, form: str, fields: list[str], rows: Iterator[dict[str, str]]) -> None:
    write = out.write
    if form == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(fields)
        for row in rows:
            writer.writerow([row.get(name, "") for name in fields])
        return
    for row in rows:
        record: dict[str, str | int | float] = {name: row.get(name, "") for name in fields}
        if "index" in record:
            record["index"] = int(row["index"])
        if "weight" in record:
            record["weight"] = float(row["weight"])
        write(orjson.dumps(record).decode() + "\n")


def _error(message: str) -> int:
    print(f"{NAME}: error: {message}", file=sys.stderr)
    return EXIT_USAGE
