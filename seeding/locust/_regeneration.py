"""Re-seed before a run only when the dump cannot be trusted; seed in a subprocess, on one node.

``regeneration_reason`` is the pure decision (missing, unreadable, no ``meta``, another shape or
seed, another target, too old → a reason to seed anew; fewer users than the run wants → a reason to
grow it; otherwise None: used as it is, even when it holds more users than the run wants).
``regenerate_dump`` is the one call for an ``events.init`` hook: on the master or a local runner
it seeds when there is a reason, by running ``python -m seeding`` as a subprocess, because the
builder's asyncio loop has no place inside Locust's gevent-patched process; on workers it does
nothing, so N processes never seed N times. Workers read nothing at init: ``SeedsFeeder`` hands
them the dump at test start, after the master has finished here.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from .._exceptions import DumpError, PlanError, SeedingError
from ..dumps._files import dump_path, read_meta
from ..engine._options import MAX_RATE, MIN_RATE
from ..engine._seed_subprocess import seed_in_subprocess
from ..gateway import Transport, transport_spec
from ..plan._models import SeedsPlan, load_plan

__all__ = ["regenerate_dump", "regeneration_reason"]

logger = logging.getLogger("seeding.locust")


def regeneration_reason(
    dump: str | Path,
    plan: SeedsPlan,
    target: str,
    max_age: timedelta | float | None = None,
    *,
    now: datetime | None = None,
    seed: int | None = None,
) -> str | None:
    """Why ``dump`` must be seeded (anew, or grown) for ``plan`` on ``target``; None when it is used as it is.

    ``max_age`` is a ``timedelta`` or seconds; ``seed`` an explicit seed (another one is another shape);
    ``now`` is for tests. A dump of the plan's shape with fewer users is grown, with as many or more reused.
    """
    return _decide(Path(dump), plan, target, max_age, now=now, seed=seed)[0]


def _decide(
    path: Path,
    plan: SeedsPlan,
    target: str,
    max_age: timedelta | float | None,
    *,
    now: datetime | None = None,
    seed: int | None = None,
) -> tuple[str | None, bool]:
    """(the reason to seed, whether to pass ``--reseed``: the dump must be replaced though its shape fits)."""
    if not path.exists():
        return f"{path} does not exist", False
    try:
        meta = read_meta(path)
    except DumpError as exc:
        return f"it cannot be read: {exc}", True
    if meta is None:
        return f"{path} has no meta block (the course's builder made it), so its plan and target are unknown", False
    shape = meta.get("shape_hash")
    if shape is None:  # made before dumps recorded their shape: the whole plan decides, as it did then
        if meta.get("plan_hash") != plan.hash:
            return (
                f"{path} was made from another plan (hash {meta.get('plan_hash')}, the plan is now {plan.hash})",
                False,
            )
    elif shape != plan.shape_hash:
        return f"{path} was made for another shape (shape {shape}, the plan's is now {plan.shape_hash})", False
    elif seed is not None and meta.get("seed") != seed:
        return f"{path} was made with seed {meta.get('seed')}, this run asks {seed}", False
    if _normal(meta.get("target")) != _normal(target):
        return f"{path} was made on {meta.get('target')!r}, this run targets {target!r}", True
    if max_age is not None:
        limit = max_age if isinstance(max_age, timedelta) else timedelta(seconds=max_age)
        try:
            created = datetime.fromisoformat(meta["created_at"])
        except (KeyError, TypeError, ValueError):
            return f"{path} has no valid created_at in its meta", True
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        age = (now or datetime.now(UTC)) - created
        if age > limit:
            return f"{path} is {_human(age)} old (made {meta['created_at']}), older than {_human(limit)}", True
    counts = meta.get("counts")
    users = counts.get("users") if isinstance(counts, dict) else None
    if shape is not None and isinstance(users, int) and users < plan.users.count:
        return f"{path} holds {users} users of the plan's shape, the run wants {plan.users.count}: growing it", False
    return None, False


def _normal(target: Any) -> str:
    return str(target).rstrip("/").lower()


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds} s"


def regenerate_dump(
    environment: Any,
    plan: str | Path | SeedsPlan,
    *,
    transport: Transport | None = None,
    target: str | None = None,
    dumps_dir: str | Path | None = None,
    max_age: timedelta | float | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    extra_args: Sequence[str] = (),
    users: int | None = None,
    processes: int | None = None,
    rate: float | None = None,
) -> Path:
    """Call from an ``events.init`` listener: make sure ``plan``'s dump is fresh; returns its path.

    Transport, target and dumps directory default as in ``python -m seeding`` (settings, then
    localhost), except that an HTTP target defaults to Locust's ``--host`` when it is an http(s)
    URL. ``users`` seeds that many users instead of the plan's count (a run's ``--users``);
    ``processes`` splits a large plan over that many local processes (``python -m seeding --processes``,
    one shard each, merged into the one dump); ``rate`` caps the calls per second (``--rate``). When
    seeding fails, logs the seeder's one-line error and exits the Locust process with status 1
    (workers follow their master).
    """
    from .._settings import load_settings

    try:
        plan_file, plan = (None, plan) if isinstance(plan, SeedsPlan) else (Path(plan), load_plan(plan))
        settings = load_settings()
        if users is not None:
            plan = plan.with_users(users)
            extra_args = [*extra_args, f"--users={users}"]
        if processes is not None:
            if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
                raise SeedingError(f"regenerate_dump: processes must be a whole number 1 or more, not {processes!r}")
            extra_args = [*extra_args, f"--processes={processes}"]
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not MIN_RATE <= rate <= MAX_RATE:
                raise SeedingError(
                    f"regenerate_dump: rate must be a number of calls per second, at least {MIN_RATE:g} "
                    f"and at most {MAX_RATE:g}, not {rate!r}"
                )
            extra_args = [*extra_args, f"--rate={rate:g}"]
    except (PlanError, SeedingError) as exc:
        _fail(f"{exc}")
    transport = transport or settings.seeding.transport
    host = getattr(environment, "host", None)
    target = target or (host and transport_spec(transport).locust_host(host)) or settings.target(transport)
    dumps_dir = Path(dumps_dir if dumps_dir is not None else settings.seeding.dumps_dir)
    path = dump_path(plan.name, dumps_dir)
    from locust.runners import WorkerRunner  # here: bad arguments are told without importing Locust (gevent)

    if isinstance(getattr(environment, "runner", None), WorkerRunner):
        return path  # the master decides and seeds; the dump reaches workers at test start
    reason, reseed = _decide(path, plan, target, max_age, seed=seed)
    if reason is None:
        logger.info("reusing %s (shape %s, made on %s)", path, plan.shape_hash, target)
        return path
    if reseed:
        extra_args = [*extra_args, "--reseed"]
    logger.info("seeding %s over %s at %s: %s", path, transport, target, reason)
    scenario = plan.name
    try:
        done = seed_in_subprocess(
            plan_file or plan,
            scenario,
            dumps_dir=dumps_dir,
            transport=transport,
            target=target,
            seed=seed,
            journal="--restart",  # a journal left by an interrupted run is not worth resuming into a fresh run
            timeout=timeout,
            extra_args=extra_args,
        )
    except subprocess.TimeoutExpired:
        _fail(f"seeding {path} took longer than {timeout} s; it was stopped")
    if not done.ok:
        _fail(f"seeding {path} failed (exit {done.returncode}): {done.error}")
    logger.info("%s", done.summary or f"seeded {path}")
    return path


def _fail(message: str) -> NoReturn:
    logger.error("%s", message)
    raise SystemExit(1)
