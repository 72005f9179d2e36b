"""``--dry-run``: what a plan would create and cost, computed from the plan alone; nothing is sent.

Per kind (users, each account kind, its cards and operations) the entities it creates; the calls
(one per entity: the two cards a card account opens with come with its opening call); the
longest chain of calls that must run one after another (what bounds the run however wide the
concurrency); and from those one estimate, a lower bound of the run's time, with what it assumes
(a latency per call that does not grow with the load, and the calls in flight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..plan._models import SeedsPlan
from ._builder import Builder, BuildOptions
from ._options import ADAPTIVE_INITIAL, ADAPTIVE_MAX

__all__ = ["ASSUMED_LATENCY_MS", "Preview", "entities_by_kind", "preview"]

# A call's latency on the real stand, roughly (GATEWAY-CONTRACT.md, sequential p50s): gRPC 5–33 ms, HTTP ~10× that.
ASSUMED_LATENCY_MS = {"grpc": 20.0, "http": 200.0}


@dataclass(frozen=True)
class Preview:
    scenario: str
    # ("users", n), ("debit_card_accounts", n), ("debit_card_accounts.physical_cards", n), …
    kinds: list[tuple[str, int]]
    opened_cards: int  # cards the card accounts open with: no call of their own
    calls: int
    longest_chain: int
    concurrency: int | None  # None: adaptive
    latency_ms: float

    @property
    def seconds_at_least(self) -> float:
        """The run cannot be shorter than its longest chain, nor than its calls spread over the calls in flight.

        A fixed concurrency keeps that many in flight from the start. The adaptive default starts at
        ``ADAPTIVE_INITIAL`` and, on a gateway whose latency stays flat, doubles each round trip up to
        ``ADAPTIVE_MAX`` (its slow start): the estimate assumes such a gateway.
        """
        return max(self.longest_chain, self._rounds()) * self.latency_ms / 1000 if self.calls else 0.0

    def _rounds(self) -> int:
        if self.concurrency:
            return math.ceil(self.calls / self.concurrency)
        left, in_flight, rounds = self.calls, ADAPTIVE_INITIAL, 0
        while left > 0 and in_flight < ADAPTIVE_MAX:
            left, in_flight, rounds = left - in_flight, min(2 * in_flight, ADAPTIVE_MAX), rounds + 1
        return rounds + math.ceil(max(left, 0) / ADAPTIVE_MAX)

    def assumptions(self, transport: str) -> list[str]:
        """What the estimate takes for granted, each with the flag that changes it."""
        latency = f"{self.latency_ms:g} ms per call over {transport}, however many are in flight (--latency-ms sets it)"
        if self.concurrency:
            return [latency, f"{self.concurrency} calls in flight (--concurrency sets it)"]
        return [
            latency,
            f"{ADAPTIVE_INITIAL} calls in flight at first, twice as many each round trip up to {ADAPTIVE_MAX}: "
            "the adaptive default (--concurrency N fixes it)",
        ]

    def lines(self, transport: str) -> list[str]:
        width = max((len(name.rsplit(".", 1)[-1]) + 2 * name.count(".") for name, _ in self.kinds), default=5) + 2
        lines = [f"{self.scenario}: dry run, nothing sent; the plan would create:"]
        for name, count in self.kinds:
            depth = name.count(".")
            label = name.rsplit(".", 1)[-1]
            lines.append(f"  {'  ' * depth}{label:<{width - 2 * depth}}{count:>12,}")
        if self.opened_cards:
            lines.append(f"  (+ {self.opened_cards:,} cards the card accounts open with, in the same calls)")
        chain = f"the longest chain is {self.longest_chain} calls one after another"
        lines.append(f"  {self.calls:,} calls in all; {chain}")
        lines.append(f"  estimate: at least {_duration(self.seconds_at_least)}, assuming")
        lines.extend(f"    - {assumption}" for assumption in self.assumptions(transport))
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "kinds": dict(self.kinds),
            "opened_cards": self.opened_cards,
            "calls": self.calls,
            "longest_chain": self.longest_chain,
            "concurrency": self.concurrency if self.concurrency else "adaptive",
            "latency_ms": self.latency_ms,
            "seconds_at_least": round(self.seconds_at_least, 3),
        }


def preview(plan: SeedsPlan, options: BuildOptions, latency_ms: float) -> Preview:
    """What ``plan`` would create and cost under ``options`` (concurrency, parallel operations)."""
    users = plan.users.count
    kinds, opened = entities_by_kind(plan, users)
    calls = sum(plan.totals().values())
    chain = Builder(plan, None, options).longest_chain if users else 0  # type: ignore[arg-type]  # sends nothing
    return Preview(plan.name, kinds, opened, calls, chain, options.concurrency, latency_ms)


def entities_by_kind(plan: SeedsPlan, users: int) -> tuple[list[tuple[str, int]], int]:
    """``users`` of ``plan``'s entities by kind (``"debit_card_accounts.physical_cards"``, …), and the
    cards their card accounts open with (two each, made by the opening call: no call of their own)."""
    kinds: list[tuple[str, int]] = [("users", users)]
    opened = 0
    for name, kind, accounts in plan.users.accounts():
        if not accounts.count:
            continue
        count = users * accounts.count
        kinds.append((name, count))
        if kind.has_cards:
            opened += 2 * count
        for field, _, sub in [*accounts.cards(), *accounts.operations()]:
            if sub.count:
                kinds.append((f"{name}.{field}", count * sub.count))
    return kinds, opened


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.2f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
