"""The one dump kept aside: ``<scenario>_seeds.previous.json`` (and its index), so no dump is lost silently.

Seeded data is the expensive part of a load test: a run that must replace a dump it cannot grow (another
shape, another seed, unreadable) moves the old one here first, once (an older ``.previous`` goes), and
says so; but a dump of the embedded stand never pushes out a kept dump of a gateway (it goes instead).
Moved with ``os.replace`` (same directory, so atomic); the index moves with its dump, or goes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .._exceptions import DumpError
from ._files import read_meta
from ._index import index_path

__all__ = ["EMBEDDED", "keep_previous", "previous_path"]


def previous_path(dump: Path) -> Path:
    """``x_seeds.json`` → ``x_seeds.previous.json``."""
    return dump.with_name(f"{dump.stem}.previous{dump.suffix}")


EMBEDDED = "embedded"  # a dump's ``meta.target`` when the embedded stand made it: its users ended with the stand


def _made_on(dump: Path) -> str | None:
    """The target a dump was seeded on (its meta's), or None when there is no such dump or it does not say."""
    try:
        target = (read_meta(dump) or {}).get("target") if dump.is_file() else None
    except (DumpError, OSError):
        return None
    return target if isinstance(target, str) else None


def keep_previous(dump: Path) -> Path | None:
    """Move ``dump`` (and its index) to ``previous_path(dump)``; the path it went to, None when there was none.

    Raises ``OSError`` when the dump exists but cannot be moved (the caller then writes nothing).
    """
    dump = Path(dump)
    if not dump.is_file():
        return None
    kept = previous_path(dump)
    if _made_on(dump) == EMBEDDED and _made_on(kept) not in (None, EMBEDDED):
        # The embedded stand's users ended with it; a gateway's kept dump is worth more: the stand's goes instead.
        for path in (dump, index_path(dump)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return None
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
