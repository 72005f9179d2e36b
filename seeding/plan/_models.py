"""Seeding plans: how many users, which accounts per user, which cards and operations per account.

The model names, nesting and ``count`` fields are the course's (``SeedsPlan(users=SeedUsersPlan(
count=…, debit_card_accounts=SeedAccountsPlan(count=…, physical_cards=SeedCardsPlan(count=…),
top_up_operations=SeedOperationsPlan(count=…)))))``), so plans written in Python keep working.
Plans are also read from YAML or JSON files (``load_plan``), where a bare number is short for
``{count: N}``. Every invalid plan becomes a one-line ``PlanError`` naming the file, the line where
known, and the field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import orjson
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from .._exceptions import PlanError
from ..contract import AccountType, CardType, OperationStatus, OperationType
from ..files import read_regular
from ._distributions import Count, Distribution, count_value, mean_of, refuse_booleans

__all__ = [
    "ACCOUNT_FIELDS",
    "CARD_FIELDS",
    "DEFAULT_SCENARIO",
    "OPERATION_FIELDS",
    "AmountRange",
    "OperationOptions",
    "SeedAccountsPlan",
    "SeedCardsPlan",
    "SeedOperationsPlan",
    "SeedUserProfile",
    "SeedUsersPlan",
    "SeedsPlan",
    "did_you_mean",
    "find_plan",
    "load_plan",
    "parse_plan",
]

# The data that drives the builder: plan field → what it creates, in the order the dump lists them.
ACCOUNT_FIELDS: dict[str, AccountType] = {
    "deposit_accounts": AccountType.DEPOSIT,
    "savings_accounts": AccountType.SAVINGS,
    "debit_card_accounts": AccountType.DEBIT_CARD,
    "credit_card_accounts": AccountType.CREDIT_CARD,
}
CARD_FIELDS: dict[str, CardType] = {
    "physical_cards": CardType.PHYSICAL,
    "virtual_cards": CardType.VIRTUAL,
}
OPERATION_FIELDS: dict[str, OperationType] = {
    "top_up_operations": OperationType.TOP_UP,
    "purchase_operations": OperationType.PURCHASE,
    "transfer_operations": OperationType.TRANSFER,
    "cash_withdrawal_operations": OperationType.CASH_WITHDRAWAL,
    "fee_operations": OperationType.FEE,
    "cashback_operations": OperationType.CASHBACK,
    "bill_payment_operations": OperationType.BILL_PAYMENT,
}

DEFAULT_PURCHASE_CATEGORIES = (
    "supermarkets",
    "restaurants",
    "taxi",
    "pharmacy",
    "clothing",
    "electronics",
    "gas_stations",
    "entertainment",
)

_SCENARIO = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # matched whole: "evil\n" is not a file name
SCENARIO_NAME = _SCENARIO  # the same rule for names that arrive outside a plan (the service's routes)
# A plan beyond this is a typo (users: 1000000000): seeding it would take days and the dump terabytes.
MAX_PLAN_BYTES = 4 << 20  # a plan is a few hundred bytes; a file this large is something else
MAX_ENTITIES = 100_000_000
# Amounts go over gRPC as 32-bit floats and sum into balances: finite and far from overflow.
MAX_AMOUNT = 1_000_000_000.0
Amount = Annotated[float, Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)]
_SUB_FIELD = re.compile(r"^([a-z_]+(?:\.[a-z_0-9]+)*): (.*)$")


class _PlanModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans(cls, data: Any) -> Any:
        return refuse_booleans(data)


class _CountedPlan(_PlanModel):
    """A plan node with a ``count``; a bare number in a file means ``{count: N}``."""

    count: NonNegativeInt = Field(
        default=0, description="How many to create; a bare number in the file means ``{count: N}``."
    )

    @model_validator(mode="before")
    @classmethod
    def _number_is_count(cls, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool):
            return {"count": data}
        return data


class AmountRange(_PlanModel):
    """Operation amounts: uniform on ``[min, max]``, or log-normal with ``median``, clipped to it; rounded to kopecks.

    The log-normal's spread puts the farther of ``min`` and ``max`` at its 1st or 99th percentile.
    """

    min: Amount = Field(default=100.0, description="The smallest amount.")
    max: Amount = Field(default=5000.0, description="The largest amount.")
    median: Amount | None = Field(
        default=None,
        description="With it, amounts are log-normal around this median (clipped to min and max); without, uniform.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.median is not None and not self.min <= self.median <= self.max:
            raise ValueError(f"median: {self.median} is outside min-max ({self.min}-{self.max})")
        return self

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.median is None:  # a plan without medians dumps (and hashes) as it always did
            data.pop("median", None)
        return data


def _is_count_form(data: Any) -> bool:
    """``purchase_operations: {min: 1, max: 9}``: a node that is only a distribution is its count."""
    return isinstance(data, dict) and bool(data) and set(data) <= {"min", "max", "weights", "zipf"}


class _DrawnPlan(_PlanModel):
    """A plan node below the user level: its ``count`` is a number or a distribution drawn per holder."""

    count: Count = Field(
        default=0,
        description="How many per holder (accounts per user; cards or operations per account): "
        "a number, or a distribution drawn for each holder.",
    )

    @model_validator(mode="before")
    @classmethod
    def _number_is_count(cls, data: Any) -> Any:
        if (isinstance(data, int) and not isinstance(data, bool)) or _is_count_form(data):
            return {"count": data}
        return data

    @field_validator("count", mode="before")
    @classmethod
    def _count_form(cls, value: Any) -> Any:
        return count_value(value)

    @property
    def drawn(self) -> bool:
        """Whether this node's count is drawn (not a fixed number)."""
        return isinstance(self.count, Distribution)

    @property
    def fixed_count(self) -> int:
        """The count where only numbers reach: a plan without draws, or a shape already drawn for one user."""
        if isinstance(self.count, int):
            return self.count
        raise TypeError(f"a drawn count has no fixed number: {self.count!r}")


