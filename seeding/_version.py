"""The installed package's version, for ``--version``, dumps' ``meta`` and reports."""

from __future__ import annotations

import functools

__all__ = ["seeding_version"]


@functools.cache
def seeding_version() -> str:
    """The installed package's version (``unknown`` when run from a bare checkout); read once, it takes ms."""
    from importlib.metadata import PackageNotFoundError, version  # tens of ms of imports: only when asked

    try:
        return version("seeding")
    except PackageNotFoundError:
        return "unknown"
