"""The course's builder factories, on our engine: ``build_grpc_seeds_builder().build(plan)``.

The course's builder seeds one call at a time and dies on the first 500. This one has the same
synchronous call, ``build(plan) → SeedsResult``, and runs the real engine in a child process
(``_seeder_process``): concurrent, retried, journaled, with the gateway from the project's
``.env`` (``GATEWAY_GRPC_CLIENT.HOST`` / ``PORT``, ``GATEWAY_HTTP_CLIENT.URL``). A build that fails
leaves its journal, and building the same plan again finishes it instead of starting over.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from .._exceptions import PlanError, SeedingError
from ..dumps._files import dump_path, open_dump
from ..dumps._index import index_path
from ..dumps._result import SeedsResult
from ..engine._seed_subprocess import seed_in_subprocess
from ..plan._models import SeedsPlan

if TYPE_CHECKING:
    from ..gateway import Transport

__all__ = ["SeedsBuilder", "build_grpc_seeds_builder", "build_http_seeds_builder"]

_BUILDS_DIR = ".builds"  # under the dumps dir: what ``build(plan)`` seeds before the caller saves it


class SeedsBuilder:
    """Seeds plans over ``transport``; ``target``, ``dumps_dir`` and ``seed`` default as in the CLI."""

    def __init__(
        self,
        transport: Transport,
        *,
        target: str | None = None,
        dumps_dir: str | Path | None = None,
        seed: int | None = None,
    ) -> None:
        if transport not in ("grpc", "http"):
            raise ValueError(f"transport must be 'grpc' or 'http', not {transport!r}")
        self.transport = transport
        self.target = target
        self.dumps_dir = Path(dumps_dir) if dumps_dir is not None else None
        self.seed_number = seed

    def build(self, plan: SeedsPlan) -> SeedsResult:
        """Seed ``plan`` and return its users, in plan order (the course's call; save them yourself)."""
        _check_plan(plan)
        path = self.seed(plan, f"plan-{plan.hash[:16]}", dumps_dir=self._dumps_dir() / _BUILDS_DIR)
        result = open_dump(path, lazy=False)  # in memory, as the course's result was: the file can go
        path.unlink()
        index_path(path).unlink(missing_ok=True)
        return result

    def seed(self, plan: SeedsPlan, scenario: str, *, dumps_dir: str | Path | None = None) -> Path:
        """Seed ``plan`` straight into ``dumps/<scenario>_seeds.json``; returns its path.

        Raises ``SeedingError`` with the seeder's one-line error when seeding fails (nothing done is
        lost: the journal stays, and seeding the same plan again resumes it).
        """
        _check_plan(plan)
        _check_scenario(scenario)
        directory = Path(dumps_dir) if dumps_dir is not None else self._dumps_dir()
        outcome = seed_in_subprocess(
            plan,
            scenario,
            dumps_dir=directory,
            transport=self.transport,
            target=self.target,
            seed=self.seed_number,
            journal="--resume",  # an interrupted run of the same plan is finished, not repeated
        )
        if not outcome.ok:
            raise SeedingError(f"seeding {scenario} failed (exit {outcome.returncode}): {outcome.error}")
        return dump_path(scenario, directory)

    def _dumps_dir(self) -> Path:
        if self.dumps_dir is not None:
            return self.dumps_dir
        from .._settings import load_settings  # settings load the engine's defaults: only when needed

        return Path(load_settings().seeding.dumps_dir)


def _check_plan(plan: object) -> None:
    if not isinstance(plan, SeedsPlan):
        raise PlanError(f"a SeedsPlan is needed to seed, not {type(plan).__name__}")


def _check_scenario(scenario: object) -> None:
    """A dump name is a plain file name (``SeedsPlan.scenario``'s rule), never a path: refused before anything runs."""
    try:
        SeedsPlan.model_validate({"users": {"count": 0}, "scenario": scenario})
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise PlanError(f"scenario {scenario!r}: {message}") from None


def build_grpc_seeds_builder() -> SeedsBuilder:
    """The course's factory: a builder over gRPC, at ``GATEWAY_GRPC_CLIENT.HOST``/``PORT``."""
    return SeedsBuilder("grpc")


def build_http_seeds_builder() -> SeedsBuilder:
    """The course's factory: a builder over HTTP, at ``GATEWAY_HTTP_CLIENT.URL``."""
    return SeedsBuilder("http")
