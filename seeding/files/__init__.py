"""Files read by path, checked before they are read: only regular files, bounded where a size makes no sense.

Plans, dumps, shards, journals, indexes, ``.env``, hand-out logs and run records all come through here,
so a FIFO, a character device (``/dev/zero``) or a directory at one of those names is refused in one line
instead of hanging a command or the service's event loop, or reading until memory runs out.
"""

from __future__ import annotations

from ._regular import check_regular, open_regular, read_regular

__all__ = ["check_regular", "open_regular", "read_regular"]