class SeedCardsPlan(_DrawnPlan):
    """How many cards of one type to issue on each account (beyond the two a card account opens with)."""


class SeedOperationsPlan(_DrawnPlan):
    """How many operations of one type to make on each account; may override the plan's defaults."""

    status: OperationStatus | None = Field(
        default=None, description="This type's status (default: ``operations.status``)."
    )
    amount: AmountRange | None = Field(
        default=None, description="This type's amounts (default: ``operations.amount``)."
    )


class SeedAccountsPlan(_DrawnPlan):
    """How many accounts of one kind to open per user, and what to create on each."""

    physical_cards: SeedCardsPlan = Field(
        default_factory=SeedCardsPlan,
        description="Physical cards to issue on each account (beyond the two a card account opens with).",
    )
    virtual_cards: SeedCardsPlan = Field(
        default_factory=SeedCardsPlan,
        description="Virtual cards to issue on each account (beyond the two a card account opens with).",
    )
    top_up_operations: SeedOperationsPlan = Field(
        default_factory=SeedOperationsPlan, description="Top-up operations to make on each account."
    )
    purchase_operations: SeedOperationsPlan = Field(
        default_factory=SeedOperationsPlan, description="Purchase operations to make on each account."
    )
    transfer_operations: SeedOperationsPlan = Field(
        default_factory=SeedOperationsPlan, description="Transfer operations to make on each account."
    )
    cash_withdrawal_operations: SeedOperationsPlan = Field(
        default_factory=SeedOperationsPlan, description="Cash withdrawal operations to make on each account."
    )
    fee_operations: SeedOperationsPlan = Field(
        default_factory=SeedOperationsPlan, description="Fee operations to make on each account."
    )
    cashback_operations: SeedOperationsPlan = Field(
        default_factory=SeedOperationsPlan, description="Cashback operations to make on each account."
    )
    bill_payment_operations: SeedOperationsPlan = Field(
        default_factory=SeedOperationsPlan, description="Bill payment operations to make on each account."
    )

    def cards(self) -> list[tuple[str, CardType, SeedCardsPlan]]:
        """``(field, card type, plan)`` for every card kind, in dump order."""
        return [(name, kind, getattr(self, name)) for name, kind in CARD_FIELDS.items()]

    def operations(self) -> list[tuple[str, OperationType, SeedOperationsPlan]]:
        """``(field, operation type, plan)`` for every operation kind, in dump order."""
        return [(name, kind, getattr(self, name)) for name, kind in OPERATION_FIELDS.items()]

    @property
    def cards_per_account(self) -> int:
        """Cards issued on each account (the expected number, rounded, when counts are drawn)."""
        return round(self.mean_cards)

    @property
    def operations_per_account(self) -> int:
        """Operations made on each account (the expected number, rounded, when counts are drawn)."""
        return round(self.mean_operations)

    @property
    def mean_cards(self) -> float:
        return sum(mean_of(plan.count) for _, _, plan in self.cards())

    @property
    def mean_operations(self) -> float:
        return sum(mean_of(plan.count) for _, _, plan in self.operations())

    @property
    def any_drawn(self) -> bool:
        """Whether any count on this node or below is drawn."""
        return self.drawn or any(plan.drawn for _, _, plan in [*self.cards(), *self.operations()])


