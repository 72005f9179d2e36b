"""``python -m seeding PLAN --processes N``: the plan's ``N`` shards in ``N`` processes here, then one merge.

One process is bound by one core; ``N`` shard processes (``python -m seeding PLAN --shard I/N``,
each with its own journal, dump and ``--concurrency``) use ``N``. The parent starts them, shows
one progress line for all (each child reports its counters as JSON lines on stdout, see
``_progress``), merges the shards into ``dumps/<scenario>_seeds.json`` when all have finished,
removes the shard files, and prints one summary: the table (each child's calls by RPC, added up) or the line.

Ctrl-C (or SIGTERM) reaches the parent only (the children run in their own sessions): it passes
one SIGINT to each child, which stops cleanly and keeps its journal; ``--processes N --resume``
then resumes the unfinished shards and reuses the finished ones. Without a ``--seed`` the shards
use ``default_seed(plan_hash)``, so a resumed run agrees with the first one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from .._exceptions import DumpError, SeedingError
from ..command._server_subprocess import PROJECT_ROOT
from ..dumps._files import dump_path, read_meta
from ..dumps._index import index_path
from ..engine._builder import BuildStats
from ..engine._fit import fit_dump
from ..engine._journal import journal_path, refuse_other_splits
from ..engine._merge import merge_shards
from ..engine._plan_lock import PlanLock
from ..engine._preview import entities_by_kind
from ..engine._shards import Shard, default_seed, shard_of_meta
from ..files import open_regular
from ..gateway import CallLog, transport_spec
from ..plan._models import SeedsPlan
from ._arguments import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PROG
from ._progress import Progress
from ._report import CommandReport, plan_entry
from ._seed_command import GatewayChoice, OutputOptions, RunOptions
from ._summary import Style, TableFacts, facts_table_lines, wants_table

__all__ = ["seed_in_processes"]

_STOP_WAIT = 8.0  # seconds the children get to stop after the SIGINT we pass them


class _ShardProcess:
    """One ``python -m seeding PLAN --shard I/N`` child: its counters, its last words, its exit status."""

    def __init__(self, shard: Shard, command: list[str], lock: PlanLock) -> None:
        self.shard = shard
        self.command = command
        self.lock = lock  # the parent's hold on the plan, handed down: the child needs none of its own
        self.progress: dict[str, int] = {}
        self.call_log: dict[str, Any] | None = None  # its calls by RPC, said once it has written its dump
        self.errors: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.lock.child_env()}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        self._proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,  # a terminal's Ctrl-C reaches the parent, which passes it on once
            pass_fds=(self.lock.fd,),
            preexec_fn=_stop_with_parent,
        )
        self._readers = [asyncio.create_task(self._read_stdout()), asyncio.create_task(self._read_stderr())]

    async def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for line in self._proc.stdout:
            if line.startswith(b'{"progress":'):
                with contextlib.suppress(orjson.JSONDecodeError, TypeError):
                    self.progress = orjson.loads(line)["progress"]
            elif line.startswith(b'{"call_log":'):
                with contextlib.suppress(orjson.JSONDecodeError, TypeError):
                    self.call_log = orjson.loads(line)["call_log"]

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        async for line in self._proc.stderr:
            text = line.decode(errors="replace").rstrip()
            if text:
                self.errors.append(text.removeprefix(f"{PROG}: "))

    async def wait(self) -> int:
        assert self._proc is not None
        code = await self._proc.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)
        return code

    @property
    def started(self) -> bool:
        return self._proc is not None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc is not None else None

    def interrupt(self) -> None:
        """One SIGINT, as a Ctrl-C: the child stops cleanly and keeps its journal."""
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGINT)

    def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()


class _Combined:
    """What ``Progress`` reads, summed over the children: one line for the whole run."""

    def __init__(self, plan: SeedsPlan, children: list[_ShardProcess], finished_users: int) -> None:
        self.plan = plan
        self.scenario = plan.name
        self.resumed_users = 0  # counted in ``stats.done`` instead: the children report it as they start
        self.children = children
        self.finished = finished_users * plan.users.entities_per_user  # shards done before this run
        self.started = time.monotonic()
        self.builder = self

    def total(self, key: str) -> int:
        return sum(int(child.progress.get(key, 0)) for child in self.children)

    @property
    def stats(self) -> BuildStats:
        return BuildStats(
            done=self.finished + self.total("done"),
            calls=self.total("calls"),
            retries=self.total("retries"),
            pushbacks=self.total("pushbacks"),
            started=self.started,
        )

    @property
    def in_flight(self) -> int:
        """The children's calls in flight, as they last said."""
        return self.total("in_flight")

    def call_log(self) -> CallLog:
        """The children's calls by RPC, added up (a child whose account is missing or garbled adds none)."""
        log = CallLog()
        for child in self.children:
            if child.call_log is not None:
                with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                    log.merge(child.call_log)
        return log

    @property
    def round_trips(self) -> tuple[float | None, float | None]:
        return None, None  # each child has its own: the line shows the calls in flight only


