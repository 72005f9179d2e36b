"""The command line: ``python -m seeding`` and its subcommands, parsing, progress and reports.

``main`` is the console script's entry point (``seeding = "seeding.cli:main"``), imported on first
use like every package's public names (``seeding._lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import LazyNames

if TYPE_CHECKING:  # the same names for type checkers and editors (tests/test_lazy_names.py: as the table)
    from ._main import main as main

_PUBLIC = LazyNames(__name__, {"._main": ("main",)})
__all__ = _PUBLIC.names
__getattr__ = _PUBLIC.attribute
__dir__ = _PUBLIC.dir
