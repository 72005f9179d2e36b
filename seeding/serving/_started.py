"""``async with server:``: start it, run the block, stop it however the block ends.

The stand and the service are both used this way; each says how it starts and stops, and the
block around the two is written once here.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

__all__ = ["StartStop"]


class StartStop(abc.ABC):
    """``async with x:`` awaits ``x.start()``, runs the block, then awaits ``x.stop()`` however it ends."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Begin serving; raise (with nothing left running) when that cannot be done."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop serving; safe to call twice."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
