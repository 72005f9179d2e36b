"""``ProfileSchedule``: the heap-driven schedule chooses as a scan of every profile per user does, at any scale."""

from __future__ import annotations

import random

import pytest

from seeding.plan._profiles import ProfileSchedule


def scanned(shares: list[float], users: int) -> list[int]:
    """The schedule as first written (and as the dumps seeded since have it): every profile looked at per user;
    whole shares: one period of ``Σ shares`` users, repeated."""
    total = sum(shares)
    if all(float(share).is_integer() for share in shares) and users > total:
        period = scanned(shares, int(total))
        return [period[i % len(period)] for i in range(users)]
    parts = [share / total for share in shares]
    slack = 1 / (2 * len(shares) - 2) if len(shares) > 1 else 0.0
    counts, made = [0] * len(shares), []
    for t in range(1, users + 1):
        eligible = [j for j, p in enumerate(parts) if t * p - counts[j] >= slack - 1e-9]
        j = min(eligible, key=lambda j: (counts[j] + 1 - slack) / parts[j])
        made.append(j)
        counts[j] += 1
    return made


def _shares(seed: int) -> list[float]:
    rng = random.Random(seed)
    k = rng.randint(1, 12)
    form = seed % 3
    if form == 0:
        return [rng.randint(1, 20) for _ in range(k)]  # whole shares: one period, looked up
    if form == 1:
        return [rng.uniform(0.01, 10) for _ in range(k)]  # any others: worked out as far as asked
    return [rng.choice([1, 2, 0.5, 1 / 3, 1e-3, 7.7]) for _ in range(k)]  # ties and thirds


@pytest.mark.parametrize("shares", [[1], [1, 1], [3, 1], [9, 1], [1 / 3] * 3, [1e-9, 1], [0.1] * 10, [2, 3, 5, 7]])
def test_the_same_profile_for_every_user_as_the_scan(shares: list[float]) -> None:
    # A user's profile must never change between versions: a dump grown or resumed later reads it again.
    schedule = ProfileSchedule(shares)
    assert [schedule[i] for i in range(2_000)] == scanned(shares, 2_000)


def test_the_same_as_the_scan_over_random_shares() -> None:
    for seed in range(120):
        shares = _shares(seed)
        schedule = ProfileSchedule(shares)
        assert [schedule[i] for i in range(1_000)] == scanned(shares, 1_000), shares


def test_ten_thousand_profiles_each_get_their_share() -> None:
    # The scan looked at every profile for every user: 10,000 profiles of one share each never finished a plan.
    schedule = ProfileSchedule([1] * 10_000)
    assert schedule.counts(20_000) == [2] * 10_000
    assert sorted(schedule[i] for i in range(10_000)) == list(range(10_000))