async def seed_in_processes(
    plan: SeedsPlan, gateway: GatewayChoice, run: RunOptions, output: OutputOptions, report: CommandReport
) -> int:
    """Seed ``plan`` as ``run.processes`` shards in as many processes, merge them; the exit code.

    The plan's lock is held from the first look at its dump to the merge: no other run of the plan
    may start in between (the children share this hold).
    """
    report.target = gateway.address
    try:
        lock = PlanLock.take(dump_path(plan.name, run.dumps_dir))
    except SeedingError as exc:
        return report.fail(exc, EXIT_USAGE)
    try:
        return await _seed_locked(plan, gateway, run, output, report, lock)
    finally:
        lock.release()


async def _seed_locked(
    plan: SeedsPlan,
    gateway: GatewayChoice,
    run: RunOptions,
    output: OutputOptions,
    report: CommandReport,
    lock: PlanLock,
) -> int:
    assert run.processes is not None
    count = run.processes
    whole = dump_path(plan.name, run.dumps_dir)
    try:  # journals of another split first: a run split otherwise would orphan their users
        refuse_other_splits(whole, count, restart=run.restart, finish=f"{PROG} {plan.name}{{split}} --resume")
    except SeedingError as exc:
        return report.fail(exc, EXIT_USAGE)
    try:  # the children decide alike from the same dump; deciding here first refuses before any starts
        fit = fit_dump(
            whole, plan, seed=run.seed, transport=gateway.transport, target=gateway.address, reseed=run.reseed
        )
    except SeedingError as exc:
        return report.fail(exc, EXIT_USAGE)
    seed = run.seed if run.seed is not None else fit.seed if fit.seed is not None else default_seed(plan.hash)
    base = fit.base

    def entry(status: str, stats: BuildStats | None = None, **outcome: Any) -> dict[str, Any]:
        return plan_entry(plan, status, seed=seed, counts=plan.totals(), stats=stats, processes=count, **outcome)

    if fit.action == "reuse":
        report.plans.append(entry("reused", dump=whole))
        print(
            f"{plan.name}: reused {fit.users}, seeded 0: the dump holds {fit.users} users of this plan's shape, "
            f"the plan wants {plan.users.count}; no call → {whole}"
        )
        return EXIT_OK
    try:
        todo, finished_users = _shards_to_run(run, plan, seed, whole, base)
    except SeedingError as exc:
        report.plans.append(entry("failed", error=str(exc)))
        return report.fail(exc, EXIT_USAGE)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="seeding-processes-") as scratch:
        plan_file = Path(scratch) / "plan.json"  # --users applied, the scenario inside: the shards' hash is ours
        plan_file.write_text(plan.model_copy(update={"scenario": plan.name}).model_dump_json(), encoding="utf-8")
        children = [_ShardProcess(shard, _command(gateway, run, plan_file, shard, seed), lock) for shard in todo]
        combined = _Combined(plan, children, finished_users)
        interrupted = False
        progress = Progress(
            combined,
            enabled=output.progress,
            plain_interval=output.progress_interval,
            users=plan.users.count - base,
        )
        async with progress:
            try:
                for child in children:
                    await child.start()
                codes = await asyncio.gather(*(child.wait() for child in children))
            except asyncio.CancelledError:
                interrupted = True
                codes = await _stop(children)
    stats = combined.stats
    elapsed = time.monotonic() - started
    for child in children:
        for line in child.errors:
            print(f"{PROG}: shard {child.shard}: {line}", file=sys.stderr)
    failed = [child for child, code in zip(children, codes, strict=True) if code != 0]
    if interrupted or failed:
        what = "interrupted" if interrupted else f"{len(failed)} of {count} shards failed"
        message = (
            f"{plan.name}: {what}; every shard's journal keeps what it did; no dump written; "
            f"finish with: {output.resume_command()}"
        )
        status = "interrupted" if interrupted else "failed"
        report.plans.append(entry(status, stats, duration_s=elapsed, error=message))
        usage = not interrupted and all(code == EXIT_USAGE for code in codes if code != 0)
        return report.fail(message, EXIT_USAGE if usage else EXIT_FAILED)
    try:
        merged = await asyncio.to_thread(
            merge_shards, plan.name, run.dumps_dir, count=count, expect={"plan_hash": plan.hash, "seed": seed}
        )
    except (SeedingError, OSError) as exc:
        detail = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else str(exc)
        message = f"{plan.name}: every shard finished but the merge failed: {detail}; the shards stay: `{PROG} merge`"
        report.plans.append(entry("failed", stats, duration_s=elapsed, error=message))
        return report.fail(message, EXIT_FAILED)
    for item in merged.shards:  # merged: the whole dump is what readers open
        item.path.unlink(missing_ok=True)
        index_path(item.path).unlink(missing_ok=True)
    log = combined.call_log()
    report.plans.append(entry("seeded", stats, duration_s=elapsed, dump=merged.path, rpcs=log.as_json()))
    resumed = finished_users + combined.total("already") // max(plan.users.entities_per_user, 1)
    stats.finished = stats.started + elapsed
    if wants_table(output.summary, sys.stdout):
        kinds, opened = entities_by_kind(
            plan, plan.users.count - base, seed=seed, indices=range(base, plan.users.count)
        )
        facts = TableFacts(
            scenario=plan.name,
            where=f"{gateway.transport} at {gateway.address}",
            seeded=plan.users.count - base,
            kinds=kinds,
            opened=opened,
            with_cards=frozenset(name for name, kind, _ in plan.users.accounts() if kind.has_cards),
            log=log,
            stats=stats,
            reused=base,
            resumed=resumed,
            processes=count,
        )
        print("\n".join(facts_table_lines(facts, merged.path, Style.for_stream(sys.stdout))))
    else:
        counts = ", ".join(f"{n} {name}" for name, n in plan.totals(plan.users.count - base).items())
        rate = stats.calls / elapsed if elapsed > 0 else 0.0
        grown = f"reused {base}, seeded {plan.users.count - base}, " if base else ""
        print(
            f"{plan.name}: {counts} in {elapsed:.2f} s over {gateway.transport} at {gateway.address} "
            f"({grown}{count} processes, {stats.calls} calls, {rate:.0f} calls/s, {stats.retries} retries"
            f"{f', {resumed} users from journals' if resumed else ''}) → {merged.path}"
        )
    if merged.kept is not None:
        print(f"{plan.name}: the dump it replaced is kept as {merged.kept}: {fit.reason}")
    return EXIT_OK


