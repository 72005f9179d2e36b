"""The course's builders and ``SeedsScenario`` outside Locust, on a stand process: both transports, bad input.

Settings come from a ``.env`` in the working directory, as in a course project.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from seeding import (
    DumpError,
    PlanError,
    SeedAccountsPlan,
    SeedCardsPlan,
    SeedOperationsPlan,
    SeedsBuilder,
    SeedsPlan,
    SeedsScenario,
    SeedUsersPlan,
    build_grpc_seeds_builder,
    build_http_seeds_builder,
    load_seeds_result,
    save_seeds_result,
    write_dump,
)
from seeding.dumps._index import index_path
from seeding.stand import StandProcess

pytestmark = pytest.mark.timeout(90)

PLAN = SeedsPlan(
    users=SeedUsersPlan(
        count=3,
        debit_card_accounts=SeedAccountsPlan(
            count=1, virtual_cards=SeedCardsPlan(count=1), top_up_operations=SeedOperationsPlan(count=1)
        ),
    )
)


@pytest.fixture(scope="module")
def stand() -> Iterator[StandProcess]:
    with StandProcess() as process:
        yield process


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stand: StandProcess) -> Path:
    """A project directory with the course's ``.env``, as the working directory."""
    host, port = stand.grpc_target.rsplit(":", 1)
    (tmp_path / ".env").write_text(
        f'GATEWAY_HTTP_CLIENT.URL="{stand.http_url}"\nGATEWAY_GRPC_CLIENT.HOST="{host}"\nGATEWAY_GRPC_CLIENT.PORT={port}\n'
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


class DebitCardSeedsScenario(SeedsScenario):
    @property
    def plan(self) -> SeedsPlan:
        return PLAN

    @property
    def scenario(self) -> str:
        return "debit_card"


@pytest.mark.parametrize("factory", [build_grpc_seeds_builder, build_http_seeds_builder])
def test_both_builders_seed_from_the_env_and_the_result_saves_under_the_scenario(project: Path, factory):
    result = factory().build(PLAN)

    assert len(result.users) == 3
    assert all(len(user.debit_card_accounts[0].top_up_operations) == 1 for user in result.users)
    save_seeds_result(result=result, scenario="mine")
    loaded = load_seeds_result(scenario="mine")
    assert [u.user_id for u in loaded.users] == [u.user_id for u in result.users]
    assert loaded.get_next_user().user_id == result.users[0].user_id


def test_a_scenario_reuses_a_dump_of_its_shape_and_saves_what_it_is_given(project: Path):
    scenario = DebitCardSeedsScenario()
    scenario.build()
    first = scenario.load()
    assert len(first.users) == 3
    scenario.build()  # the course seeded anew on every build; a dump of the plan's shape is reused instead
    second = scenario.load()
    assert [u.user_id for u in first.users] == [u.user_id for u in second.users]
    scenario.save(first)
    assert [u.user_id for u in scenario.load().users] == [u.user_id for u in first.users]


class PathSeedsScenario(DebitCardSeedsScenario):
    @property
    def scenario(self) -> str:
        return "../../escaped"


class DictPlanSeedsScenario(DebitCardSeedsScenario):
    @property
    def plan(self) -> SeedsPlan:
        return {"users": {"count": 1}}  # type: ignore[return-value]


BAD = [
    # (case, call, exception, words the one line holds); nothing may be written anywhere
    ("scenario is a path", lambda: PathSeedsScenario().build(), PlanError, "not a plain file name"),
    ("scenario is empty", lambda: SeedsBuilder("grpc").seed(PLAN, ""), PlanError, "scenario ''"),
    ("scenario has a newline", lambda: SeedsBuilder("grpc").seed(PLAN, "a\nb"), PlanError, "not a plain file name"),
    ("plan is a dict", lambda: build_grpc_seeds_builder().build({"users": 1}), PlanError, "SeedsPlan"),  # type: ignore[arg-type]
    ("scenario plan is a dict", lambda: DictPlanSeedsScenario().build(), PlanError, "SeedsPlan"),
    ("unknown transport", lambda: SeedsBuilder("ftp"), ValueError, "'ftp'"),  # type: ignore[arg-type]
    ("never built", lambda: DebitCardSeedsScenario().load(), DumpError, "debit_card_seeds.json"),
]


@pytest.mark.parametrize(("case", "call", "error", "words"), BAD, ids=[row[0] for row in BAD])
def test_bad_input_is_one_line_and_writes_nothing(project: Path, case, call, error, words):
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert words in message and message.count("\n") == message.count("a\nb"), message
    assert not (project / "dumps").exists() or not list((project / "dumps").rglob("*.json"))
    assert not (Path(tempfile.gettempdir()).parent / "escaped.json").exists(), "a plan file written outside"


def test_build_leaves_neither_the_dump_nor_its_index_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big plan's build dump gets an index: both go once the result is in memory."""
    made: list[Path] = []
    users5 = [{"user_id": f"user-{i}"} for i in range(5)]

    def seed(self: SeedsBuilder, plan: SeedsPlan, scenario: str, *, dumps_dir: Path | None = None) -> Path:
        made.append(write_dump(Path(dumps_dir or tmp_path) / f"{scenario}_seeds.json", {}, users5, index=True))
        return made[-1]

    monkeypatch.setattr(SeedsBuilder, "seed", seed)
    result = SeedsBuilder("grpc", dumps_dir=tmp_path).build(PLAN)
    assert [u.user_id for u in result.users] == [u["user_id"] for u in users5]
    assert made and not made[0].exists() and not index_path(made[0]).exists()
