"""The feeder's Locust messages: one model per kind, checked on arrival; a bad one is dropped, not obeyed.

    worker → master   hello {feeder}            a worker is here (one joining a running test asks for its place);
                                                one type for every feeder, ``seeding:hello`` (``_greetings``)
                      need {generation}         it lacks the dump: stream the users to it
                      claim {generation, ticket}  a position from the master's pool
                      release {generation, position}  a pooled position is free again
                      quarantine {generation, position, reason}  a pooled position is out for this run
    master → worker   assign {assignment, fingerprint, meta}  its place in this test run
                      chunk {generation, lines, last}  users of the dump, as JSON lines
                      grant {generation, ticket, position}  the answer to a claim (None: exhausted)
                      revoke {generation, positions}  pooled positions the master took back while it had
                                                this worker missing (no heartbeat): they are others' now

Here are the types and ranges (ints that are ints, not bools or text); the handlers check what
needs state: that the generation is the run's, that a released position is one the master granted
to that very worker and not released since, that only a worker of the run gets the dump. Nothing
in a message ever becomes part of a file name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictBool, StrictBytes, StrictInt, ValidationError

from ._assignment import Assignment

__all__ = [
    "MESSAGES",
    "Assign",
    "Chunk",
    "Claim",
    "Grant",
    "Hello",
    "Kind",
    "Need",
    "Quarantine",
    "Release",
    "Revoke",
    "listener",
    "quarantine_reason",
]

Kind = Literal["hello", "assign", "need", "chunk", "claim", "grant", "release", "quarantine", "revoke"]
M = TypeVar("M", bound="_Message")

_Number = Annotated[StrictInt, Field(ge=0, lt=2**63)]  # a generation, a ticket, a position
MAX_REASON = 500  # characters, as the service's quarantine takes
_Reason = Annotated[str, Field(strict=True, min_length=1, max_length=MAX_REASON)]
_Fingerprint = Annotated[str, Field(strict=True, pattern=r"^[0-9a-f]{32}$")]


class _Message(BaseModel):
    # Unknown keys are ignored, so a newer peer's extra field does not silence an older one.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Hello(_Message):
    feeder: Annotated[str, Field(strict=True, min_length=1, max_length=1000)]  # the name it is routed by


class Assign(_Message):
    assignment: Assignment
    fingerprint: _Fingerprint | None
    meta: dict[str, JsonValue] | None


class Need(_Message):
    generation: _Number


class Chunk(_Message):
    generation: _Number
    lines: list[StrictBytes]
    last: StrictBool


class Claim(_Message):
    generation: _Number
    ticket: _Number


class Grant(_Message):
    generation: _Number
    ticket: _Number
    position: _Number | None


class Release(_Message):
    generation: _Number
    position: _Number


class Revoke(_Message):
    generation: _Number
    positions: Annotated[list[_Number], Field(min_length=1, max_length=100_000)]


class Quarantine(_Message):
    generation: _Number
    position: _Number
    reason: _Reason


def quarantine_reason(reason: object) -> str:
    """``reason`` on one line; ``ValueError`` unless it is text of 1 to 500 characters (as the service's)."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        shown = reason[:40] + "…" if isinstance(reason, str) and len(reason) > 40 else reason
        raise ValueError(
            f"seeding.locust.quarantine: the reason must be text of 1 to {MAX_REASON} characters, not {shown!r}"
        )
    return " ".join(reason.split())


MESSAGES: dict[Kind, type[_Message]] = {
    "hello": Hello,
    "assign": Assign,
    "need": Need,
    "chunk": Chunk,
    "claim": Claim,
    "grant": Grant,
    "release": Release,
    "quarantine": Quarantine,
    "revoke": Revoke,
}


def listener(
    kind: Kind, handler: Callable[[str, Any], None], logger: logging.Logger, source: str, sender: str | None = None
) -> Callable[..., None]:
    """A Locust message listener: validates ``msg.data`` as ``kind``, then calls ``handler(sender, message)``.

    ``sender`` names the peer (a worker's only one is "the master"); None: the message's node id.
    A message that does not validate is dropped with one warning naming ``source`` (the dump),
    the kind and the sender; the handler never sees it.
    """
    model = MESSAGES[kind]

    def receive(environment: Any, msg: Any) -> None:
        node = sender or str(getattr(msg, "node_id", "?"))
        try:
            message = model.model_validate(msg.data)
        except ValidationError as exc:
            drop(logger, source, kind, node, _summary(exc))
            return
        handler(node, message)

    return receive


def drop(
    logger: logging.Logger, source: str, kind: str, node: str, reason: str, *, level: int = logging.WARNING
) -> None:
    """The one line for a message that is not obeyed."""
    logger.log(level, "%s: dropped %s message from %s: %s", source, kind, node[:80], reason)


def _summary(exc: ValidationError) -> str:
    """The first few problems on one line, without the (maybe large) input."""
    problems = [f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors(include_url=False)]
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more
