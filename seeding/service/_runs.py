"""Runs the service seeds: each a ``PlanRun`` (journal → builder → dump) in this event loop, recorded on disk.

Every run has a record, ``<dumps-dir>/runs/<id>.json``, replaced atomically (write, rename) on
every change of state (``fsync``-ed then) and about once a second while it runs. A service that
starts finds records left ``queued`` or ``running`` by one that died (``kill -9``, a crash, a
reboot) and marks them ``interrupted`` under the same id; ``resume`` finishes them from the
journal, which holds every completed user, so the dump ends exact and without duplicates.

Counts: ``planned`` and ``done`` are entities (users, accounts, cards, operations); while a run
goes, ``done`` counts what the builder created, and once it stops, what is safe in the journal.
``missing`` is the number of plan users not in the journal yet. ``calls`` and ``retries`` add up
over every attempt of the run. A run that succeeded names its ``dump``; ``wall_s`` is how long its
last attempt took, ``calls_per_s`` that attempt's calls over that time (so far, while it runs): a
resumed run's rate is its own, not every attempt's calls over the last one's wall.

The log says one line when a run starts, and one when it ends: succeeded (with its counts, wall
and dump), failed (with why), cancelled or interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .._exceptions import DumpError, GatewayUnreachableError, PlanError, SeedingError
from .._settings import Settings
from ..dumps._files import open_dump, read_meta
from ..engine._builder import BuildOptions
from ..engine._options import MAX_RATE, MIN_RATE
from ..engine._preview import entities_by_kind
from ..engine._run import PlanRun
from ..engine._stale import Check, check_sample, repair_plan
from ..files import read_regular
from ..gateway import TRANSPORTS, Transport, connect, transport_spec
from ..plan._models import SCENARIO_NAME, SeedsPlan, load_plan, parse_plan
from ._dumps import check_scenario, inside
from ._errors import ApiError
from ._metrics import CountingCallLog, Metrics

__all__ = ["LIVE", "STATES", "RunRecord", "RunRequest", "Runs"]

log = logging.getLogger("seeding.service")

STATES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
LIVE = frozenset({"queued", "running"})
RESUMABLE = frozenset({"failed", "cancelled", "interrupted"})
PUBLIC_FIELDS = (
    "id",
    "scenario",
    "state",
    "planned",
    "done",
    "calls",
    "retries",
    "missing",
    "error",
    "started_at",
    "finished_at",
    "transport",
    "target",
    "dump",
    "wall_s",
    "calls_per_s",
    "kind",
    "repair",
)
MAX_CONCURRENCY = 1000
PLAN_SUFFIXES = (".yaml", ".yml", ".json")
_ID = re.compile(r"[0-9a-f]{16}")
_MAX_RECORD = 16 << 20  # a record holds a plan of at most MAX_BODY; anything much larger is not one
_SAVE_INTERVAL = 1.0  # seconds between progress saves of a running run
_CLOSE_WITHIN = 2.0  # seconds a client's close may take (a channel that never connected can hang it)


class RepairRequest(BaseModel):
    """The body of ``POST /v1/dumps/{scenario}/repair`` (or its query): how many users to check, 0 for all."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sample: int = Field(default=0, ge=0)


