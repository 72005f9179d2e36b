"""The one dump kept aside: ``<scenario>_seeds.previous.json`` (and its index), so no dump is lost silently.

Seeded data is the expensive part of a load test: a run that must replace a dump it cannot grow (another
shape, another seed, unreadable) moves the old one here first, once (an older ``.previous`` goes), and
says so. Moved with ``os.replace`` (same directory, so atomic); the index moves with its dump, or goes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ._index import index_path

__all__ = ["keep_previous", "previous_path"]


def previous_path(dump: Path) -> Path:
    """``x_seeds.json`` → ``x_seeds.previous.json``."""
    return dump.with_name(f"{dump.stem}.previous{dump.suffix}")


def keep_previous(dump: Path) -> Path | None:
    """Move ``dump`` (and its index) to ``previous_path(dump)``; the path it went to, None when there was none.

    Raises ``OSError`` when the dump exists but cannot be moved (the caller then writes nothing).
    """
    dump = Path(dump)
    if not dump.is_file():
        return None
    kept = previous_path(dump)
    old_index = index_path(kept)
    with contextlib.suppress(FileNotFoundError):
        old_index.unlink()  # an older .previous's index never describes the one moved in next
    os.replace(dump, kept)
    index = index_path(dump)
    try:
        os.replace(index, old_index)
    except FileNotFoundError:
        pass
    except OSError:
        with contextlib.suppress(OSError):
            index.unlink()  # a stale index beside the next dump would be refused anyway; never keep it
    return kept
