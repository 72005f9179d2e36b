"""What every aiohttp server of seeding shares (the service, the stand): bounded connections, one-line logs.

ConnectionLimits   how long a request head and body may take, how many connections at once
BoundedListener    listens for an ``AppRunner`` with those limits; JSON errors for unparsable requests
OneLineLog         aiohttp's log of requests it cannot parse, one line each instead of a traceback
"""

from __future__ import annotations

from ._bounded import BoundedListener, ConnectionLimits, read_body
from ._one_line_log import OneLineLog

__all__ = ["BoundedListener", "ConnectionLimits", "OneLineLog", "read_body"]
