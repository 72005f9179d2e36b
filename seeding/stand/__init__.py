"""The embedded stand: an in-memory bank gateway serving the contract over HTTP and gRPC.

    Stand            async context manager, in this event loop: ``async with Stand() as stand``
    StandProcess     the same in a subprocess (``python -m seeding.stand``), for kill / restart tests
    StandOptions     how either runs (addresses, latency, faults); the command line's flags too
    Bank, Faults     its state and its fault injector, reachable as ``stand.bank`` / ``stand.faults``

Run it on its own with ``python -m seeding.stand --help``.
"""

from __future__ import annotations

from ._bank import Bank
from ._errors import StandStartError
from ._faults import Faults
from ._options import StandOptions
from ._stand import Stand
from ._subprocess import StandProcess

__all__ = ["Bank", "Faults", "Stand", "StandOptions", "StandProcess", "StandStartError"]
