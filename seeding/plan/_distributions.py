"""Counts drawn from distributions: a plan's count below the user level is a number or one of these.

``{min: A, max: B}``            uniform integers, both ends included
``{weights: {0: 50, 1: 30}}``   each count with its weight
``{zipf: S, min: A, max: B}``   P(k) ∝ (k − A + 1)^−S on A…B: most draws near A, a long tail up to B

Each knows its probabilities (``pmf``), so a draw is one ``random.Random`` step over a cumulative
table, and the preview can say what a plan creates without drawing. Errors are ``ValueError``s
whose text starts with the sub-field (``max: …``), which the plan loader appends to the path.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import random
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["Count", "Distribution", "Uniform", "Weighted", "Zipf", "count_value", "mean_of", "refuse_booleans"]

# A drawn count beyond this is a typo ({max: 10000000}): one account would take days.
MAX_DRAWN = 1_000_000
MAX_WEIGHT = 1e12  # a weight is relative: a trillion to one is past any plan, and their sum stays finite


def refuse_booleans(data: Any) -> Any:
    """A plan has no yes/no field: ``count: true`` is a slip, not 1 (pydantic would read it as 1)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, bool):
                raise ValueError(f"{key}: {str(value).lower()} is not a value here (no plan field is yes/no)")
    return data


class _Distribution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans(cls, data: Any) -> Any:
        return refuse_booleans(data)

    def pmf(self) -> list[tuple[int, float]]:
        """``(count, probability)`` for every count it may draw, ascending."""
        raise NotImplementedError

    @functools.cached_property
    def _table(self) -> tuple[list[int], list[float]]:
        pmf = self.pmf()
        return [k for k, _ in pmf], list(itertools.accumulate(p for _, p in pmf))

    def draw(self, rng: random.Random) -> int:
        values, cumulative = self._table
        return values[min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(values) - 1)]

    @property
    def mean(self) -> float:
        return sum(k * p for k, p in self.pmf())

    @property
    def most(self) -> int:
        return self._table[0][-1]

    def __bool__(self) -> bool:
        return self.most > 0


class Uniform(_Distribution):
    """``{min, max}``: every count from min (default 0) to max equally likely."""

    min: int = Field(default=0, description="The smallest count.")
    max: int = Field(description="The largest count.")

    @model_validator(mode="after")
    def _valid(self) -> Self:
        _bounds(self.min, self.max)
        return self

    def pmf(self) -> list[tuple[int, float]]:
        share = 1 / (self.max - self.min + 1)
        return [(k, share) for k in range(self.min, self.max + 1)]


class Weighted(_Distribution):
    """``{weights: {count: weight}}``: each listed count with its (relative) weight."""

    weights: dict[int, float] = Field(description="Count → its weight (a finite number ≥ 0, relative to the others').")

    @model_validator(mode="before")
    @classmethod
    def _no_boolean_weights(cls, data: Any) -> Any:
        weights = data.get("weights") if isinstance(data, dict) else None
        if isinstance(weights, dict) and any(isinstance(x, bool) for item in weights.items() for x in item):
            raise ValueError("weights: counts and weights are numbers, not true or false")
        return data

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if not self.weights:
            raise ValueError("weights: list at least one count with its weight")
        for count, weight in self.weights.items():
            if count < 0 or count > MAX_DRAWN:
                raise ValueError(f"weights: the count {count} is outside 0-{MAX_DRAWN:,}")
            if not math.isfinite(weight) or not 0 <= weight <= MAX_WEIGHT:  # 1e308s summed to infinity
                raise ValueError(
                    f"weights: the weight of {count} must be a number from 0 to {MAX_WEIGHT:g}, not {weight}"
                )
        if sum(self.weights.values()) <= 0:
            raise ValueError("weights: the weights sum to 0 (at least one must be positive)")
        return self

    def pmf(self) -> list[tuple[int, float]]:
        total = sum(self.weights.values())
        return [(k, w / total) for k, w in sorted(self.weights.items()) if w > 0]


class Zipf(_Distribution):
    """``{zipf: S, min, max}``: P(k) ∝ (k − min + 1)^−S, the long tail of a few heavy holders."""

    zipf: float = Field(description="The exponent S: the larger, the fewer holders get large counts.")
    min: int = Field(default=0, description="The smallest count, the most likely.")
    max: int = Field(description="The largest count.")

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if not math.isfinite(self.zipf) or self.zipf <= 0:
            raise ValueError(f"zipf: the exponent must be greater than 0, not {self.zipf}")
        _bounds(self.min, self.max)
        return self

    def pmf(self) -> list[tuple[int, float]]:
        weights = [(k, (k - self.min + 1) ** -self.zipf) for k in range(self.min, self.max + 1)]
        total = sum(w for _, w in weights)
        return [(k, w / total) for k, w in weights]


def _bounds(low: int, high: int) -> None:
    if low < 0:
        raise ValueError(f"min: a count cannot be negative ({low})")
    if low > high:
        raise ValueError(f"max: min ({low}) is greater than max ({high})")
    if high > MAX_DRAWN:
        raise ValueError(f"max: at most {MAX_DRAWN:,} per draw, not {high:,}")


Distribution = Uniform | Weighted | Zipf
Count = int | Distribution  # what a plan's count below the user level holds
_FORMS = "a count is a number, {min, max}, {weights: {count: weight}} or {zipf: S, min, max}"


def count_value(value: Any) -> Any:
    """A plan's count as written → an int or a ``Distribution`` (``ValueError`` in one line otherwise)."""
    if isinstance(value, _Distribution) or not isinstance(value, dict):
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"a count cannot be negative ({value})")
        return value
    keys = set(value)
    if "weights" in keys:
        form: type[_Distribution] = Weighted
    elif "zipf" in keys:
        form = Zipf
    elif keys and keys <= {"min", "max"}:
        form = Uniform
    else:
        raise ValueError(f"{_FORMS}; got the keys {', '.join(map(str, keys)) or '(none)'}")
    try:
        return form.model_validate(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] != "value_error":  # a field's own type error: name the field
            where = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] == "extra_forbidden":
                message = f"{where}: not a field of this form ({_FORMS})"
            else:
                message = f"{where}: {message[:1].lower()}{message[1:]}"
        raise ValueError(message) from None


def mean_of(count: Count) -> float:
    """The expected value of a count (the count itself when fixed)."""
    return float(count) if isinstance(count, int) else count.mean
