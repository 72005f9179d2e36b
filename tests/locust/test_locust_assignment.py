"""The index arithmetic: striped positions from worker rank and count, the master's pool, strategies."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st

from seeding.locust import Assignment, NumberPool, plan_assignments


class Run:
    """A simulated distributed run: workers numbering their users, the master's pool for the rest."""

    def __init__(self, strategy: str, seeds: int, users: int, worker_indexes: list[int], seed: int = 7) -> None:
        self.plan = plan_assignments(
            strategy, seeds=seeds, users=users, worker_indexes=worker_indexes, seed=seed, generation=1
        )
        any_worker = next(iter(self.plan.values()))
        self.pool = any_worker.pool()
        self.numbers = {index: NumberPool() for index in self.plan}
        self.held: dict[tuple[int, int], tuple[int, bool]] = {}  # (worker, number) → (position, pooled)

    def spawn(self, worker: int) -> int | None:
        """A virtual user starts on ``worker``: the dump index it gets (None: exhausted)."""
        assignment = self.plan[worker]
        number = self.numbers[worker].take()
        assert number is not None
        position, pooled = assignment.position(number), False
        if position is None:
            position, pooled = self.pool.take(), True
        if position is None:
            self.numbers[worker].put(number)
            return None
        self.held[(worker, number)] = (position, pooled)
        return assignment.index(position)

    def stop(self, worker: int) -> None:
        """Some virtual user of ``worker`` stops and gives its seeded user back."""
        number = max(number for w, number in self.held if w == worker)
        position, pooled = self.held.pop((worker, number))
        self.numbers[worker].put(number)
        if pooled:
            self.pool.put(position)

    def live_indices(self) -> list[int]:
        return [self.plan[worker].index(position) for (worker, _), (position, _) in self.held.items()]


def balanced_dispatch(users: int, workers: list[int], rng: random.Random) -> list[int]:
    """Worker per spawned user, as Locust's dispatcher does: counts differ by one at most, in any order."""
    per_worker, extra = divmod(users, len(workers))
    lucky = set(rng.sample(workers, extra))
    order = [w for w in workers for _ in range(per_worker + (w in lucky))]
    rng.shuffle(order)
    return order


def test_number_pool_hands_out_the_smallest_free_number():
    pool = NumberPool(3, 6)
    assert [pool.take(), pool.take(), pool.take(), pool.take()] == [3, 4, 5, None]
    pool.put(4)
    assert pool.take() == 4
    assert NumberPool().take() == 0


def test_two_workers_are_striped_by_rank():
    plan = plan_assignments("unique", seeds=10, users=10, worker_indexes=[0, 1], seed=1)
    assert [plan[0].position(k) for k in range(6)] == [0, 2, 4, 6, 8, None]
    assert [plan[1].position(k) for k in range(6)] == [1, 3, 5, 7, 9, None]


def test_ranks_not_raw_indices_so_gaps_left_by_departed_workers_cost_nothing():
    plan = plan_assignments("unique", seeds=6, users=6, worker_indexes=[5, 0, 2], seed=1)
    assert {index: a.slot for index, a in plan.items()} == {0: 0, 2: 1, 5: 2}
    assert all(a.workers == 3 and a.rounds == 2 for a in plan.values())


@settings(max_examples=300, deadline=None)
@given(
    workers=st.lists(st.integers(0, 20), min_size=1, max_size=6, unique=True),
    users=st.integers(1, 60),
    spare=st.integers(0, 5),
    strategy=st.sampled_from(["unique", "shuffle"]),
    seed=st.integers(0, 2**31),
)
def test_as_many_seeds_as_users_always_suffice_and_none_is_shared(workers, users, spare, strategy, seed):
    seeds = users + spare
    run = Run(strategy, seeds, users, workers, seed)
    got = [run.spawn(worker) for worker in balanced_dispatch(users, workers, random.Random(seed))]
    assert None not in got
    assert len(set(got)) == users
    assert all(0 <= index < seeds for index in got)


@settings(max_examples=200, deadline=None)
@given(
    workers=st.lists(st.integers(0, 9), min_size=1, max_size=4, unique=True),
    users=st.integers(1, 30),
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 3)), max_size=40),
    seed=st.integers(0, 1000),
)
def test_ramping_down_and_up_never_shares_a_seeded_user(workers, users, steps, seed):
    run = Run("unique", users, users, workers, seed)
    for worker in balanced_dispatch(users, workers, random.Random(seed)):
        run.spawn(worker)
    for spawn, pick in steps:
        worker = workers[pick % len(workers)]
        if spawn:
            run.spawn(worker)
        elif any(w == worker for w, _ in run.held):
            run.stop(worker)
        live = run.live_indices()
        assert len(live) == len(set(live))
        assert len(live) <= users


