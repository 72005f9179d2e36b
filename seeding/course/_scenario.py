"""``SeedsScenario``: the course's one-subclass-per-load-scenario base class, on our engine.

A project subclasses it with two properties, ``plan`` and ``scenario``, and calls ``build()``
(seed, then save), ``load()`` and ``save(result)``, exactly as with the course's
``seeds.scenario.SeedsScenario``. Inside Locust, ``load()`` returns seeds that are unique across
all processes and arrive fresh at test start (``seeding.locust._course``), and ``build()`` does
nothing on a worker.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from types import ModuleType

from ..dumps._files import dump_path, load_seeds_result, save_seeds_result
from ..dumps._result import SeedsResult
from ..plan._models import SeedsPlan
from ._builders import SeedsBuilder, build_grpc_seeds_builder

__all__ = ["SeedsScenario"]


class SeedsScenario(ABC):
    """One load scenario's seeds: ``plan`` says what to create, ``scenario`` names the dump."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        """A scenario defined inside a Locust process (a locustfile imports it) joins Locust before ``init``.

        So ``load()``, called in Locust's ``init``, knows the environment and serves each seeded
        user to one virtual user across processes (``seeding.locust._course``).
        """
        super().__init_subclass__(**kwargs)
        _locust()

    @property
    @abstractmethod
    def plan(self) -> SeedsPlan:
        """What to seed."""

    @property
    @abstractmethod
    def scenario(self) -> str:
        """The dump's name: ``dumps/<scenario>_seeds.json``."""

    def builder(self) -> SeedsBuilder:
        """The builder ``build()`` uses: gRPC, as the course's (override for HTTP)."""
        return build_grpc_seeds_builder()

    def build(self) -> None:
        """Seed ``plan`` into ``dumps/<scenario>_seeds.json`` (on a Locust worker: nothing, the master seeds)."""
        locust = _locust()
        if locust is not None and locust.in_locust_worker():
            return
        course = sys.modules.get("seeding.locust._course")  # loaded by ``import seeding`` inside Locust only
        if course is not None:  # the master hears its workers' greetings while it seeds
            course.listen_before_seeding(dump_path(self.scenario))
        self.builder().seed(self.plan, self.scenario)

    def load(self) -> SeedsResult:
        """The dump's users; inside Locust, served so that no user goes to two virtual users."""
        return load_seeds_result(scenario=self.scenario)  # served across processes inside Locust

    def save(self, result: SeedsResult) -> None:
        """Write ``result`` to ``dumps/<scenario>_seeds.json``, atomically."""
        save_seeds_result(result=result, scenario=self.scenario)


def _locust() -> ModuleType | None:  # the seeding.locust module, inside a Locust process only
    """``seeding.locust`` when Locust runs this process (it is imported already); else None."""
    if "locust" not in sys.modules:
        return None
    import seeding.locust

    return seeding.locust
