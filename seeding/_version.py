"""The installed package's version, for ``--version``, dumps' ``meta`` and reports."""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version

__all__ = ["seeding_version"]


@functools.cache
def seeding_version() -> str:
    """The installed package's version (``unknown`` when run from a bare checkout); read once, it takes ms."""
    try:
        return version("seeding")
    except PackageNotFoundError:
        return "unknown"