class _UserShape(_PlanModel):
    """Which accounts a user gets: the users' own shape, or one profile's."""

    deposit_accounts: SeedAccountsPlan = Field(
        default_factory=SeedAccountsPlan,
        description="Deposit accounts to open per user, and what to create on each.",
    )
    savings_accounts: SeedAccountsPlan = Field(
        default_factory=SeedAccountsPlan,
        description="Savings accounts to open per user, and what to create on each.",
    )
    debit_card_accounts: SeedAccountsPlan = Field(
        default_factory=SeedAccountsPlan,
        description="Debit card accounts to open per user (each opens with two cards), and what to create on each.",
    )
    credit_card_accounts: SeedAccountsPlan = Field(
        default_factory=SeedAccountsPlan,
        description="Credit card accounts to open per user (each opens with two cards), and what to create on each.",
    )

    def accounts(self) -> list[tuple[str, AccountType, SeedAccountsPlan]]:
        """``(field, account type, plan)`` for every account kind, in dump order."""
        return [(name, kind, getattr(self, name)) for name, kind in ACCOUNT_FIELDS.items()]

    def mean_counts(self) -> dict[str, float]:
        """Accounts, cards and operations one user of this shape gets (expected values when drawn)."""
        accounts = cards = operations = 0.0
        for _, _, plan in self.accounts():
            number = mean_of(plan.count)
            accounts += number
            cards += number * plan.mean_cards
            operations += number * plan.mean_operations
        return {"accounts": accounts, "cards": cards, "operations": operations}

    @property
    def any_drawn(self) -> bool:
        return any(plan.any_drawn for _, _, plan in self.accounts())

    @model_validator(mode="after")
    def _cards_only_on_card_accounts(self) -> Self:
        for name, kind, plan in self.accounts():
            if kind.has_cards:
                continue
            asked = [f for f, _, p in [*plan.cards(), *plan.operations()] if p.count]
            if asked:
                # "<field>.<sub-field>: ..." lets error reports point at the offending key.
                raise ValueError(
                    f"{name}.{asked[0]}: {kind.value.lower()} accounts have no cards (the gateway refuses "
                    "to issue any), so they can have neither cards nor operations"
                )
        return self


_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class SeedUserProfile(_UserShape):
    """One kind of user: its ``name`` (in the dump and for consumers), its ``share`` of the users, its accounts."""

    name: str = Field(
        description="The profile's name, on its users in the dump and for consumers (``?profile=``); "
        "letters, digits, '.', '_', '-'."
    )
    share: float = Field(  # at most a billion: shares of 1e308 summed to infinity, and every share became 0
        gt=0,
        le=1e9,
        allow_inf_nan=False,
        description="Its share of the users, relative to the other profiles' (e.g. 9 and 1); at most 1e9.",
    )

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        if not _PROFILE_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a plain name (letters, digits, '.', '_', '-')")
        return name