def test_unique_is_exhausted_only_when_every_seeded_user_is_held():
    run = Run("unique", seeds=5, users=5, worker_indexes=[0, 1])
    got = [run.spawn(worker) for worker in [0, 1, 0, 1, 0]]
    assert sorted(got) == [0, 1, 2, 3, 4]
    assert run.spawn(1) is None
    run.stop(0)
    assert run.spawn(1) is not None


def test_shuffle_is_one_seeded_permutation_shared_by_all_workers():
    first = plan_assignments("shuffle", seeds=50, users=50, worker_indexes=[0, 1], seed=42)
    again = plan_assignments("shuffle", seeds=50, users=50, worker_indexes=[0, 1], seed=42)
    other = plan_assignments("shuffle", seeds=50, users=50, worker_indexes=[0, 1], seed=43)
    order = [first[0].index(p) for p in range(50)]
    assert sorted(order) == list(range(50)) and order != list(range(50))
    assert order == [first[1].index(p) for p in range(50)] == [again[0].index(p) for p in range(50)]
    assert order != [other[0].index(p) for p in range(50)]


def test_cycle_wraps_around_and_spreads_evenly():
    plan = plan_assignments("cycle", seeds=3, users=8, worker_indexes=[0, 1], seed=1)
    got = sorted(plan[w].index(plan[w].position(k)) for w in (0, 1) for k in range(4))
    assert got == [0, 0, 0, 1, 1, 1, 2, 2]
    assert plan[0].pool().take() is None  # cycle never asks the master


def test_random_takes_no_position():
    assignment = Assignment("random", seeds=3, workers=2, slot=1, rounds=1)
    assert assignment.position(0) is None
    assert assignment.pool().take() is None


def test_a_late_worker_takes_every_position_from_the_pool():
    assignment = Assignment("unique", seeds=10, workers=2, slot=None, rounds=4)
    assert assignment.position(0) is None
    assert [assignment.pool().take()] == [8]


def test_local_runner_needs_no_pool():
    local = Assignment("unique", seeds=4, workers=1, slot=0, rounds=4)
    assert [local.position(k) for k in range(5)] == [0, 1, 2, 3, None]
    assert local.pool().take() is None


def test_assignment_survives_a_locust_message():
    assignment = Assignment("shuffle", seeds=9, workers=3, slot=2, rounds=3, seed=5, generation=2)
    assert Assignment.from_message(assignment.to_message()) == assignment


@pytest.mark.parametrize("workers", [[], [3]])
def test_plan_for_no_or_one_worker(workers):
    plan = plan_assignments("unique", seeds=3, users=3, worker_indexes=workers, seed=0)
    assert len(plan) == len(workers)


def test_pooled_positions_are_those_beyond_the_striped_rounds():
    unique = Assignment("unique", seeds=10, workers=2, slot=0, rounds=3)
    assert [p for p in range(-1, 12) if unique.pooled(p)] == [6, 7, 8, 9]
    assert not Assignment("cycle", seeds=10, workers=2, slot=0, rounds=3).pooled(7)


@pytest.mark.parametrize(
    "fields",
    [
        {"strategy": "evil"},
        {"seeds": 0},
        {"seeds": "10"},
        {"workers": 0},
        {"slot": 2},
        {"slot": -1},
        {"slot": True},
        {"rounds": 6},
        {"generation": "../../x"},
        {"generation": -1},
        {"seed": 1.5},
    ],
)
def test_an_assignment_from_a_message_is_checked(fields):
    data = {**Assignment("unique", seeds=10, workers=2, slot=1, rounds=5).to_message(), **fields}
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
        Assignment.from_message(data)


def test_lease_stripes_nothing_so_every_position_comes_from_the_one_pool() -> None:
    plan = plan_assignments("lease", seeds=10, users=8, worker_indexes=[0, 1], seed=1)
    assert {assignment.rounds for assignment in plan.values()} == {0}
    assert all(assignment.leased and assignment.unique for assignment in plan.values())
    assert all(plan[0].position(number) is None for number in range(10))
    assert all(plan[0].pooled(position) for position in range(10)) and not plan[0].pooled(10)
    assert not Assignment("unique", 10).leased


def test_the_lease_pool_hands_out_the_least_recently_used_first() -> None:
    pool = Assignment("lease", 4, rounds=0).pool()
    taken = [pool.take() for _ in range(4)]
    assert taken == [0, 1, 2, 3] and pool.take() is None
    for position in (2, 0, 3):
        pool.put(position)
    assert [pool.take(), pool.take(), pool.take(), pool.take()] == [2, 0, 3, None]
    smallest = NumberPool(0, 4)
    assert [smallest.take() for _ in range(4)] == [0, 1, 2, 3]
    smallest.put(2), smallest.put(0)
    assert smallest.take() == 0  # the default: smallest first
