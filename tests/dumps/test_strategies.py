"""The table of hand-out strategies (``seeding/dumps/_strategies.py``), read by Locust's feeder and the service."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from seeding.dumps import _strategies
from seeding.dumps._strategies import STRATEGIES, StrategySpec, exclusive, strategy_spec
from seeding.locust._assignment import Assignment
from seeding.service._handouts import Sequence


@pytest.mark.parametrize("name", [s for s in STRATEGIES if exclusive(s)])
@pytest.mark.parametrize("count", [1, 7, 100])
def test_exclusive_orders_are_permutations(name: str, count: int) -> None:
    order = strategy_spec(name).order
    assert order is not None
    for seed in (0, 1, 12345):
        assert sorted(order(count, seed)[position] for position in range(count)) == list(range(count))


def test_shuffle_depends_on_the_seed_and_unique_does_not() -> None:
    def first(name: str, seed: int) -> list[int]:
        order = strategy_spec(name).order
        assert order is not None
        instance = order(50, seed)
        return [instance[position] for position in range(50)]

    assert first("shuffle", 1) != first("shuffle", 2)
    assert first("shuffle", 1) == first("shuffle", 1)
    assert first("unique", 1) == first("unique", 2) == list(range(50))


def test_cycle_wraps_and_random_has_no_order() -> None:
    cycle = strategy_spec("cycle").order
    assert cycle is not None
    assert [cycle(3, 0)[position] for position in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert strategy_spec("random").order is None
    assert not exclusive("cycle") and not exclusive("random")


@pytest.mark.parametrize("name", ["", "Unique", "uniq", "none", "0"])
def test_unknown_strategy_is_one_line_naming_the_known_ones(name: str) -> None:
    with pytest.raises(
        ValueError,
        match=r"^strategy must be one of unique, shuffle, cycle, random, zipf, lease "
        r"\(zipf:S sets the exponent\), not ",
    ) as info:
        strategy_spec(name)
    assert "\n" not in str(info.value)


@pytest.fixture
def reverse(monkeypatch: pytest.MonkeyPatch) -> str:
    """A strategy that is only a row: exclusive, last user first."""
    row = StrategySpec("unique", exclusive=True, order=lambda count, seed: range(count - 1, -1, -1))
    monkeypatch.setitem(_strategies._TABLE, "reverse", replace(row, name="reverse"))  # type: ignore[arg-type]
    return "reverse"


def test_a_new_row_is_served_by_the_service_without_other_changes(reverse: str, tmp_path: Path) -> None:
    sequence = Sequence(tmp_path / "x.handouts", "fingerprint", 4)
    try:
        assert sequence.take("unique") == 0  # exclusive strategies share what is handed out
        taken = [sequence.take(reverse) for _ in range(4)]  # type: ignore[arg-type]
    finally:
        sequence.close()
    assert taken == [3, 2, 1, None]


def test_a_new_row_is_served_by_locust_assignments_without_other_changes(reverse: str) -> None:
    workers = [Assignment(reverse, seeds=6, workers=2, slot=slot, rounds=3) for slot in (0, 1)]  # type: ignore[arg-type]
    indices = [a.index(a.position(number)) for a in workers for number in range(3)]  # type: ignore[arg-type]
    assert sorted(indices) == list(range(6))
    assert workers[0].unique and workers[0].position(3) is None  # beyond its rounds: the master's pool


def test_zipf_draws_follow_the_exponent_under_a_fixed_seed() -> None:
    import random

    spec = strategy_spec("zipf:1.1")
    assert spec.name == "zipf:1.1" and spec.order is None and not spec.exclusive
    count, draws = 30, 30_000
    weights = spec.weights(count)
    assert weights is not None and weights[0] == 1.0
    rng = random.Random(2024)
    seen = [0] * count
    for _ in range(draws):
        seen[spec.draw(count, rng)] += 1
    total = sum(weights)
    chi2 = sum((seen[i] - draws * w / total) ** 2 / (draws * w / total) for i, w in enumerate(weights))
    assert chi2 < 58.3, chi2  # 29 degrees of freedom, 0.1 % critical value
    import math

    slope = (math.log(seen[15]) - math.log(seen[0])) / math.log(16)  # rank-frequency: log f = -S log r
    assert slope == pytest.approx(-1.1, abs=0.12)
    assert strategy_spec("zipf").parameter == 1.0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("zipf:0", "the exponent must be greater than 0"),
        ("zipf:-2", "the exponent must be greater than 0"),
        ("zipf:nan", "the exponent must be greater than 0"),
        ("zipf:", "the exponent must be a number"),
        ("random:1", "strategy 'random' takes no parameter"),
        ("hot", "strategy must be one of unique, shuffle, cycle, random, zipf"),
    ],
)
def test_bad_strategy_names_are_one_line(name: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected.replace("(", r"\(")):
        strategy_spec(name)
