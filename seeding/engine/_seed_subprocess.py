"""Seed a plan by running ``python -m seeding`` in a child process, and say in one line how it ended.

Why a child process: the engine is asyncio (grpc.aio, aiohttp), and callers such as Locust's
``events.init`` run in a gevent-patched process where that loop has no place. The child reads the
caller's ``.env`` (it runs in the same working directory) and writes the dump atomically, so the
caller only needs the dump's path and, on failure, the seeder's one-line error.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..gateway import transport_spec
from ..plan._models import SeedsPlan

__all__ = ["SeederOutcome", "seed_in_subprocess"]

# A caller's process may run as one shard of something (an Indexed Job's pod, a CI matrix job): the
# plan it seeds here is whole (``extra_args`` may still say ``--processes N``), never one shard of it.
_SHARD_VARIABLES = {"SEEDING_SHARD", "SEEDING.SHARD", "SEEDING_SHARDS", "SEEDING.SHARDS", "JOB_COMPLETION_INDEX"}


@dataclass(frozen=True)
class SeederOutcome:
    """How the child ended: ``ok``, its summary line, or its last error line."""

    returncode: int
    summary: str
    error: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def seed_in_subprocess(
    plan: SeedsPlan | Path,
    scenario: str,
    *,
    dumps_dir: Path,
    transport: str | None = None,
    target: str | None = None,
    seed: int | None = None,
    journal: str = "--resume",
    timeout: float | None = None,
    extra_args: Sequence[str] = (),
) -> SeederOutcome:
    """Seed ``plan`` into ``dumps_dir/<scenario>_seeds.json``; ``journal`` is ``--resume`` or ``--restart``.

    Transport and target default, as in the CLI, to the settings (``.env``, then localhost).
    ``subprocess.TimeoutExpired`` propagates when ``timeout`` runs out (the child is killed).
    """
    with tempfile.TemporaryDirectory(prefix="seeding-plan-") as scratch:
        if isinstance(plan, SeedsPlan):  # the CLI reads files; the scenario goes inside, never into a path
            plan_file = Path(scratch) / "plan.json"
            named = plan.model_copy(update={"scenario": scenario})  # the hash leaves the scenario out
            plan_file.write_text(named.model_dump_json(exclude_defaults=True), encoding="utf-8")
        else:
            plan_file = plan
        command = [
            sys.executable,
            "-m",
            "seeding",
            str(plan_file),
            f"--dumps-dir={dumps_dir}",
            "--no-progress",
            journal,
            *([f"--transport={transport}"] if transport else []),
            *([f"{transport_spec(transport).flag}={target}"] if target and transport else []),
            *([f"--seed={seed}"] if seed is not None else []),
            *extra_args,
        ]
        env = {name: value for name, value in os.environ.items() if name.upper() not in _SHARD_VARIABLES}
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    return SeederOutcome(done.returncode, done.stdout.strip(), errors[-1] if errors else "no error output")