def _shards_to_run(run: RunOptions, plan: SeedsPlan, seed: int, whole: Path, base: int) -> tuple[list[Shard], int]:
    """The shards to start, and how many users the finished ones (kept by ``--resume``) hold.

    Refuses, before anything is sent, what a child would refuse only after its siblings began: an
    unfinished shard without ``--resume``/``--restart``, or one of another plan or seed.
    """
    todo: list[Shard] = []
    finished = 0
    assert run.processes is not None
    for index in range(1, run.processes + 1):
        shard = Shard(index, run.processes)
        path = shard.dump_path(whole)
        journal = journal_path(path)
        if journal.exists():
            if not (run.resume or run.restart):
                raise SeedingError(
                    f"{journal}: an unfinished run of shard {shard} is here; "
                    "pass --resume to finish it, or --restart to discard it"
                )
            if run.resume:
                _check_journal(journal, plan, seed, shard)
        elif run.resume and _finished(path, plan, seed, shard, base):
            finished += len(shard.indices(plan.users.count, base))
            continue
        todo.append(shard)
    return todo, finished


def _check_journal(journal: Path, plan: SeedsPlan, seed: int, shard: Shard) -> None:
    try:
        with open(open_regular(journal, what="a journal"), "rb") as file:
            header = orjson.loads(file.readline())
    except (OSError, SeedingError, orjson.JSONDecodeError):
        return  # the child reports what is wrong with it, naming it
    if not isinstance(header, dict):
        return
    if header.get("plan_hash") != plan.hash:
        raise SeedingError(
            f"{journal}: shard {shard} was started from another plan (hash {header.get('plan_hash')}, now "
            f"{plan.hash}); pass --restart to discard it"
        )
    if header.get("seed") != seed:
        raise SeedingError(
            f"{journal}: shard {shard} was started with seed {header.get('seed')}, not {seed}; "
            f"pass --seed {header.get('seed')} to finish it, or --restart"
        )


