"""A course project switches to ``seeding`` by changing its import lines, and nothing else.

Each test builds a small project as the course makes them, in a temporary directory: its own
top-level ``contracts`` package (stubs of the same protos; here its ``User`` even has a field ours
lacks, so a shared protobuf pool would collide), ``seeds/scenarios/…`` subclassing
``SeedsScenario``, a seeding script on ``build_grpc_seeds_builder``, a locustfile in the course's
style and a ``.env`` naming the gateway. ``seeding`` is on the path through a directory holding
only the package, as an installed wheel would be: our repository's own ``contracts`` is not.
Everything runs in subprocesses against a stand in its own process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from seeding import open_dump
from seeding.contract import message_class
from seeding.stand import StandProcess

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """
from seeding import SeedAccountsPlan, SeedCardsPlan, SeedOperationsPlan, SeedsPlan, SeedsScenario, SeedUsersPlan


class GetUserSeedsScenario(SeedsScenario):
    @property
    def plan(self) -> SeedsPlan:
        return SeedsPlan(
            users=SeedUsersPlan(
                count=6,
                credit_card_accounts=SeedAccountsPlan(
                    count=1,
                    physical_cards=SeedCardsPlan(count=1),
                    purchase_operations=SeedOperationsPlan(count=1),
                ),
            )
        )

    @property
    def scenario(self) -> str:
        return "get-user"
"""

SEEDING_SCRIPT = """
import asyncio
import sys

from seeding import build_grpc_seeds_builder, load_seeds_result, save_seeds_result
from seeds.scenarios.get_user import GetUserSeedsScenario

OWN_CONTRACTS = "--own-contracts" in sys.argv
if OWN_CONTRACTS:  # the project's own stubs, loaded first into protobuf's default pool
    from contracts.services.users.user_pb2 import User

    assert "course_only" in User.DESCRIPTOR.fields_by_name, "the project's contracts must be the ones imported"

scenario = GetUserSeedsScenario()
builder = build_grpc_seeds_builder()
result = builder.build(scenario.plan)  # the course's seeding script: build, then save
save_seeds_result(result=result, scenario="script")
scenario.build()  # SeedsScenario: seeds straight into dumps/get-user_seeds.json

# Our gRPC client in this very process, beside the project's stubs.
from seeding.gateway import GrpcGatewayClient


async def read_back(user_id):
    async with GrpcGatewayClient(sys.argv[1]) as client:
        return (await client.get_user(user_id)).id

user_id = scenario.load().users[5].user_id
assert asyncio.run(read_back(user_id)) == user_id
print(len(result.users), len(load_seeds_result(scenario="script").users), len(scenario.load().users))
"""

LOCUSTFILE = """
import os

from locust import User, constant, events, task
from locust.runners import LocalRunner, MasterRunner

from seeds.scenarios.get_user import GetUserSeedsScenario

scenario = GetUserSeedsScenario()


@events.init.add_listener
def init(environment, **kwargs):
    if isinstance(environment.runner, (MasterRunner, LocalRunner)):
        scenario.build()
    environment.seeds = scenario.load()


class GetUserUser(User):
    wait_time = constant(0.2)

    def on_start(self):
        self.seed_user = self.environment.seeds.get_next_user()
        with open(os.environ["RECORDS"], "a") as records:
            records.write(f"{os.getpid()} {self.seed_user.user_id}\\n")

    @task
    def idle(self):
        pass
"""


def _foreign_user_stub(project: Path) -> None:
    """Replace the project's ``user_pb2`` by one whose ``User`` has an extra field (its own protos drifted)."""
    file = descriptor_pb2.FileDescriptorProto()
    message_class("contracts.services.users.User").DESCRIPTOR.file.CopyToProto(file)
    user = next(m for m in file.message_type if m.name == "User")
    user.field.add(name="course_only", number=99, type=9, label=1, json_name="courseOnly")  # string
    (project / "contracts/services/users/user_pb2.py").write_text(
        textwrap.dedent(f"""\
            from google.protobuf import descriptor_pool
            from google.protobuf.internal import builder
            DESCRIPTOR = descriptor_pool.Default().AddSerializedFile({file.SerializeToString()!r})
            builder.BuildMessageAndEnumDescriptors(DESCRIPTOR, globals())
            builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, "contracts.services.users.user_pb2", globals())
            """)
    )


@pytest.fixture(scope="module")
def stand() -> Iterator[StandProcess]:
    with StandProcess() as stand:
        yield stand


def _make_project(root: Path, stand: StandProcess, *, own_contracts: bool) -> tuple[Path, dict[str, str]]:
    project = root / "project"
    (project / "seeds/scenarios").mkdir(parents=True)
    (project / "seeds/__init__.py").write_text("")
    (project / "seeds/scenarios/__init__.py").write_text("")
    (project / "seeds/scenarios/get_user.py").write_text(SCENARIO)
    (project / "build_seeds.py").write_text(SEEDING_SCRIPT)
    (project / "locustfile.py").write_text(LOCUSTFILE)
    host, port = stand.grpc_target.rsplit(":", 1)
    (project / ".env").write_text(
        f"GATEWAY_GRPC_CLIENT.HOST={host}\nGATEWAY_GRPC_CLIENT.PORT={port}\nGATEWAY_HTTP_CLIENT.URL={stand.http_url}\n"
    )
    if own_contracts:
        shutil.copytree(ROOT / "contracts", project / "contracts", ignore=shutil.ignore_patterns("__pycache__"))
        _foreign_user_stub(project)
    site = root / "site"  # seeding alone, as pip would install it: not our repository's contracts/
    site.mkdir()
    (site / "seeding").symlink_to(ROOT / "seeding")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "SEEDING"))}
    env.update(PYTHONPATH=str(site), PYTHONUNBUFFERED="1")
    return project, env


