"""The end of a run for a person: a table of what was created and how each RPC went, as k6 and Locust print.

``--summary auto`` (the default) prints the table on a terminal and the one-line summary elsewhere,
so CI logs and scripts that read that line keep it unchanged; ``--summary table`` prints the table
anywhere, ``--summary line`` the line anywhere. The table is coloured on a terminal unless
``NO_COLOR`` is set (https://no-color.org), never off one.

Entities by kind count the two cards each card account opens with ("opened cards"): they come with
the opening call, so the plan's ``cards`` count (and the one-line summary, the dump's meta and
``--report``) leaves them out. Per RPC: the attempts sent, those that failed (whatever the reason),
those retried (transient failures the retry policy sent again), and p50 / p95 / p99 of their
latencies from the run's ``CallLog``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from ..engine._builder import BuildStats
    from ..engine._run import PlanRun
    from ..gateway import CallLog

__all__ = ["SUMMARIES", "Style", "TableFacts", "facts_table_lines", "summary_lines", "table_lines", "wants_table"]

Summary = Literal["auto", "table", "line"]
SUMMARIES: tuple[Summary, ...] = ("auto", "table", "line")


@dataclass(frozen=True)
class Style:
    """ANSI colours, or none: ``Style.for_stream`` decides once per run."""

    colour: bool = False

    @classmethod
    def for_stream(cls, stream: TextIO) -> Style:
        return cls(colour=_is_terminal(stream) and not os.environ.get("NO_COLOR"))

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def good(self, text: str) -> str:
        return self._wrap("32", text)

    def bad(self, text: str) -> str:
        return self._wrap("31", text)


def wants_table(summary: Summary, stream: TextIO) -> bool:
    """Whether the run ends with the table (else the one line)."""
    return summary == "table" or (summary == "auto" and _is_terminal(stream))


def round_trips(round_trip: float | None, unloaded: float | None) -> str:
    """``, round trip 26 ms (unloaded 21 ms)``: what the latency-aware limit kept; "" without it."""
    if round_trip is None or unloaded is None:
        return ""
    return f", round trip {round_trip * 1000:.0f} ms (unloaded {unloaded * 1000:.0f} ms)"


def pushbacks(count: int) -> str:
    """``, 3 pushbacks``: calls the gateway refused for load (the run held off); "" for none."""
    return f", {count} pushback{'s' if count != 1 else ''}" if count else ""


def summary_lines(run: PlanRun, path: Path) -> list[str]:
    """The one-line summary (CI's format: unchanged from before the table)."""
    totals = run.totals()
    stats = run.builder.stats if run.builder else None
    counts = ", ".join(f"{n} {name}" for name, n in totals.items())
    rate = (
        f"{stats.calls} calls, {stats.calls_per_second:.0f} calls/s, up to {stats.peak_in_flight} in flight"
        f"{round_trips(stats.round_trip, stats.unloaded_round_trip)}{pushbacks(stats.pushbacks)}, "
        f"{stats.retries} retries"
        if stats
        else ""
    )
    elapsed = f"{stats.elapsed:.2f} s" if stats else "?"
    resumed = f", {run.resumed_users} users from the journal" if run.resumed_users else ""
    if run.reused_users:  # a grown or repaired dump: what it kept, what this run added
        rate = f"reused {run.reused_users}, seeded {run.count}, {rate}"
    return [f"{run.scenario}: {counts} in {elapsed} over {_where(run)} ({rate}{resumed}) → {path}"]


@dataclass(frozen=True)
class TableFacts:
    """What the table shows, from a run in this process (``of``) or summed over ``--processes`` children."""

    scenario: str
    where: str  # "grpc at 127.0.0.1:9003"
    seeded: int  # users this run seeded (those from a journal included)
    kinds: list[tuple[str, int]]  # ``entities_by_kind`` of them
    opened: int  # the cards their card accounts opened with
    with_cards: frozenset[str]  # the account kinds that open cards
    log: CallLog | None
    stats: BuildStats | None
    reused: int = 0  # users kept from the dump (grow, repair)
    resumed: int = 0  # users from a journal: no call this run
    processes: int | None = None

    @classmethod
    def of(cls, run: PlanRun) -> TableFacts:
        from ..engine._preview import entities_by_kind

        kinds, opened = entities_by_kind(run.plan, run.count, seed=run.seed, indices=run.indices)
        return cls(
            scenario=run.scenario,
            where=_where(run),
            seeded=run.count,
            kinds=kinds,
            opened=opened,
            with_cards=frozenset(name for name, kind, _ in run.plan.users.accounts() if kind.has_cards),
            log=run.client.call_log,
            stats=run.builder.stats if run.builder else None,
            reused=run.reused_users,
            resumed=run.resumed_users,
        )


def table_lines(run: PlanRun, path: Path, style: Style) -> list[str]:
    """The table of a run in this process."""
    return facts_table_lines(TableFacts.of(run), path, style)


def facts_table_lines(facts: TableFacts, path: Path, style: Style) -> list[str]:
    """The table: a heading, entities by kind, one row per RPC and a total, then wall, rate and the dump."""
    stats = facts.stats
    reused = f"reused {facts.reused:,}, " if facts.reused else ""
    processes = f" in {facts.processes} processes" if facts.processes else ""
    lines = [
        f"{style.bold(facts.scenario)}: {reused}{style.good('seeded')} {facts.seeded:,} users over {facts.where}"
        f"{processes}",
        "",
    ]

    rows: list[tuple[str, str]] = []
    for name, count in facts.kinds:
        depth = name.count(".")
        rows.append(("  " * depth + name.rsplit(".", 1)[-1], f"{count:,}"))
        if name in facts.with_cards:
            rows.append(("  opened cards", f"{2 * count:,}"))
    entities = sum(count for _, count in facts.kinds) + facts.opened
    rows.append(("total", f"{entities:,}"))
    width = max(len(label) for label, _ in rows)
    lines.append(f"  {style.bold('entities'.ljust(width))}  {style.bold('created'.rjust(9))}")
    for label, value in rows:
        text = f"  {label.ljust(width)}  {value.rjust(9)}"
        lines.append(style.dim(text) if label == "total" else text)
    if facts.opened:
        lines.append(style.dim("  (opened cards: the two each card account opens with, made by its opening call)"))
    lines.append("")

    log = facts.log
    if log is not None and log.rpcs:
        lines += _rpc_lines(log, style)

    if stats is not None:
        seeded = facts.seeded
        made = entities * (seeded - facts.resumed) / seeded if seeded else 0  # what this run's calls made
        entity_rate = made / stats.elapsed if stats.elapsed > 0 else 0.0
        in_flight = f", up to {stats.peak_in_flight} calls in flight" if stats.peak_in_flight else ""
        lines.append(
            f"  {'wall'.ljust(8)}{_seconds(stats.elapsed)}, {stats.calls_per_second:,.0f} calls/s, "
            f"{entity_rate:,.0f} entities/s{in_flight}"
            f"{round_trips(stats.round_trip, stats.unloaded_round_trip)}{pushbacks(stats.pushbacks)}"
        )
    if facts.resumed:
        lines.append(f"  {'resumed'.ljust(8)}{facts.resumed:,} users from the journal")
    lines.append(f"  {'dump'.ljust(8)}{style.bold(str(path))}")
    return lines


def _rpc_lines(log: CallLog, style: Style) -> list[str]:
    """One row per RPC (attempts, failed, retried, p50 / p95 / p99) and a total."""
    header = ("rpc", "calls", "failed", "retried", "p50", "p95", "p99")
    table: list[tuple[str, ...]] = []
    total_calls = total_failed = total_retried = 0
    for rpc, rpc_stats in sorted(log.rpcs.items()):
        failed = rpc_stats.calls - rpc_stats.statuses.get("OK", 0)
        total_calls, total_failed, total_retried = (
            total_calls + rpc_stats.calls,
            total_failed + failed,
            total_retried + rpc_stats.retried,
        )
        table.append(
            (
                rpc,
                f"{rpc_stats.calls:,}",
                f"{failed:,}",
                f"{rpc_stats.retried:,}",
                *(_ms(rpc_stats.percentile(share)) for share in (0.50, 0.95, 0.99)),
            )
        )
    table.append(("total", f"{total_calls:,}", f"{total_failed:,}", f"{total_retried:,}", "", "", ""))
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]

    def row_text(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))]
        return "  " + "  ".join(cells).rstrip()

    lines = [style.bold(row_text(header))]
    for row in table:
        text = row_text(row)
        if row[0] == "total":
            text = style.dim(text)
        elif row[2] != "0":
            text = style.bad(text)
        lines.append(text)
    lines.append("")
    return lines


def _where(run: PlanRun) -> str:
    if run.target == "embedded":
        return f"{run.client.transport} at the embedded stand ({run.client.target})"
    return f"{run.client.transport} at {run.client.target}"


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 100 else f"{ms:,.0f} ms"


def _seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
