"""Calls that got no answer: what the gateway made for them is found, not made again.

Real ``python -m seeding`` runs against an in-process stand that makes a share of the calls, then
answers past the run's timeout (``late_rate``): the run retries those, and before each retry looks
for what the unanswered call made. The stand then holds exactly the accounts, cards and operations
the dump lists; only users made by an unanswered ``CreateUser`` are left over (nothing names them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seeding._exceptions import (
    GatewayUnreachableError,
    InvalidRequestError,
    OverloadedError,
    TransientGatewayError,
)
from seeding.engine._unanswered import Claims, maybe_made
from seeding.stand import Stand

from ..cli.test_cli_journal import Cli
from .test_partial import dump_ids, stand_ids
from .test_shards import PLAN, gateway_flags


def _error(cls: type, status: str, **extra: float) -> BaseException:
    return cls(method="OpenDebitCardAccount", target="127.0.0.1:9003", status=status, detail="x", **extra)


# (the failure, whether the call may have been made all the same)
MADE_OR_NOT = [
    ("gRPC deadline passed", _error(TransientGatewayError, "DEADLINE_EXCEEDED"), True),
    ("HTTP answer never came", _error(TransientGatewayError, "ReadTimeout"), True),
    ("HTTP connection dropped after sending", _error(TransientGatewayError, "ServerDisconnectedError"), True),
    ("HTTP 500", _error(TransientGatewayError, "500"), True),
    ("HTTP 502 from a proxy", _error(TransientGatewayError, "502"), True),
    ("gRPC INTERNAL", _error(TransientGatewayError, "INTERNAL"), True),
    ("gRPC UNAVAILABLE: refused before", _error(TransientGatewayError, "UNAVAILABLE"), False),
    ("HTTP 503", _error(TransientGatewayError, "503"), False),
    ("HTTP 408: the request never arrived whole", _error(TransientGatewayError, "408"), False),
    ("a pushback", _error(OverloadedError, "RESOURCE_EXHAUSTED", pushback=0.1), False),
    ("nothing listening", _error(GatewayUnreachableError, "UNAVAILABLE"), False),
    ("a permanent error", _error(InvalidRequestError, "INVALID_ARGUMENT"), False),
    ("not a gateway error", ValueError("x"), False),
]


@pytest.mark.parametrize(("what", "error", "made"), MADE_OR_NOT, ids=[row[0] for row in MADE_OR_NOT])
def test_which_failures_may_have_been_made(what: str, error: BaseException, made: bool) -> None:
    assert maybe_made(error) is made, what


def test_an_id_goes_to_one_place() -> None:
    first, second = object(), object()
    claims = Claims(["journaled"])
    assert not claims.claim("journaled", first)  # held by the journal: no place of this run takes it
    assert claims.claim("a", first) and claims.claim("a", first)  # the same place again: still its own
    assert not claims.claim("a", second)
    assert claims.claim("b", second)


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_calls_answered_past_the_timeout_are_found_not_made_twice(tmp_path: Path, transport: str) -> None:
    users = 16
    (tmp_path / "p.yaml").write_text(PLAN.format(count=users))
    async with Stand(latency_ms=2, late_rate=0.1, late_ms=1500, seed=11) as stand:
        args = ["p.yaml", *gateway_flags(stand, transport), f"--dumps-dir={tmp_path}", "--timeout=0.4"]
        run = await Cli.run(*args, "--retries=6", cwd=tmp_path)
        assert run.proc.returncode == 0, run.stderr
        late = stand.faults.late
        made_late = late.total() - late["CreateUser"]
        assert made_late >= 5, f"too few late calls to show anything: {dict(late)}"
        listed, held = dump_ids(tmp_path / "s_seeds.json"), stand_ids(stand)
        assert len(listed["users"]) == users
        for kind in ("accounts", "cards", "operations"):
            assert held[kind] == listed[kind], f"{kind}: made twice, or made and not listed ({dict(late)})"
        assert listed["users"] <= held["users"]
        assert len(held["users"] - listed["users"]) == late["CreateUser"]  # nothing names an unanswered user
