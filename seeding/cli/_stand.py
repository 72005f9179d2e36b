"""``seeding stand``: the embedded stand in the foreground, the same command as ``python -m seeding.stand``."""

from __future__ import annotations

from collections.abc import Sequence

from ._arguments import PROG

__all__ = ["build_parser", "main"]


def build_parser():  # type: ignore[no-untyped-def]  # argparse.ArgumentParser, imported with the stand
    from ..stand.__main__ import build_parser as stand_parser

    return stand_parser(f"{PROG} stand")


def main(argv: Sequence[str]) -> int:
    """Entry point of ``seeding stand``; returns the exit status."""
    from ..stand.__main__ import main as stand_main

    return stand_main(list(argv), prog=f"{PROG} stand")
