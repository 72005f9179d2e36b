"""Conventions every command follows: a bad flag is one line on stderr and exit status 2, never argparse's
usage block; number flags say what they accept, non-numbers included.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "OneLineParser",
    "bounded",
    "fraction",
    "non_negative_float",
    "non_negative_int",
    "port",
    "positive_float",
    "positive_int",
    "seed_number",
]


def _invoked_as() -> str:
    """``seeding`` when run by the installed console script, else ``python -m seeding``."""
    name = sys.argv[0].rsplit("/", 1)[-1] if sys.argv and sys.argv[0] else ""
    return "seeding" if name in ("seeding", "seeding.exe") else "python -m seeding"


PROG = _invoked_as()  # how every command of the package names itself in usage and errors, as the user typed it

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

N = TypeVar("N", int, float)


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """``prog: error: <message> (see --help)`` on one line, exit status 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def bounded(kind: type[N], accepts: str, ok: Callable[[N], bool]) -> Callable[[str], N]:
    """An argparse type for a number of ``kind`` that ``ok`` accepts; ``accepts`` says which, in its errors."""
    noun = "a whole number" if kind is int else "a number"

    def convert(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number {accepts}, got {text}")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {accepts}, got {text}")
        return value

    convert.__name__ = accepts  # argparse names the type in some messages
    return convert


positive_int = bounded(int, "at least 1", lambda v: v >= 1)
non_negative_int = bounded(int, "0 or more", lambda v: v >= 0)
positive_float = bounded(float, "more than 0", lambda v: v > 0)
non_negative_float = bounded(float, "0 or more", lambda v: v >= 0)
fraction = bounded(float, "within [0, 1]", lambda v: 0 <= v <= 1)
port = bounded(int, "a port number 0-65535 (0: any free port)", lambda v: 0 <= v <= 65535)
# Seeds travel in journals and dumps as JSON integers, which orjson keeps to 64 bits.
seed_number = bounded(int, "a whole number within ±9223372036854775807", lambda v: -(2**63) < v < 2**63)
