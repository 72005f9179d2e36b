"""Other course locustfiles, run by Locust against a stand process: what each virtual user got.

Beside ``test_course_project.py`` (the scenario pattern under ``--processes 2`` over a stale dump):
the first run of a fresh project (no dump yet) on a local runner and on two workers; the older
pattern that loads with ``load_seeds_result(scenario=…)`` directly; and a ``load()`` that cannot be
served across processes (in ``on_start``, after the test started), which says so in one line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seeding import load_seeds_result
from seeding.stand import StandProcess

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
USERS = 4

SCENARIO = textwrap.dedent(
    f"""
    from seeding import SeedAccountsPlan, SeedsPlan, SeedsScenario, SeedUsersPlan


    class GetAccountsSeedsScenario(SeedsScenario):
        @property
        def plan(self) -> SeedsPlan:
            return SeedsPlan(users=SeedUsersPlan(count={USERS}, deposit_accounts=SeedAccountsPlan(count=1)))

        @property
        def scenario(self) -> str:
            return "get_accounts"
    """
)

HEAD = textwrap.dedent(
    """
    import os

    from locust import User, constant, events, task
    from locust.runners import LocalRunner, MasterRunner

    from seeding import SeedsResult, build_grpc_seeds_builder, load_seeds_result, save_seeds_result
    from seeds.scenarios.get_accounts import GetAccountsSeedsScenario

    scenario = GetAccountsSeedsScenario()


    def record(user_id):
        with open(os.path.join(os.environ["RECORDS"], f"{os.getpid()}.txt"), "a") as records:
            records.write(user_id + "\\n")
    """
)

INIT = {
    "scenario": """
@events.init.add_listener
def init(environment, **kwargs):
    if isinstance(environment.runner, (MasterRunner, LocalRunner)):
        scenario.build()
    environment.seeds = scenario.load()
""",
    "dump functions": """
@events.init.add_listener
def init(environment, **kwargs):
    if isinstance(environment.runner, (MasterRunner, LocalRunner)):
        result = build_grpc_seeds_builder().build(scenario.plan)
        save_seeds_result(result=result, scenario="get_accounts")
    environment.seeds = load_seeds_result(scenario="get_accounts")
""",
    "count at init": """
@events.init.add_listener
def init(environment, **kwargs):
    if isinstance(environment.runner, (MasterRunner, LocalRunner)):
        scenario.build()
    environment.seeds = scenario.load()
    if isinstance(environment.runner, (MasterRunner, LocalRunner)):
        print(f"init sees {len(environment.seeds.users)} seeded users", flush=True)
""",
    "load in on_start": """
@events.init.add_listener
def init(environment, **kwargs):
    if isinstance(environment.runner, (MasterRunner, LocalRunner)):
        scenario.build()
""",
}

USER = """
class AccountsUser(User):
    wait_time = constant(0.2)

    def on_start(self):
        seeds = self.environment.seeds if hasattr(self.environment, "seeds") else scenario.load()
        self.seed_user = seeds.get_next_user()
        record(self.seed_user.user_id)

    @task
    def idle(self):
        pass
"""


@pytest.fixture(scope="module")
def stand() -> Iterator[StandProcess]:
    with StandProcess() as process:
        yield process


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_project(project: Path, stand: StandProcess, init: str) -> dict[str, str]:
    (project / "seeds" / "scenarios").mkdir(parents=True)
    (project / "seeds" / "__init__.py").touch()
    (project / "seeds" / "scenarios" / "__init__.py").touch()
    (project / "seeds" / "scenarios" / "get_accounts.py").write_text(SCENARIO)
    (project / "locustfile.py").write_text(HEAD + INIT[init] + USER)
    host, port = stand.grpc_target.rsplit(":", 1)
    (project / ".env").write_text(f"GATEWAY_GRPC_CLIENT.HOST={host}\nGATEWAY_GRPC_CLIENT.PORT={port}\n")
    (project / "records").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "SEEDING"))}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", RECORDS=str(project / "records"))
    return env


def run_locust(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    port = _free_port()
    master = ["--master-bind-host=127.0.0.1", f"--master-bind-port={port}", "--master-host=127.0.0.1"]
    command = [sys.executable, "-m", "locust", "-f", "locustfile.py", "--headless", "-r", "50", "-t", "3s"]
    process = subprocess.Popen(
        [*command, "--only-summary", *master, f"--master-port={port}", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # forked workers die with it on timeout
    )
    try:
        out, err = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def handed_out(project: Path) -> dict[str, list[str]]:
    return {f.stem: f.read_text().split() for f in (project / "records").glob("*.txt")}


@pytest.mark.parametrize("init", ["scenario", "dump functions"])
@pytest.mark.parametrize("processes", [[], ["--processes", "2"]], ids=["local runner", "two workers"])
def test_a_fresh_project_seeds_on_its_first_run_and_hands_each_user_once(
    stand: StandProcess, tmp_path: Path, init: str, processes: list[str]
):
    env = make_project(tmp_path, stand, init)  # no dumps/ at all: workers load() long before it exists
    done = run_locust(tmp_path, env, *processes, "-u", str(USERS))

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    # Workers greet the master while it seeds (in its init), before it knows the dump ("dump functions"
    # names it only when it saves): every greeting is still heard, none logged as unknown.
    assert "Unknown message type" not in done.stderr, done.stderr[-3000:]
    seeded = [user.user_id for user in load_seeds_result(scenario="get_accounts", dumps_dir=tmp_path / "dumps").users]
    handed = handed_out(tmp_path)
    everyone = [user_id for ids in handed.values() for user_id in ids]
    assert sorted(everyone) == sorted(seeded), f"each seeded user to exactly one virtual user: {handed}"
    assert len(handed) == (2 if processes else 1), handed


def test_a_load_after_the_test_started_says_so_in_one_line(stand: StandProcess, tmp_path: Path):
    env = make_project(tmp_path, stand, "load in on_start")
    done = run_locust(tmp_path, env, "-u", "2")

    warnings = [line for line in done.stderr.splitlines() if "ran after the test started" in line]
    assert len(warnings) == 1, done.stderr[-3000:]
    assert "@events.init listener" in warnings[0] and "get_accounts_seeds.json" in warnings[0]


@pytest.mark.parametrize("processes", [[], ["--processes", "2"]], ids=["local runner", "two workers"])
def test_the_seeds_can_be_counted_at_init_on_the_master_or_local_runner(
    stand: StandProcess, tmp_path: Path, processes: list[str]
):
    """Before the test starts nothing is served yet; reading them there must not wait for a start that cannot come."""
    env = make_project(tmp_path, stand, "count at init")
    started = time.monotonic()
    done = run_locust(tmp_path, env, *processes, "-u", str(USERS))

    assert done.returncode == 0, done.stderr[-3000:]
    assert f"init sees {USERS} seeded users" in done.stdout, done.stdout[-2000:]
    assert time.monotonic() - started < 45, "init waited for seeds that only arrive after it returns"
    handed = handed_out(tmp_path)
    assert len([user_id for ids in handed.values() for user_id in ids]) == USERS
    assert len({user_id for ids in handed.values() for user_id in ids}) == USERS
