"""What a dump already on disk is to a plan: nothing, reused as it is, grown, or replaced (kept as .previous).

Seeded data is the expensive part of a load test, so a run first looks at the dump its plan would
write. The plan's identity there is its per-user shape (``SeedsPlan.shape_hash``) and its seed; the
user count is compared apart:

- same shape and seed, as many users or more → **reuse**: no call, the dump stays as it is;
- same shape and seed, fewer users → **grow**: only plan indices ``n_old … n_new-1`` are seeded and
  the old users are copied first, byte for byte;
- another shape, another seed asked, no meta (the course's builder), a meta that records no shape
  (an older version), an embedded stand's dump, or ``--reseed`` → **replace**: the plan is seeded
  anew and the old dump is kept once as ``<scenario>_seeds.previous.json``;
- a dump made over another transport or at another target is refused (``FitError``): growing it would
  mix two gateways' users in one dump, and replacing it would throw away what the other gateway holds;
  so is a dump that cannot be read or does not hold what its meta says. ``--reseed`` replaces both.

Without an explicit seed, a run takes the seed of a dump of its shape, so growing is the default path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._exceptions import DumpError, SeedingError
from ..dumps._files import open_dump, read_meta
from ..dumps._index import dump_fingerprint
from ..dumps._previous import EMBEDDED, previous_path  # the target a dump of the in-process stand records
from ..plan._models import SeedsPlan

__all__ = ["DumpFit", "FitError", "fit_dump", "same_target"]

Action = Literal["seed", "reuse", "grow", "replace"]


class FitError(SeedingError):
    """The dump on disk can be neither grown nor silently replaced (another gateway, damaged): nothing was sent."""


@dataclass(frozen=True)
class DumpFit:
    """The decision for one dump; ``users`` and ``fingerprint`` describe the dump found (0 / None: none)."""

    action: Action
    path: Path
    users: int = 0
    seed: int | None = None  # the dump's seed when it fits (reuse, grow), else the one asked (or None)
    fingerprint: str | None = None
    reason: str = ""  # why it is replaced

    @property
    def base(self) -> int:
        """How many of the dump's users the new dump starts with (grow: all of them)."""
        return self.users if self.action == "grow" else 0


def same_target(a: tuple[Any, Any], b: tuple[Any, Any]) -> bool:
    """Whether two (transport, target) pairs name one gateway side (case and a trailing slash aside)."""
    return [str(v).rstrip("/").lower() for v in a] == [str(v).rstrip("/").lower() for v in b]


def fit_dump(
    path: Path,
    plan: SeedsPlan,
    *,
    seed: int | None,
    transport: str,
    target: str,
    reseed: bool = False,
) -> DumpFit:
    """Decide what to do with the dump at ``path`` for ``plan`` seeded over ``transport`` at ``target``.

    ``seed`` is the one asked explicitly (None: take the dump's). Raises ``FitError`` (one line,
    naming the dump and both sides) when the dump must not be touched without ``reseed``.
    """
    path = Path(path)
    if not path.exists():
        return DumpFit("seed", path, seed=seed)
    kept = previous_path(path)
    try:
        meta = read_meta(path)
        count = len(open_dump(path).users)
    except DumpError as exc:
        if reseed:
            return DumpFit("replace", path, seed=seed, reason=f"it cannot be read ({exc})")
        raise FitError(
            f"{exc}; it cannot be grown: pass --reseed to seed the plan anew (it is kept as {kept})"
        ) from None

    def replace(reason: str) -> DumpFit:
        return DumpFit("replace", path, users=count, seed=seed, reason=reason)

    if meta is None:
        return replace("it has no meta (the course's builder made it): its shape is unknown")
    shape, made_seed = meta.get("shape_hash"), meta.get("seed")
    if not isinstance(shape, str) or not isinstance(made_seed, int):
        return replace("its meta records no shape (an older version made it): its shape is unknown")
    if shape != plan.shape_hash:
        return replace(f"shape changed (the dump's {shape}, the plan's {plan.shape_hash})")
    if seed is not None and seed != made_seed:
        return replace(f"seed changed (the dump's {made_seed}, this run's {seed}): another shape")
    made = (meta.get("transport"), meta.get("target"))
    if made[1] == EMBEDDED:
        return replace("it was made on an embedded stand, whose users ended with it")
    if target == EMBEDDED and not reseed:  # a real gateway's users: the expensive kind, never replaced unasked
        raise FitError(
            f"{path}: seeded over {made[0]} at {made[1]}; this run seeds a fresh embedded stand, which holds none "
            f"of its users: pass --reseed to seed it anew there (it is kept as {kept}), or give another --dumps-dir"
        )
    if target == EMBEDDED:
        return replace("--reseed asked to seed it anew on a fresh embedded stand")
    if reseed:
        return replace("--reseed asked to seed the plan anew")
    if not same_target(made, (transport, target)):
        raise FitError(
            f"{path}: seeded over {made[0]} at {made[1]}, this run seeds over {transport} at {target}; "
            f"growing it would mix two gateways' users: seed over {made[0]} at {made[1]}, or pass --reseed "
            f"to seed anew (it is kept as {kept})"
        )
    if count >= plan.users.count:
        return DumpFit("reuse", path, users=count, seed=made_seed)
    return DumpFit("grow", path, users=count, seed=made_seed, fingerprint=dump_fingerprint(path))
