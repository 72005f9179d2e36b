"""FakeData: per-index reproducible users, drawn from three of Faker's providers only."""

from __future__ import annotations

import random

from faker import Faker

from seeding import parse_plan
from seeding.plan._fake_data import FakeData

PLAN = parse_plan("users: 3\n")


def test_users_are_what_a_full_faker_gives_for_the_seed() -> None:
    """The few providers loaded give the same names, phones and email parts as ``Faker("ru_RU")``."""
    fake = FakeData(PLAN, seed=11)
    full = Faker("ru_RU")
    for index in range(300):
        full.seed_instance(random.Random(f"11/{index}/user").getrandbits(64))
        if full.random.random() < 0.5:
            names = full.last_name_male(), full.first_name_male(), full.middle_name_male()
        else:
            names = full.last_name_female(), full.first_name_female(), full.middle_name_female()
        expected = (*names, full.phone_number(), full.user_name(), full.free_email_domain())
        user = fake.user(index)
        assert (
            user.last_name,
            user.first_name,
            user.middle_name,
            user.phone_number,
            user.email_name,
            user.email_domain,
        ) == expected


def test_same_index_same_user_and_fresh_emails() -> None:
    one, other = FakeData(PLAN, seed=5), FakeData(PLAN, seed=5)
    assert one.user(2) == other.user(2)
    assert one.user(1) != one.user(2)
    emails = {one.user(0).fresh_email() for _ in range(50)}
    assert len(emails) == 50 and all(e.startswith(one.user(0).email_name + ".") for e in emails)