@pytest.mark.parametrize("own_contracts", [True, False], ids=["own contracts package", "no contracts package"])
def test_the_course_seeding_script_runs_with_changed_imports_only(
    stand: StandProcess, tmp_path: Path, own_contracts: bool
) -> None:
    project, env = _make_project(tmp_path, stand, own_contracts=own_contracts)
    args = [sys.executable, "build_seeds.py", stand.grpc_target, *(["--own-contracts"] if own_contracts else [])]
    done = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=90)

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["6", "6", "6"]
    seeds = open_dump(project / "dumps/get-user_seeds.json")
    account = seeds.users[0].credit_card_accounts[0]
    assert len(account.physical_cards) == 1 and len(account.purchase_operations) == 1
    assert not list((project / "dumps/.builds").glob("*_seeds.json")), "build(plan) leaves no dump behind"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_course_locustfile_seeds_once_and_hands_no_user_out_twice(stand: StandProcess, tmp_path: Path) -> None:
    project, env = _make_project(tmp_path, stand, own_contracts=True)
    # Yesterday's dump at the very path: workers call load() at init, before the master decides to reuse it.
    subprocess.run(
        [sys.executable, "-c", "from seeds.scenarios.get_user import GetUserSeedsScenario as S; S().build()"],
        cwd=project,
        env=env,
        check=True,
        timeout=60,
    )
    stale = {user.user_id for user in open_dump(project / "dumps/get-user_seeds.json").users}
    records = tmp_path / "records.txt"
    port = _free_port()
    master = ["--master-bind-host=127.0.0.1", f"--master-bind-port={port}", "--master-host=127.0.0.1"]
    run = ["--headless", "--processes", "2", "-u", "6", "-r", "50", "-t", "3s", "--only-summary"]
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", "locustfile.py", *run, *master, f"--master-port={port}"],
        cwd=project,
        env={**env, "RECORDS": str(records)},
        capture_output=True,
        text=True,
        timeout=90,
        start_new_session=True,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    fresh = {user.user_id for user in open_dump(project / "dumps/get-user_seeds.json").users}
    assert fresh == stale, "the master reused the dump of the plan's shape (seeded data is kept, not re-seeded)"
    rows = [line.split() for line in records.read_text().splitlines()]
    handed = [user_id for _, user_id in rows]
    assert len(handed) == 6 and set(handed) == fresh, "each seeded user went to exactly one virtual user"
    assert len({pid for pid, _ in rows}) == 2, "both worker processes served users"
    assert "Traceback" not in done.stderr


def _closed_port() -> int:
    return _free_port()  # bound and released: nothing listens there


BAD_ENVIRONMENTS = [
    # (.env text, what the one line says, the seeder's exit code; None: refused here, before any child runs)
    (lambda: f"GATEWAY_GRPC_CLIENT.HOST=127.0.0.1\nGATEWAY_GRPC_CLIENT.PORT={_closed_port()}\n", "cannot connect", 1),
    (lambda: "GATEWAY_GRPC_CLIENT.PORT=99999\n", "settings: GATEWAY_GRPC_CLIENT.PORT", None),
    (lambda: "GATEWAY_GRPC_CLIENT.HOST=\n", "settings: GATEWAY_GRPC_CLIENT", None),
    (lambda: "SEEDING.CONCURRENCY=many\n", "settings: SEEDING.CONCURRENCY", None),
]


@pytest.mark.parametrize(("dotenv", "says", "code"), BAD_ENVIRONMENTS, ids=["down", "port", "host", "concurrency"])
def test_a_build_that_cannot_run_raises_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dotenv, says: str, code: int | None
) -> None:
    from seeding import SeedingError, SeedsPlan, SeedUsersPlan, build_grpc_seeds_builder

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(dotenv())
    with pytest.raises(SeedingError) as info:
        build_grpc_seeds_builder().build(SeedsPlan(users=SeedUsersPlan(count=2)))
    message = str(info.value)
    assert "\n" not in message and says in message, message
    assert (f"(exit {code})" in message) if code else "(exit" not in message, message


def test_a_journal_of_another_plan_is_refused_in_one_line_and_kept(
    stand: StandProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seeding import SeedingError, SeedsPlan, SeedUsersPlan

    project, _ = _make_project(tmp_path, stand, own_contracts=False)
    monkeypatch.chdir(project)
    from seeding import SeedsBuilder

    builder = SeedsBuilder("grpc")
    builder.seed(SeedsPlan(users=SeedUsersPlan(count=2)), "x")
    journal = project / "dumps/x_seeds.journal"
    # An interrupted run of another plan left its journal: never thrown away silently.
    journal.write_text('{"plan_hash":"another","users":5,"transport":"grpc","target":"elsewhere:1"}\n{"i":0}\n')
    before = journal.read_bytes()
    with pytest.raises(SeedingError) as info:
        builder.seed(SeedsPlan(users=SeedUsersPlan(count=3)), "x")
    assert "\n" not in str(info.value) and "x_seeds.journal" in str(info.value)
    assert journal.read_bytes() == before


def test_load_of_a_scenario_never_built_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from seeding import DumpError, load_seeds_result

    monkeypatch.chdir(tmp_path)
    with pytest.raises((DumpError, FileNotFoundError)) as info:
        load_seeds_result(scenario="never-built")
    assert "never-built_seeds.json" in str(info.value)
