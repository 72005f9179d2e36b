"""What the servers of seeding share (the service, the stand): starting and stopping, bounded connections, logs.

StartStop          ``async with server:``: its ``start()``, the block, its ``stop()`` however the block ends
ConnectionLimits   how long a request head and body may take, how many connections at once
BoundedListener    listens for an ``AppRunner`` with those limits; JSON errors for unparsable requests
OneLineLog         aiohttp's log of requests it cannot parse, one line each instead of a traceback

The aiohttp parts load on first use (``seeding._lazy``): the stand's gRPC side needs none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import LazyNames
from ._started import StartStop as StartStop

if TYPE_CHECKING:  # the same names for type checkers and editors (tests/test_lazy_names.py: as the table)
    from ._bounded import (
        BoundedListener as BoundedListener,
        ConnectionLimits as ConnectionLimits,
        read_body as read_body,
    )
    from ._one_line_log import OneLineLog as OneLineLog

_PUBLIC = LazyNames(
    __name__,
    {
        "._started": ("StartStop",),
        "._bounded": ("BoundedListener", "ConnectionLimits", "read_body"),
        "._one_line_log": ("OneLineLog",),
    },
)
__all__ = _PUBLIC.names
__getattr__ = _PUBLIC.attribute
__dir__ = _PUBLIC.dir
