"""Realistic ru_RU data for seeded users and operations, reproducible per plan index.

Each user's data comes from generators seeded with ``(seed, index)``, so user ``i`` gets the same
name, phone and operation amounts whatever order concurrent tasks run in, and on a resumed run.
Emails are the exception: the gateway requires them unique, so every CreateUser attempt gets a
fresh random suffix (a retried attempt whose first try may have succeeded must not collide, nor may
two runs with the same ``--seed`` against one gateway).
"""

from __future__ import annotations

import importlib
import math
import random
import secrets
from dataclasses import dataclass
from typing import Protocol, cast

from faker import Generator

from ..contract import OperationStatus, OperationType
from ._models import AmountRange, SeedAccountsPlan, SeedsPlan

__all__ = ["FakeData", "OperationData", "UserData"]

# The providers ``user()`` draws from (``user_name`` formats use ``{{year}}``). ``Faker(locale)``
# would load all ~25 (30 ms of start-up); a generator with these gives the same values per seed.
_PROVIDERS = ("person", "phone_number", "internet", "date_time")


@dataclass(frozen=True)
class UserData:
    last_name: str
    first_name: str
    middle_name: str
    phone_number: str
    email_name: str
    email_domain: str

    def fresh_email(self) -> str:
        """A new unique email for one CreateUser attempt."""
        return f"{self.email_name}.{secrets.token_hex(5)}@{self.email_domain}"


@dataclass(frozen=True)
class OperationData:
    field: str  # "top_up_operations": where its id goes in the dump
    type: OperationType
    status: OperationStatus
    amount: float
    category: str | None  # PURCHASE only


class _Providers(Protocol):
    """The part of a Faker generator used here: its providers' methods exist only once added at runtime."""

    @property
    def random(self) -> random.Random: ...

    def seed_instance(self, seed: int | None = None) -> object: ...
    def last_name_male(self) -> str: ...
    def first_name_male(self) -> str: ...
    def middle_name_male(self) -> str: ...
    def last_name_female(self) -> str: ...
    def first_name_female(self) -> str: ...
    def middle_name_female(self) -> str: ...
    def phone_number(self) -> str: ...
    def user_name(self) -> str: ...
    def free_email_domain(self) -> str: ...


class FakeData:
    """Makes the data for plan user ``index`` under ``seed``."""

    def __init__(self, plan: SeedsPlan, seed: int, locale: str = "ru_RU") -> None:
        self._plan = plan
        self._seed = seed
        self._faker = _generator(locale)

    def user(self, index: int) -> UserData:
        faker = self._faker
        faker.seed_instance(random.Random(f"{self._seed}/{index}/user").getrandbits(64))
        if faker.random.random() < 0.5:
            names = faker.last_name_male(), faker.first_name_male(), faker.middle_name_male()
        else:
            names = faker.last_name_female(), faker.first_name_female(), faker.middle_name_female()
        return UserData(*names, faker.phone_number(), faker.user_name(), faker.free_email_domain())

    def operations(self, index: int, account_field: str, account: int, plan: SeedAccountsPlan) -> list[OperationData]:
        """The operations of one account, in dump order, with their amounts and categories."""
        rng = random.Random(f"{self._seed}/{index}/{account_field}/{account}")
        defaults = self._plan.operations
        result = []
        for field, kind, ops in plan.operations():
            amounts = ops.amount or defaults.amount
            for _ in range(ops.fixed_count):
                category = rng.choice(defaults.purchase_categories) if kind is OperationType.PURCHASE else None
                amount = _amount(amounts, rng)
                result.append(OperationData(field, kind, ops.status or defaults.status, amount, category))
        return result


# The standard normal's 99th percentile: a median's spread puts the farther end of the range there.
_Z99 = 2.3263478740408408


def _amount(amounts: AmountRange, rng: random.Random) -> float:
    """One amount: uniform on min-max, or log-normal around the median, clipped to min-max."""
    if amounts.median is None:
        return round(rng.uniform(amounts.min, amounts.max), 2)
    spread = max(math.log(amounts.max / amounts.median), math.log(amounts.median / amounts.min)) / _Z99
    drawn = rng.lognormvariate(math.log(amounts.median), spread)
    return round(min(max(drawn, amounts.min), amounts.max), 2)


def _generator(locale: str) -> _Providers:
    """What ``Faker(locale)`` builds, for ``_PROVIDERS`` only: each provider's locale version, else its default."""
    generator = Generator()
    for name in _PROVIDERS:
        try:
            module = importlib.import_module(f"faker.providers.{name}.{locale}")
        except ModuleNotFoundError:
            module = importlib.import_module(f"faker.providers.{name}")
        generator.add_provider(module.Provider)
    return cast(_Providers, generator)  # the providers just added carry these methods; Faker types only its proxy