class SeedUsersPlan(_CountedPlan, _UserShape):
    """How many users to create, and which accounts each gets (or ``profiles``: kinds of users with shares)."""

    profiles: list[SeedUserProfile] | None = Field(
        default=None,
        description="Kinds of users, each with its share of ``count`` and its own accounts (instead of those here).",
    )

    @model_validator(mode="after")
    def _profiles_hold_the_accounts(self) -> Self:
        if self.profiles is None:
            return self
        if not self.profiles:
            raise ValueError("profiles: list at least one profile (or leave profiles out)")
        beside = [name for name in ACCOUNT_FIELDS if name in self.model_fields_set]
        if beside:
            raise ValueError(
                f"{beside[0]}: with profiles, the accounts go inside each profile (users has only count and profiles)"
            )
        seen: set[str] = set()
        for number, profile in enumerate(self.profiles):
            if profile.name in seen:
                raise ValueError(f"profiles.{number}.name: {profile.name!r} names two profiles")
            seen.add(profile.name)
        return self

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.profiles is None:  # a plan without profiles dumps (and hashes) as it always did
            data.pop("profiles", None)
        else:  # the accounts are the profiles'
            for name in ACCOUNT_FIELDS:
                data.pop(name, None)
        return data

    def shapes(self) -> list[tuple[str | None, float, _UserShape]]:
        """``(profile name, share, shape)`` of every kind of user; one unnamed kind without profiles."""
        if self.profiles is None:
            return [(None, 1.0, self)]
        return [(profile.name, profile.share, profile) for profile in self.profiles]

    @property
    def profile_names(self) -> list[str]:
        return [profile.name for profile in self.profiles or ()]

    @property
    def drawn(self) -> bool:
        """Whether users differ: profiles, or a count drawn anywhere below the user level."""
        return self.profiles is not None or any(shape.any_drawn for _, _, shape in self.shapes())

    def mean_counts(self) -> dict[str, float]:
        """Accounts, cards and operations one user gets on average (over the profiles' shares)."""
        total = sum(share for _, share, _ in self.shapes())
        mean = {"accounts": 0.0, "cards": 0.0, "operations": 0.0}
        for _, share, shape in self.shapes():
            for kind, value in _UserShape.mean_counts(shape).items():
                mean[kind] += value * share / total
        return mean

    @property
    def entities_per_user(self) -> int:
        """Gateway entities one user stands for: itself, its accounts, their cards and operations.

        Exact for a plan whose users are all alike; the expected number, rounded, otherwise.
        """
        return round(1 + sum(self.mean_counts().values()))


class OperationOptions(_PlanModel):
    """Defaults for every operation of the plan."""

    status: OperationStatus = Field(
        default=OperationStatus.COMPLETED,
        description="The status operations are made with, unless their type sets one.",
    )
    amount: AmountRange = Field(
        default_factory=AmountRange, description="Operation amounts, unless an operation type sets its own."
    )
    purchase_categories: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PURCHASE_CATEGORIES),
        min_length=1,
        description="The categories purchase operations draw from.",
    )
    card: Literal["first", "round_robin"] = Field(
        default="first",
        description="Which card card operations go through: the account's first (as the course does), or "
        "each of its cards in turn (the two it opened with, then the issued ones).",
    )


DEFAULT_SCENARIO = "seeds"  # the dump name of a plan given neither a scenario nor a file name


