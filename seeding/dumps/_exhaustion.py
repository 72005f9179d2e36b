"""What a consumer does when no seeded user is left to give (``when_empty``), for every strategy.

    stop          refuse: the service answers 409, Locust stops the test with one line (the default)
    wait:SECONDS  wait up to that long for a user to come back (returned, released, reset), then stop
    cycle         start over: what was handed out is forgotten and hand-outs begin again
    warn          hand out a user someone already has, and say so once

``unique`` and ``shuffle`` run out when every user is handed out; every strategy runs out when
every user is quarantined (then ``cycle`` and ``warn`` have nothing to give either). A lease is
exclusive by definition: it takes ``stop`` or ``wait:SECONDS`` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["ACTIONS", "Action", "WhenEmpty"]

Action = Literal["stop", "wait", "cycle", "warn"]
ACTIONS: tuple[Action, ...] = get_args(Action)


@dataclass(frozen=True)
class WhenEmpty:
    action: Action = "stop"
    seconds: float = 0.0  # for ``wait``

    @classmethod
    def parse(cls, text: str, *, max_wait: float = 3600.0) -> WhenEmpty:
        """``stop``, ``wait:SECONDS``, ``cycle`` or ``warn``; ``ValueError`` in one line otherwise."""
        name, colon, rest = text.strip().partition(":")
        expected = "expected stop, wait:SECONDS, cycle or warn"
        if name not in ACTIONS or (colon and name != "wait"):
            raise ValueError(f"when_empty {text[:40]!r}: {expected}")
        if name != "wait":
            return cls(name)
        try:
            seconds = float(rest)
        except ValueError:
            raise ValueError(f"when_empty {text[:40]!r}: wait needs a number of seconds (wait:30)") from None
        if not math.isfinite(seconds) or seconds <= 0 or seconds > max_wait:
            raise ValueError(f"when_empty {text[:40]!r}: wait takes above 0 and at most {max_wait:g} seconds")
        return cls("wait", seconds)

    @property
    def exclusive_only(self) -> bool:
        """Whether it never gives one user to two holders (what a lease allows)."""
        return self.action in ("stop", "wait")

    def __str__(self) -> str:
        return f"wait:{self.seconds:g}" if self.action == "wait" else self.action
