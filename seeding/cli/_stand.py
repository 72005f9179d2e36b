"""``seeding stand``: the embedded stand in the foreground, the same command as ``python -m seeding.stand``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._arguments import PROG

if TYPE_CHECKING:
    import argparse

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from ..stand.__main__ import build_parser as stand_parser

    return stand_parser(f"{PROG} stand")


def main(argv: Sequence[str]) -> int:
    """Entry point of ``seeding stand``; returns the exit status."""
    from ..stand.__main__ import main as stand_main

    return stand_main(list(argv), prog=f"{PROG} stand")