class SeedsPlan(_PlanModel):
    """A whole plan; ``scenario`` names the dump (default: the plan file's stem)."""

    scenario: str | None = Field(
        default=None, description="The dump's name, ``<scenario>_seeds.json`` (default: the plan file's stem)."
    )
    users: SeedUsersPlan = Field(
        default_factory=SeedUsersPlan, description="How many users to create and what each gets."
    )
    operations: OperationOptions = Field(
        default_factory=OperationOptions, description="Defaults for every operation of the plan."
    )

    @field_validator("scenario")
    @classmethod
    def _scenario_is_a_file_name(cls, scenario: str | None) -> str | None:
        if scenario is not None and not _SCENARIO.fullmatch(scenario):
            raise ValueError(f"{scenario!r} is not a plain file name (letters, digits, '.', '_', '-')")
        return scenario

    @model_validator(mode="after")
    def _within_reach(self) -> Self:
        total = sum(self.totals().values())
        if total > MAX_ENTITIES:
            raise ValueError(
                f"users: the plan creates {total:,} entities in all (users, accounts, cards and operations); "
                f"at most {MAX_ENTITIES:,} are seeded in one plan"
            )
        return self

    @property
    def name(self) -> str:
        """The dump's name: ``scenario``, else one derived from the plan's hash (never a shared "seeds")."""
        return self.scenario or f"plan-{self.hash[:8]}"

    def with_users(self, count: int) -> SeedsPlan:
        """This plan with ``count`` users (``--users``, a Locust run's size); validated like any plan."""
        data = self.model_dump(mode="json")
        data["users"]["count"] = count
        try:
            return SeedsPlan.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise PlanError(f"{self.name}: with {count} users: {first['msg'].removeprefix('Value error, ')}") from None

    @property
    def hash(self) -> str:
        """A short digest of what the plan creates: same plan, same hash, whatever its file looked like."""
        body = orjson.dumps(self.model_dump(mode="json", exclude={"scenario"}), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(body).hexdigest()[:16]

    @property
    def shape_hash(self) -> str:
        """A short digest of what ONE user gets (everything but the count and the scenario).

        A dump fits a plan when their shapes (and seeds) agree; the count is compared apart, so a
        plan of 3,000 users grows a dump of 2,000 of the same shape instead of seeding it anew.
        Computed from the plan's model dump, so a field added to the plan is covered by itself.
        """
        data = self.model_dump(mode="json", exclude={"scenario": True, "users": {"count"}})
        body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(b"shape\0" + body).hexdigest()[:16]

    def totals(self, users: int | None = None) -> dict[str, int]:
        """How many users, accounts, cards and operations the plan creates in all (or for ``users`` of them).

        Exact when every user is alike; expected numbers, rounded, when counts are drawn or users
        have profiles (the preview draws them for the exact figures).
        """
        users = self.users.count if users is None else users
        if not self.users.drawn:
            accounts = cards = operations = 0
            for _, _, plan in self.users.accounts():
                accounts += users * plan.fixed_count
                cards += users * plan.fixed_count * plan.cards_per_account
                operations += users * plan.fixed_count * plan.operations_per_account
            return {"users": users, "accounts": accounts, "cards": cards, "operations": operations}
        return {"users": users, **{kind: round(users * mean) for kind, mean in self.users.mean_counts().items()}}


PLANS_DIR = Path("plans")
_PLAN_SUFFIXES = (".yaml", ".yml", ".json")


def find_plan(name: str | Path, plans_dir: str | Path = PLANS_DIR) -> Path:
    """A plan file by path, or by bare name: ``get-operations`` is ``plans/get-operations.yaml``.

    An existing file always wins; a bare name (no directory, no suffix) is looked up in
    ``plans_dir`` as ``.yaml``, ``.yml``, then ``.json``. Anything else comes back as it was, for
    ``load_plan`` to report.
    """
    path = Path(name)
    if path.exists() or path.suffix or len(path.parts) != 1:
        return path
    for suffix in _PLAN_SUFFIXES:
        candidate = Path(plans_dir) / f"{path.name}{suffix}"
        if candidate.is_file():
            return candidate
    return path


def _did_you_mean(path: Path) -> str:
    """``; did you mean 'get-operations'?`` when a plan nearby is spelled almost the same."""
    import difflib

    bare = not path.suffix and len(path.parts) == 1
    directory = PLANS_DIR if bare else path.parent
    try:
        names = sorted(
            (candidate.stem if bare else candidate.name)
            for candidate in directory.iterdir()
            if candidate.suffix in _PLAN_SUFFIXES and candidate.is_file()
        )
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)
    if not close:
        return ""
    shown = [name if bare else str(directory / name) for name in close]
    return "; did you mean " + " or ".join(repr(name) for name in shown) + "?"


def load_plan(path: str | Path) -> SeedsPlan:
    """Read and validate a plan file (YAML, or JSON by its ``.json`` suffix).

    The scenario defaults to the file's stem. Raises ``PlanError`` with one line naming the file.
    """
    path = Path(path)
    try:
        text = read_regular(path, what="a plan", error=PlanError, max_bytes=MAX_PLAN_BYTES).decode()
    except FileNotFoundError:
        bare = not path.suffix and len(path.parts) == 1
        hint = f" (nor {PLANS_DIR / path.name}.yaml)" if bare else ""
        raise PlanError(f"{path}: no such plan file{hint}{_did_you_mean(path)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: cannot read the plan: {exc}") from None
    return parse_plan(text, source=path)


