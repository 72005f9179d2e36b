"""Dump fixtures: users shaped like the builder's, the course's own result models, and dump writers.

The course models below are a copy of the course's ``seeds/schema/result.py``: a dump they write
is what users already have on disk, and what they read is what old locustfiles expect.
"""

import json
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel, Field

from seeding import SeedsResult, write_dump

COURSE_OPERATION_KINDS = (
    "top_up_operations",
    "purchase_operations",
    "transfer_operations",
    "cash_withdrawal_operations",
)


class CourseCardResult(BaseModel):
    card_id: str


class CourseOperationResult(BaseModel):
    operation_id: str


class CourseAccountResult(BaseModel):
    account_id: str
    physical_cards: list[CourseCardResult] = Field(default_factory=list)
    virtual_cards: list[CourseCardResult] = Field(default_factory=list)
    top_up_operations: list[CourseOperationResult] = Field(default_factory=list)
    purchase_operations: list[CourseOperationResult] = Field(default_factory=list)
    transfer_operations: list[CourseOperationResult] = Field(default_factory=list)
    cash_withdrawal_operations: list[CourseOperationResult] = Field(default_factory=list)


class CourseUserResult(BaseModel):
    user_id: str
    deposit_accounts: list[CourseAccountResult] = Field(default_factory=list)
    savings_accounts: list[CourseAccountResult] = Field(default_factory=list)
    debit_card_accounts: list[CourseAccountResult] = Field(default_factory=list)
    credit_card_accounts: list[CourseAccountResult] = Field(default_factory=list)


class CourseSeedsResult(BaseModel):
    users: list[CourseUserResult] = Field(default_factory=list)


def scenario_user(rng: random.Random) -> dict[str, Any]:
    """A scenario-11.2 user as the builder writes it (course keys only, uuid4 ids)."""

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def account() -> dict[str, Any]:
        return {
            "account_id": uid(),
            "physical_cards": [{"card_id": uid()}],
            "virtual_cards": [{"card_id": uid()}],
            **{kind: [{"operation_id": uid()}] for kind in COURSE_OPERATION_KINDS},
        }

    return {
        "user_id": uid(),
        "deposit_accounts": [],
        "savings_accounts": [],
        "debit_card_accounts": [account()],
        "credit_card_accounts": [account()],
    }


def scenario_users(count: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [scenario_user(rng) for _ in range(count)]


@pytest.fixture
def course() -> SimpleNamespace:
    """The course's result models."""
    return SimpleNamespace(SeedsResult=CourseSeedsResult, SeedUserResult=CourseUserResult)


@pytest.fixture
def make_users() -> Callable[..., list[dict[str, Any]]]:
    """``make_users(count, seed=0)``: scenario-11.2 users, the same for the same seed."""
    return scenario_users


@pytest.fixture
def users5() -> list[dict[str, Any]]:
    return scenario_users(5)


@pytest.fixture
def ours(tmp_path: Path, users5: list[dict[str, Any]]) -> Path:
    """Our layout: meta first, one user per line."""
    meta = {"scenario": "s", "counts": {"users": len(users5)}}
    return write_dump(tmp_path / "ours_seeds.json", meta, users5)


@pytest.fixture
def course_dump(tmp_path: Path, users5: list[dict[str, Any]]) -> Path:
    """A dump as the course's builder writes it: ``SeedsResult.model_dump_json()``, one line."""
    path = tmp_path / "course_seeds.json"
    path.write_text(CourseSeedsResult.model_validate({"users": users5}).model_dump_json())
    return path


@pytest.fixture
def pretty_dump(tmp_path: Path, users5: list[dict[str, Any]]) -> Path:
    """A hand-formatted dump (indented, meta last): no layout the scan indexes."""
    path = tmp_path / "pretty_seeds.json"
    path.write_text(json.dumps({"users": users5, "meta": {"scenario": "pretty"}}, indent=2))
    return path


@pytest.fixture(params=["ours", "course_dump", "pretty_dump"])
def any_dump(request: pytest.FixtureRequest) -> Path:
    """Each layout in turn."""
    return request.getfixturevalue(request.param)


def reference_users(path: Path) -> list[Any]:
    """Users as a plain full parse sees them: ``json.load`` then pydantic, no lazy code involved."""
    with open(path, encoding="utf-8") as file:
        return list(SeedsResult.model_validate(json.load(file)).users)


@pytest.fixture
def reference() -> Callable[[Path], list[Any]]:
    return reference_users