class RunRequest(BaseModel):
    """The body of ``POST /v1/runs``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    plan: dict[str, Any] | str
    scenario: str | None = None
    transport: Transport | None = None
    target: str | None = Field(default=None, max_length=2000)
    seed: int | None = Field(default=None, gt=-(2**63), lt=2**63)
    concurrency: int | None = Field(default=None, ge=1, le=MAX_CONCURRENCY)
    rate: float | None = Field(default=None, ge=MIN_RATE, le=MAX_RATE, allow_inf_nan=False)  # calls per second at most
    users: int | None = Field(default=None, ge=0)  # the plan's count instead: a dump of its shape grows to it


@dataclass
class RunRecord:
    id: str
    scenario: str
    transport: str  # loaded as text, then checked (``_record_of``): see ``gateway_transport``
    target: str
    plan: dict[str, Any]
    seed: int
    concurrency: int | None  # None: adaptive
    planned: int
    missing: int
    state: str = "queued"
    done: int = 0
    calls: int = 0
    retries: int = 0
    error: str | None = None
    started_at: str = field(default_factory=lambda: _now())
    finished_at: str | None = None
    dump: str | None = None  # where a run that succeeded wrote its users
    wall_s: float | None = None  # how long the run's last attempt took, from start to end
    calls_per_s: float | None = None  # the last attempt's calls over its time (so far, while it runs)
    rate: float | None = None  # calls per second at most (the request's, else SEEDING.RATE); None: no cap
    kind: str = "seed"  # "repair": POST /v1/dumps/{scenario}/repair
    sample: int | None = None  # a repair's: users checked (0: all)
    repair: list[int] | None = None  # a repair's stale plan indices, once checked (a resume re-seeds only them)

    def public(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PUBLIC_FIELDS}

    @property
    def gateway_transport(self) -> Transport:
        """``transport``, one of ``TRANSPORTS``: a new record's comes typed, a loaded one's is checked on load."""
        return cast(Transport, self.transport)


_RECORD = TypeAdapter(RunRecord)


def _record_of(data: bytes) -> RunRecord:
    """A run record from its file's bytes; ``SeedingError`` with one line saying what is wrong."""
    try:
        record = _RECORD.validate_json(data, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(record)"
        raise SeedingError(f"{where}: {first['msg']}") from None
    if record.state not in STATES:
        raise SeedingError(f"state: {record.state[:40]!r} is not one of {', '.join(STATES)}")
    if record.transport not in TRANSPORTS:
        raise SeedingError(f"transport: {record.transport[:40]!r} is not one of {', '.join(TRANSPORTS)}")
    return record


@dataclass
class _Live:
    """A run this service is executing now (a repair's ``run`` is None while it checks the dump)."""

    run: PlanRun | None
    refresh: Callable[[], None]
    task: asyncio.Task[None] | None = None
    cancelling: bool = False


class Runs:
    """Starts, cancels and resumes runs; keeps their records."""

    def __init__(self, dumps_dir: Path, plans_dir: Path, settings: Settings) -> None:
        self.dumps_dir = dumps_dir
        self.plans_dir = plans_dir
        self.directory = dumps_dir / "runs"
        self.settings = settings
        self.metrics: Metrics | None = None
        self._records: dict[str, RunRecord] = {}
        self._live: dict[str, _Live] = {}
        self._finished: dict[str, asyncio.Event] = {}

    # --- records ---------------------------------------------------------------------------

    def load(self) -> None:
        """Read the records on disk; those a dead service left live become ``interrupted``.

        A record that cannot be read (hand-edited, wrong types, another file) is skipped with one
        warning line: the service starts all the same.
        """
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise SeedingError(f"{self.directory}: is not a directory (run records are kept there)") from None
        except OSError as exc:
            raise SeedingError(f"{self.directory}: cannot make it: {exc.strerror or exc}") from None
        for path in sorted(self.directory.glob("*.json")):
            try:
                record = _record_of(read_regular(path, what="a run record", max_bytes=_MAX_RECORD))
            except (OSError, SeedingError) as exc:
                log.warning("%s: not a run record, skipped: %s", path, " ".join(str(exc).split())[:300])
                continue
            if record.id != path.stem or not _ID.fullmatch(record.id):
                log.warning("%s: its id does not match its name, skipped", path)
                continue
            if record.state in LIVE:
                record.state = "interrupted"
                record.error = "the service stopped while this run was live; resume it"
                self._save(record, durable=True)
            self._records[record.id] = record

    def _save(self, record: RunRecord, *, durable: bool = False) -> None:
        path = self.directory / f"{record.id}.json"
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, orjson.dumps(asdict(record)))
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:  # the run goes on: its journal, not this record, keeps the users
            log.warning("%s: cannot save the run record: %s", path, exc.strerror)
            with contextlib.suppress(OSError):
                tmp.unlink()

    def get(self, run_id: str) -> RunRecord:
        record = self._records.get(run_id) if _ID.fullmatch(run_id) else None
        if record is None:
            raise ApiError(404, f"no run {run_id[:40]!r}")
        return record

    def all(self) -> list[RunRecord]:
        return sorted(self._records.values(), key=lambda r: (r.started_at, r.id))

    def by_state(self) -> dict[str, int]:
        counts = Counter(record.state for record in self._records.values())
        return {state: counts.get(state, 0) for state in STATES}

    async def wait_finished(self, run_id: str, timeout: float) -> bool:
        """Whether run ``run_id`` is over, waiting up to ``timeout`` seconds for it."""
        event = self._finished.get(run_id)
        if event is None:
            return self._records[run_id].state not in LIVE
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
        return event.is_set()

    # --- starting, cancelling, resuming ----------------------------------------------------

    async def start(self, body: object) -> RunRecord:
        request = _validated(RunRequest, body, "a JSON object with 'plan'")
        plan = self._plan(request)
        transport: Transport = request.transport or self.settings.seeding.transport
        target = request.target or self.settings.target(transport)
        if target.strip() == "embedded":  # the command's --stand embedded: a run of the service seeds a gateway
            raise ApiError(422, "body.target: 'embedded' is not a gateway here; give host:port (gRPC) or a URL (HTTP)")
        try:
            target = transport_spec(transport).check(target)
        except ValueError as exc:
            raise ApiError(422, f"body.target: {exc}") from None
        record = RunRecord(
            id=secrets.token_hex(8),
            scenario=plan.name,
            transport=transport,
            target=target,
            plan=plan.model_dump(mode="json"),
            seed=request.seed if request.seed is not None else 0,  # chosen by the run: a grown dump's own
            concurrency=request.concurrency or self.settings.seeding.concurrency,
            rate=request.rate or self.settings.seeding.rate,
            planned=sum(plan.totals().values()),
            missing=plan.users.count,
        )
        await self._launch(record, plan, resume=False, seed=request.seed)
        return record

    async def resume(self, run_id: str) -> RunRecord:
        record = self.get(run_id)
        if record.state not in RESUMABLE:
            raise ApiError(409, f"run {run_id} is {record.state}; only failed, cancelled or interrupted runs resume")
        try:
            plan = SeedsPlan.model_validate(record.plan)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(plan)"
            raise ApiError(
                409, f"run {run_id}: its record holds a plan that is no longer valid: {where}: {first['msg']}"
            ) from None
        if record.kind == "repair" and record.repair is None:  # stopped while checking: check again
            await self._launch_repair(record, plan)
        else:
            await self._launch(record, plan, resume=True)
        return record

    async def repair(self, scenario: str, body: object) -> RunRecord:
        """A run that checks the dump on its gateway and re-seeds its stale users at their own indices."""
        request = _validated(RepairRequest, body, "a JSON object (or nothing)")
        path = self.dumps_dir / f"{check_scenario(scenario)}_seeds.json"
        if not os.path.lexists(path):
            raise ApiError(404, f"no dump for scenario {scenario!r} in {self.dumps_dir}")
        if not inside(self.dumps_dir, path):  # as every other route: a link out of the directory is not read
            raise ApiError(403, f"{path}: leads outside {self.dumps_dir}; not served")
        try:
            meta = read_meta(path) or {}
            users = len(open_dump(path).users)
            plan = repair_plan(path, meta, users)
        except (DumpError, SeedingError) as exc:
            raise ApiError(409, " ".join(str(exc).split())) from None
        transport, target = meta.get("transport"), meta.get("target")
        if transport not in TRANSPORTS or not isinstance(target, str) or target == "embedded":
            raise ApiError(
                409, f"{path}: its meta records no gateway to check it on (made on {target!r}); seed it anew"
            )
        record = RunRecord(
            id=secrets.token_hex(8),
            scenario=plan.name,
            transport=transport,
            target=target,
            plan=plan.model_dump(mode="json"),
            seed=int(meta.get("seed") or 0),
            concurrency=self.settings.seeding.concurrency,
            rate=self.settings.seeding.rate,
            planned=0,
            missing=0,
            kind="repair",
            sample=request.sample,
        )
        await self._launch_repair(record, plan)
        return record

    async def _launch_repair(self, record: RunRecord, plan: SeedsPlan) -> None:
        """Check the dump in a task; its stale users are then re-seeded by ``_launch``'s run (``repair=``)."""
        self._refuse_live(record.scenario)
        record.state, record.error, record.finished_at = "queued", None, None
        record.dump = record.wall_s = record.calls_per_s = None
        self._records[record.id] = record
        self._save(record, durable=True)
        self._finished[record.id] = asyncio.Event()
        live = self._live[record.id] = _Live(None, lambda: None)
        live.task = asyncio.create_task(self._check(record, plan, live))
        log.info(
            "run %s started: repair of %s over %s at %s", record.id, record.scenario, record.transport, record.target
        )

    async def _check(self, record: RunRecord, plan: SeedsPlan, live: _Live) -> None:
        """A repair's first step: which users are stale (the same check as ``verify``); then their re-seeding."""
        path = self.dumps_dir / f"{record.scenario}_seeds.json"
        transport = record.gateway_transport
        timeout = self.settings.timeout(transport)
        started = time.monotonic()
        try:
            record.state = "running"
            self._save(record, durable=True)
            seeds = open_dump(path)
            count = len(seeds.users)
            size = count if not record.sample else min(record.sample, count)
            sample = sorted(random.Random(record.seed).sample(range(count), size))
            check = Check(seeds, sample, record.seed, transport, record.target, timeout, self.settings.seeding.retries)
            report = await check_sample(check)
            record.repair = sorted(report.stale)
        except asyncio.CancelledError:
            record.state = "cancelled" if live.cancelling else "interrupted"
        except GatewayUnreachableError as exc:
            record.state = "failed"
            record.error = (
                f"cannot reach the gateway over {transport} at {record.target}: {exc.detail}; nothing rewritten"
            )
        except (DumpError, SeedingError) as exc:
            record.state, record.error = "failed", " ".join(str(exc).split()) + "; nothing rewritten"
        except Exception as exc:
            log.exception("run %s failed", record.id)
            record.state, record.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        del self._live[record.id]
        if record.repair is not None and record.state == "running" and record.repair:
            try:
                await self._launch(record, plan, resume=False, repair=record.repair, seed=record.seed)
                return
            except ApiError as exc:
                record.state, record.error = "failed", exc.message
        if record.state == "running":  # nothing stale: nothing to rewrite
            record.state, record.dump = "succeeded", str(path)
        record.finished_at = _now()
        record.wall_s = round(time.monotonic() - started, 3)
        self._save(record, durable=True)
        log.info("run %s %s: repair of %s: %s", record.id, record.state, record.scenario, record.error or "0 stale")
        self._finished[record.id].set()

    def cancel(self, run_id: str) -> RunRecord:
        record = self.get(run_id)
        live = self._live.get(run_id)
        if live is None:
            raise ApiError(409, f"run {run_id} is {record.state}, not live; nothing to cancel")
        live.cancelling = True
        assert live.task is not None
        live.task.cancel()
        return record

    def _plan(self, request: RunRequest) -> SeedsPlan:
        scenario = check_scenario(request.scenario, "body.scenario") if request.scenario is not None else None
        try:
            if isinstance(request.plan, str):
                plan = load_plan(self._plan_file(request.plan))
            else:
                data = dict(request.plan)
                if scenario is None and not data.get("scenario"):
                    raise ApiError(422, "body.scenario: required when the plan is an object without 'scenario'")
                try:
                    text = orjson.dumps(data).decode()
                except orjson.JSONEncodeError as exc:  # nested deeper than orjson goes (255)
                    raise ApiError(422, f"body.plan: {exc}; a plan is a few levels deep") from None
                plan = parse_plan(text, source=Path("plan.json"))
        except PlanError as exc:
            raise ApiError(422, str(exc).replace("plan.json: ", "body.plan: ", 1)) from None
        if scenario is not None:
            plan = plan.model_copy(update={"scenario": scenario})
        if request.users is not None:
            try:
                plan = plan.with_users(request.users)
            except PlanError as exc:
                raise ApiError(422, f"body.users: {exc}") from None
        return plan

    def plans(self) -> list[dict[str, Any]]:
        """The plans a run may name: each with its users, or why it cannot be read."""
        try:
            files = sorted(path for path in self.plans_dir.iterdir() if path.suffix in PLAN_SUFFIXES)
        except OSError:
            return []
        listed: list[dict[str, Any]] = []
        seen: set[str] = set()
        for path in files:
            if path.stem in seen or not SCENARIO_NAME.fullmatch(path.stem) or not inside(self.plans_dir, path):
                continue
            seen.add(path.stem)
            try:
                plan = load_plan(path)
            except PlanError as exc:
                listed.append({"name": path.stem, "error": " ".join(str(exc).split())})
                continue
            listed.append({"name": path.stem, "scenario": plan.name, "users": plan.users.count})
        return listed

    def _plan_file(self, name: str) -> Path:
        check_scenario(name, "body.plan")
        for suffix in PLAN_SUFFIXES:
            path = self.plans_dir / f"{name}{suffix}"
            if path.is_file():
                if not inside(self.plans_dir, path):
                    raise ApiError(403, f"plan {name!r} leads outside {self.plans_dir}; not read")
                return path
        raise ApiError(404, f"no plan {name!r} in {self.plans_dir} (looked for {name}.yaml, .yml, .json)")

    def _refuse_live(self, scenario: str) -> None:
        for other in self._live:
            if self._records[other].scenario == scenario:
                raise ApiError(409, f"scenario {scenario!r} has a live run, {other}; wait for it or cancel it")

    async def _launch(
        self,
        record: RunRecord,
        plan: SeedsPlan,
        *,
        resume: bool,
        seed: int | None = None,
        repair: list[int] | None = None,
    ) -> None:
        """Take the run's journal now (a refusal is the request's answer), then run it in a task."""
        scenario = record.scenario
        self._refuse_live(scenario)
        repair = record.repair if repair is None and record.kind == "repair" else repair
        settings = self.settings
        timeout = settings.timeout(record.gateway_transport)
        client = connect(record.gateway_transport, record.target, timeout=timeout)
        assert self.metrics is not None
        client.call_log = CountingCallLog(self.metrics, scenario)
        run = PlanRun(
            plan,
            client,
            dumps_dir=self.dumps_dir,
            options=BuildOptions(
                concurrency=record.concurrency,
                retries=settings.seeding.retries,
                timeout=timeout,
                latency_budget=settings.seeding.latency_budget,
                rate=record.rate,
            ),
            seed=record.seed if resume else seed,  # a new run without a seed takes a grown dump's
            resume=resume,
            target=record.target,
            repair=repair,
        )
        try:
            run.open()
        except SeedingError as exc:  # an unfinished run, or a dump that must not be grown (another gateway)
            await _close(client)
            raise ApiError(409, self._journal_refusal(scenario, exc)) from None
        record.seed = run.seed  # a resumed journal keeps the seed it began with, a grown dump its own
        record.missing = run.missing_count
        record.planned = sum(run.totals().values())  # what this run adds: a grown dump's users are there already
        record.state, record.error, record.finished_at = "queued", None, None
        record.dump = record.wall_s = record.calls_per_s = None
        self._records[record.id] = record
        self._save(record, durable=True)
        self._finished[record.id] = asyncio.Event()
        live = self._live[record.id] = _Live(run, _refresher(record, run))
        live.task = asyncio.create_task(self._execute(record, live, client, timeout))
        log.info(
            "run %s %s: %s, %d users (%d to seed) over %s at %s",
            record.id,
            "resumed" if resume else "started",
            scenario,
            run.count,
            run.missing_count,
            record.transport,
            record.target,
        )

    def _journal_refusal(self, scenario: str, exc: SeedingError) -> str:
        resumable = [r for r in self.all() if r.scenario == scenario and r.state in RESUMABLE]
        if resumable and "unfinished run" in str(exc):
            run_id = resumable[-1].id
            return f"scenario {scenario!r} has an unfinished run, {run_id}; resume it: POST /v1/runs/{run_id}/resume"
        return str(exc)

    async def _execute(self, record: RunRecord, live: _Live, client: Any, timeout: float) -> None:
        run, refresh = live.run, live.refresh
        assert run is not None
        per_user = run.plan.users.entities_per_user
        ticker = asyncio.create_task(self._tick(record, refresh))
        started = time.monotonic()
        try:
            record.state = "running"
            self._save(record, durable=True)
            try:
                await client.preflight(timeout)
            except GatewayUnreachableError as exc:
                raise SeedingError(
                    f"cannot reach the gateway over {record.transport} at {record.target}: {exc.detail}"
                ) from None
            record.dump = str(await run.execute())
            record.state = "succeeded"
        except asyncio.CancelledError:
            record.state = "cancelled" if live.cancelling else "interrupted"
        except SeedingError as exc:
            record.state, record.error = "failed", " ".join(str(exc).split())
        except Exception as exc:
            log.exception("run %s failed", record.id)
            record.state, record.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        finally:
            ticker.cancel()
            run.close()
            refresh()
            if record.state == "succeeded":
                record.done, record.missing = record.planned, 0
            else:
                record.done = (run.count - record.missing) * per_user
            record.finished_at = _now()
            record.wall_s = round(time.monotonic() - started, 3)
            record.calls_per_s = _rate(run.builder.stats.calls if run.builder is not None else 0, record.wall_s)
            self._save(record, durable=True)
            _log_end(record, run)
            del self._live[record.id]
            self._finished[record.id].set()
            await _close(client)

    async def _tick(self, record: RunRecord, refresh: Callable[[], None]) -> None:
        while True:
            await asyncio.sleep(_SAVE_INTERVAL)
            refresh()
            self._save(record)

    def live_count(self) -> int:
        """How many runs this service is executing now."""
        return len(self._live)

    def progress(self, run_id: str) -> dict[str, Any]:
        """The run's record now, with live counters where it is running."""
        record = self.get(run_id)
        live = self._live.get(run_id)
        if live is not None:
            live.refresh()
        return record.public()

    async def close(self) -> None:
        """Stop every live run (they become ``interrupted``, resumable) and wait for their records."""
        tasks = [live.task for live in self._live.values() if live.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    await asyncio.gather(*tasks, return_exceptions=True)


def _log_end(record: RunRecord, run: PlanRun) -> None:
    """One line for a run that ended: what it made and where, or why it stopped."""
    wall = f"{record.wall_s:.2f} s"
    if record.state == "succeeded":
        totals = run.totals()
        _, opened = entities_by_kind(run.plan, run.count, seed=run.seed, indices=run.indices)
        totals["cards"] += opened  # the plan's count leaves out those the card accounts open with
        counts = ", ".join(f"{n:,} {name}" for name, n in totals.items())
        counts += f" ({opened:,} of the cards opened with the accounts)" if opened else ""
        log.info(
            "run %s succeeded: %s, %s in %s (%d calls, %d retries) → %s",
            record.id,
            record.scenario,
            counts,
            wall,
            record.calls,
            record.retries,
            record.dump,
        )
    elif record.state == "failed":
        log.warning("run %s failed after %s: %s: %s", record.id, wall, record.scenario, record.error)
    else:
        log.info(
            "run %s %s after %s: %s, %d of %d users safe in the journal; resume: POST /v1/runs/%s/resume",
            record.id,
            record.state,
            wall,
            record.scenario,
            run.count - record.missing,
            run.count,
            record.id,
        )


def _refresher(record: RunRecord, run: PlanRun) -> Callable[[], None]:
    """Copies a running run's counters into its record (calls and retries add to earlier attempts')."""
    per_user = run.plan.users.entities_per_user
    calls, retries = record.calls, record.retries
    begun = time.monotonic()

    def refresh() -> None:
        builder = run.builder
        if builder is not None:
            record.calls = calls + builder.stats.calls
            record.calls_per_s = _rate(builder.stats.calls, time.monotonic() - begun)
            record.retries = retries + builder.stats.retries
            record.done = run.resumed_users * per_user + builder.stats.done
        record.missing = run.missing_count

    return refresh


def _rate(calls: int, seconds: float) -> float | None:
    """Calls per second of one attempt (None before any time has passed)."""
    return round(calls / seconds, 1) if seconds > 0 else None


async def _close(client: Any) -> None:
    with contextlib.suppress(TimeoutError, Exception):
        async with asyncio.timeout(_CLOSE_WITHIN):
            await client.aclose()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


_Model = TypeVar("_Model", bound=BaseModel)


def _validated(model: type[_Model], body: object, expected: str) -> _Model:
    """``body`` as ``model``, or a 422 naming the first field that is wrong."""
    if not isinstance(body, dict):
        raise ApiError(422, f"body: expected {expected}")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApiError(422, f"body.{where}: {first['msg']}") from None