def parse_plan(text: str, *, source: str | Path | None = None) -> SeedsPlan:
    """Validate plan text; ``source`` (a file path) names it in errors and gives the default scenario."""
    if source is not None:
        data_scenario: str | None = Path(source).stem
    else:
        data_scenario = None
    source = Path(source or "<plan>")
    is_json = source.suffix.lower() == ".json"
    data = _parse_json(text, source) if is_json else _parse_yaml(text, source)
    if data is None:
        raise PlanError(f"{source}: the plan is empty")
    if not isinstance(data, dict):
        raise PlanError(f"{source}: a plan is a mapping with 'users' at the top, not a {type(data).__name__}")
    if data_scenario is not None:
        data.setdefault("scenario", data_scenario)
    try:
        return SeedsPlan.model_validate(data)
    except ValidationError as exc:
        # The YAML's nodes (for line numbers) are composed only for a plan that needs them.
        root = None if is_json else yaml.compose(text, Loader=yaml.SafeLoader)
        raise PlanError(_describe(exc, source, root)) from None


def _parse_json(text: str, source: Path) -> Any:
    try:
        return orjson.loads(text)
    except RecursionError:
        raise PlanError(f"{source}: invalid JSON: nested too deep") from None
    except orjson.JSONDecodeError as exc:
        raise PlanError(f"{source}:{exc.lineno}: invalid JSON: {exc.msg}") from None


class _PlanLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping: YAML forbids it, PyYAML keeps the last
    (``count: 10`` then ``count: 20`` seeded 20). Keys a merge (``<<: *anchor``) brings in may be overridden."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key_node.value!r} is given twice (YAML keeps one; say it once)", key_node.start_mark
                )
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, source: Path) -> Any:
    try:
        return yaml.load(text, Loader=_PlanLoader)
    except RecursionError:  # "[" * 100_000: PyYAML's composer recurses per level
        raise PlanError(f"{source}: invalid YAML: nested too deep") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else str(source)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PlanError(f"{where}: invalid YAML: {problem}") from None


def _describe(exc: ValidationError, source: Path, root: yaml.Node | None) -> str:
    """One line for all of a ValidationError: ``file:line: field.path: what is wrong``."""
    parts = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        field = ".".join(loc) or "(plan)"
        if error["type"] == "extra_forbidden":
            message = f"unknown field{_suggestion(loc)}"
        else:
            message = error["msg"].removeprefix("Value error, ")
            if sub := _SUB_FIELD.match(message):
                loc += sub.group(1).split(".")
                field, message = ".".join(loc), sub.group(2)
            message = message[:1].lower() + message[1:]
        line = _yaml_line(root, loc)
        where = f"{source}:{line}" if line else str(source)
        parts.append(f"{where}: {field}: {message}")
    return "; ".join(parts)


def _suggestion(loc: list[str]) -> str:
    """`` (did you mean 'x'?)`` for an unknown key, from the fields valid where it stands."""
    model: type[BaseModel] = SeedsPlan
    for part in loc[:-1]:
        if part.isdigit():  # an item of a list (a profile): the same model
            continue
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        candidates = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
        candidates += [i for a in getattr(annotation, "__args__", ()) for i in getattr(a, "__args__", ())]  # list[X]
        candidates = [a for a in candidates if isinstance(a, type)]
        nested = [a for a in candidates if issubclass(a, BaseModel)]
        if not nested:
            return ""
        model = nested[0]
    return did_you_mean(loc[-1], model.model_fields)


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``valid``, else `` (valid: a, b, …)``."""
    import difflib  # an error's: a valid plan never gets here

    valid = list(valid)
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (valid: {', '.join(valid)})"


def _yaml_line(root: yaml.Node | None, loc: list[str]) -> int | None:
    """The 1-based line of the deepest YAML node on ``loc`` (the key itself for an unknown key)."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
            continue
        if not isinstance(node, yaml.MappingNode):
            break
        for key, value in node.value:
            if key.value == part:
                line, node = key.start_mark.line + 1, value
                break
        else:
            break
    return line
