"""``--dry-run``: what a plan would create and cost, computed from the plan alone; nothing is sent.

Per kind (users, each account kind, its cards and operations) the entities it creates; the calls
(one per entity: the two cards a card account opens with come with its opening call); the
longest chain of calls that must run one after another (what bounds the run however wide the
concurrency); and from those one estimate, a lower bound of the run's time, with what it assumes
(a latency per call that does not grow with the load, the calls in flight as the run's limit sets
them on such a gateway, and the rate cap if there is one).

A plan whose users differ (profiles, drawn counts) is previewed by drawing every user's shape under
the run's seed, as the run will: per profile its users, and per entity kind the min / median /
p95 / max per user and the total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..plan._models import SeedsPlan
from ..plan._shapes import Shapes
from ._builder import Builder, BuildOptions
from ._limits import FIRST_PROBE_ANSWERS
from ._options import ADAPTIVE_INITIAL, ADAPTIVE_MAX, DEFAULT_LATENCY_BUDGET, LATENCY_MIN

__all__ = ["ASSUMED_LATENCY_MS", "Preview", "entities_by_kind", "preview"]

# A call's latency on the real stand, roughly (GATEWAY-CONTRACT.md, sequential p50s): gRPC 5–33 ms, HTTP ~10× that.
ASSUMED_LATENCY_MS = {"grpc": 20.0, "http": 200.0}


@dataclass(frozen=True)
class KindSpread:
    """One entity kind per user of one profile: ``debit_card_accounts.purchase_operations``."""

    kind: str
    least: int
    median: int
    p95: int
    most: int
    total: int

    @classmethod
    def of(cls, kind: str, per_user: list[int]) -> KindSpread:
        ordered = sorted(per_user)

        def at(q: float) -> int:  # nearest rank
            return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

        return cls(kind, ordered[0], at(0.5), at(0.95), ordered[-1], sum(ordered))


@dataclass(frozen=True)
class ProfileSpread:
    name: str | None  # None: a plan without profiles whose counts are drawn
    users: int
    kinds: list[KindSpread]


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
    profiles: list[ProfileSpread] = field(default_factory=list)  # users that differ: what each kind holds
    seed: int | None = None  # the seed the users' counts were drawn with
    latency_budget: float | None = DEFAULT_LATENCY_BUDGET  # the default limit's (None: --latency-budget off)
    rate: float | None = None  # calls per second at most (--rate)

    @property
    def seconds_at_least(self) -> float:
        """The run cannot be shorter than its longest chain, nor than its calls spread over the calls in
        flight, nor (under ``--rate``) than its calls at that rate.

        A fixed concurrency keeps that many in flight from the start. The default (a latency budget)
        first sends ``FIRST_PROBE_ANSWERS`` calls one at a time to learn the gateway's unloaded round
        trip, then, on a gateway whose latency stays flat, doubles the calls in flight each round trip
        from two up to ``ADAPTIVE_MAX`` (its start-up; its later probes, a dozen calls one at a time
        every 10 s, are left out). ``--latency-budget off`` starts at ``ADAPTIVE_INITIAL`` and doubles
        each round trip up to ``ADAPTIVE_MAX``. The estimate assumes such a gateway.
        """
        if not self.calls:
            return 0.0
        seconds = max(self.longest_chain, self._rounds()) * self.latency_ms / 1000
        return max(seconds, self.calls / self.rate) if self.rate else seconds

    def _rounds(self) -> int:
        if self.concurrency:
            return math.ceil(self.calls / self.concurrency)
        left, rounds, in_flight = self.calls, 0, ADAPTIVE_INITIAL
        if self.latency_budget is not None:  # the first probe: one call at a time
            rounds = min(left, FIRST_PROBE_ANSWERS)
            left, in_flight = left - rounds, 2 * LATENCY_MIN
        while left > 0 and in_flight < ADAPTIVE_MAX:
            left, in_flight, rounds = left - in_flight, min(2 * in_flight, ADAPTIVE_MAX), rounds + 1
        return rounds + math.ceil(max(left, 0) / ADAPTIVE_MAX)

    def assumptions(self, transport: str) -> list[str]:
        """What the estimate takes for granted, each with the flag that changes it."""
        latency = f"{self.latency_ms:g} ms per call over {transport}, however many are in flight (--latency-ms sets it)"
        rate = [f"at most {self.rate:g} calls per second (--rate sets it)"] if self.rate else []
        if self.concurrency:
            return [latency, f"{self.concurrency} calls in flight (--concurrency sets it)", *rate]
        if self.latency_budget is None:
            return [
                latency,
                f"{ADAPTIVE_INITIAL} calls in flight at first, twice as many each round trip up to {ADAPTIVE_MAX}: "
                "--latency-budget off (--concurrency N fixes them)",
                *rate,
            ]
        return [
            latency,
            f"{FIRST_PROBE_ANSWERS} calls one at a time first (the gateway's unloaded round trip), then twice as "
            f"many in flight each round trip from {2 * LATENCY_MIN} up to {ADAPTIVE_MAX}, the round trip staying "
            f"within {self.latency_budget:g} × the unloaded one: the default (--latency-budget sets the budget, "
            "--concurrency N fixes the calls in flight)",
            *rate,
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
        if self.profiles:
            lines.append(f"  per user (drawn with seed {self.seed}, as a run with --seed {self.seed} draws them):")
            kind_width = max((len(spread.kind) for p in self.profiles for spread in p.kinds), default=10)
            kind_width = max(kind_width, 10)  # a profile with no accounts has no kinds
            header = f"{'min':>6}{'median':>8}{'p95':>7}{'max':>7}{'total':>12}"
            for profile in self.profiles:
                title = f"profile {profile.name}" if profile.name else "every user"
                lines.append(f"    {title}: {profile.users:,} users")
                lines.append(f"      {'':<{kind_width}}{header}")
                for k in profile.kinds:
                    lines.append(
                        f"      {k.kind:<{kind_width}}{k.least:>6,}{k.median:>8,}{k.p95:>7,}{k.most:>7,}{k.total:>12,}"
                    )
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
            **({} if self.concurrency else {"latency_budget": self.latency_budget or "off"}),
            **({"rate": self.rate} if self.rate else {}),
            "latency_ms": self.latency_ms,
            **({"seed": self.seed, "profiles": [_profile_json(p) for p in self.profiles]} if self.profiles else {}),
            "seconds_at_least": round(self.seconds_at_least, 3),
        }


def _profile_json(profile: ProfileSpread) -> dict[str, Any]:
    kinds = {
        k.kind: {"min": k.least, "median": k.median, "p95": k.p95, "max": k.most, "total": k.total}
        for k in profile.kinds
    }
    return {"name": profile.name, "users": profile.users, "kinds": kinds}


def preview(plan: SeedsPlan, options: BuildOptions, latency_ms: float, indices: Sequence[int] | None = None) -> Preview:
    """What ``plan`` would create and cost under ``options`` (concurrency, parallel operations, seed).

    ``indices``: the plan users a run seeds (a shard's); all of them by default.
    """
    if plan.users.drawn:
        drawn = _draw(plan, options, range(plan.users.count) if indices is None else indices)
        calls = sum(n for _, n in drawn.kinds)
        return Preview(
            plan.name, drawn.kinds, drawn.opened, calls, drawn.chain, options.concurrency, latency_ms,
            drawn.profiles, options.seed, options.latency_budget, options.rate,
        )  # fmt: skip
    users = plan.users.count if indices is None else len(indices)
    kinds, opened = entities_by_kind(plan, users)
    calls = sum(plan.totals(users).values())
    chain = Builder(plan, None, options).longest_chain if users else 0  # type: ignore[arg-type]  # sends nothing
    return Preview(
        plan.name, kinds, opened, calls, chain, options.concurrency, latency_ms,
        latency_budget=options.latency_budget, rate=options.rate,
    )  # fmt: skip


def entities_by_kind(
    plan: SeedsPlan, users: int, *, seed: int = 0, indices: Sequence[int] | None = None
) -> tuple[list[tuple[str, int]], int]:
    """``users`` of ``plan``'s entities by kind (``"debit_card_accounts.physical_cards"``, …), and the
    cards their card accounts open with (two each, made by the opening call: no call of their own).

    When the plan's users differ, each one's shape is drawn under ``seed`` (``indices``: which plan
    users; the first ``users`` by default), as the run draws it.
    """
    if plan.users.drawn:
        drawn = _draw(plan, BuildOptions(seed=seed), range(users) if indices is None else indices)
        return drawn.kinds, drawn.opened
    kinds: list[tuple[str, int]] = [("users", users)]
    opened = 0
    for name, kind, accounts in plan.users.accounts():
        if not accounts.count:
            continue
        count = users * accounts.fixed_count
        kinds.append((name, count))
        if kind.has_cards:
            opened += 2 * count
        for sub_field, _, sub in [*accounts.cards(), *accounts.operations()]:
            if sub.count:
                kinds.append((f"{name}.{sub_field}", count * sub.fixed_count))
    return kinds, opened


@dataclass(frozen=True)
class _Drawn:
    kinds: list[tuple[str, int]]
    opened: int
    chain: int
    profiles: list[ProfileSpread]


def _draw(plan: SeedsPlan, options: BuildOptions, indices: Sequence[int]) -> _Drawn:
    """Every user's shape drawn as the run will draw it: totals by kind, and per profile the spread per user."""
    shapes = Shapes(plan, options.seed)
    builder = Builder(plan, None, options)  # type: ignore[arg-type]  # sends nothing
    names = [name for name, _, _ in plan.users.shapes()]
    per_user: dict[str | None, dict[str, list[int]]] = {name: {} for name in names}
    users: dict[str | None, int] = dict.fromkeys(names, 0)
    totals: dict[str, int] = {}
    opened = chain = 0
    for index in indices:
        shape = shapes[index]
        users[shape.profile] += 1
        chain = max(chain, 1 + builder.after_user(shape))
        counts: dict[str, int] = {}
        for name, kind, accounts in shape.accounts:
            counts[name] = len(accounts)
            if kind.has_cards:
                opened += 2 * len(accounts)
            for account in accounts:
                for sub_field, _, sub in [*account.cards(), *account.operations()]:
                    key = f"{name}.{sub_field}"
                    counts[key] = counts.get(key, 0) + sub.fixed_count
        for key, number in counts.items():
            per_user[shape.profile].setdefault(key, []).append(number)
            totals[key] = totals.get(key, 0) + number
    order = _kind_order()
    kinds = [("users", len(indices)), *((key, totals[key]) for key in order if totals.get(key))]
    profiles = [
        ProfileSpread(
            name,
            users[name],
            [KindSpread.of(key, per_user[name][key]) for key in order if any(per_user[name].get(key, ()))],
        )
        for name in names
    ]
    return _Drawn(kinds, opened, chain, profiles)


def _kind_order() -> list[str]:
    """Entity kinds in dump order: each account kind, then its cards' and operations' kinds."""
    from ..plan._models import ACCOUNT_FIELDS, CARD_FIELDS, OPERATION_FIELDS

    return [
        key
        for name in ACCOUNT_FIELDS
        for key in (name, *(f"{name}.{sub}" for sub in (*CARD_FIELDS, *OPERATION_FIELDS)))
    ]


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.2f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