def _finished(path: Path, plan: SeedsPlan, seed: int, shard: Shard, base: int) -> bool:
    """A shard dump of this plan, seed and split, from an earlier run of the same command."""
    try:
        meta = read_meta(path)
    except (DumpError, OSError):
        return False
    if not meta or shard_of_meta(meta) != shard or meta.get("shard") != shard.meta(plan.users.count, base):
        return False
    return meta.get("plan_hash") == plan.hash and meta.get("seed") == seed


def _command(gateway: GatewayChoice, run: RunOptions, plan_file: Path, shard: Shard, seed: int) -> list[str]:
    assert run.processes is not None
    journal = ["--resume"] if run.resume else ["--restart"] if run.restart else []
    return [
        sys.executable,
        "-m",
        "seeding",
        str(plan_file),
        f"--shard={shard}",
        f"--seed={seed}",
        f"--transport={gateway.transport}",
        f"{transport_spec(gateway.transport).flag}={gateway.address}",
        f"--timeout={gateway.timeout}",
        f"--concurrency={run.concurrency or 'auto'}",
        f"--latency-budget={run.latency_budget or 'off'}",
        *([f"--rate={run.rate / run.processes!r}"] if run.rate else []),  # the quota is the run's, shared
        f"--retries={run.retries}",
        f"--dumps-dir={Path(run.dumps_dir).absolute()}",
        "--progress-jsonl",
        "--progress-interval=0.5",
        *(["--parallel-operations"] if run.parallel_operations else []),
        *(["--reseed"] if run.reseed else []),
        *journal,
    ]


async def _stop(children: list[_ShardProcess]) -> list[int]:
    """Pass a SIGINT to each child, wait for them to stop (SIGKILL after a while); their exit statuses."""
    started = [child for child in children if child.started]
    for child in started:
        child.interrupt()
    if started:
        waits = [asyncio.ensure_future(child.wait()) for child in started]
        _, pending = await asyncio.wait(waits, timeout=_STOP_WAIT)
        for child in started:
            child.kill()
        if pending:
            await asyncio.wait(pending, timeout=2.0)
    return [child.returncode if child.returncode is not None else EXIT_FAILED for child in children]


def _load_prctl() -> Any:
    with contextlib.suppress(Exception):
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl  # Linux; elsewhere there is none
    return None


_PRCTL = _load_prctl()  # looked up now: between fork and exec nothing may import or lock


def _stop_with_parent() -> None:
    """In the child before exec (Linux): a SIGINT when the parent dies, however (a second Ctrl-C, SIGKILL).

    The children run in their own sessions, so nothing else would stop them; SIGINT lets each keep
    its journal. Only a C call happens here, which is safe whatever other threads the parent runs.
    """
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGINT)  # PR_SET_PDEATHSIG
