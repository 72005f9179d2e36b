"""Seeding configured by Locust options (``.conf``, ``LOCUST_SEEDS_*``, flags): real headless Locust runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from seeding import DumpWriter, dump_path, open_dump, read_meta

from .conftest import locust_env
from .test_locust_runs import RUN, assert_unique_and_true, records, seeding_lines

pytestmark = pytest.mark.timeout(120)


def test_conf_seeds_a_plan_sized_to_the_run_and_processes_share_it(
    stand_process, run_locust, data_dir, scenario_plan, tmp_path
):
    (tmp_path / "records").mkdir()
    conf = tmp_path / "run.conf"
    conf.write_text(
        f"locustfile = {data_dir / 'options_locustfile.py'}\n"
        f"host = {stand_process.http_url}\n"
        "users = 7\n"
        "processes = 2\n"
        f"seeds-plan = {scenario_plan}\n"
        "seeds-users = run\n"
        "seeds-transport = http\n"
        "seeds-max-age = 1d\n"
    )
    env = {"SEEDS_RECORDS": tmp_path / "records", "LOCUST_SEEDS_DUMPS_DIR": tmp_path / "seeded"}

    done = run_locust(["--config", str(conf), *RUN], env=env)

    assert done.returncode == 0, done.stderr[-3000:]
    dump = tmp_path / "seeded" / "scenario-11-2_seeds.json"  # the dumps dir came from LOCUST_SEEDS_DUMPS_DIR
    assert len(open_dump(dump).users) == 7  # the plan's 10 users, sized to --users
    meta = read_meta(dump)
    assert meta is not None and meta["target"] == stand_process.http_url and meta["transport"] == "http"
    assert_unique_and_true(records(tmp_path / "records"), dump, 7)
    assert not any("Unknown message type" in line for line in done.stderr.splitlines())

    # The same run again reuses the dump; twice the users (a factor, as a flag) re-seeds it.
    for path in (tmp_path / "records").iterdir():
        path.unlink()
    again = run_locust(["--config", str(conf), *RUN], env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert any("reusing" in line for line in seeding_lines(again.stderr))
    assert len(records(tmp_path / "records")) == 7
    bigger = run_locust(["--config", str(conf), *RUN, "--seeds-users", "run*2"], env=env)
    assert bigger.returncode == 0, bigger.stderr[-3000:]
    assert len(open_dump(dump).users) == 14


BAD_OPTIONS = [
    (["--seeds-strategy", "bogus"], {}, 2, "'bogus' is not a strategy: unique, shuffle, cycle, random"),
    ([], {"LOCUST_SEEDS_STRATEGY": "bogus"}, 2, "'bogus' is not a strategy"),
    (["--seeds-max-age", "1y"], {}, 2, "'1y' is not a duration such as 90, 30m, 12h or 1d"),
    (["--seeds-max-age", "0"], {}, 2, "'0' is not a duration"),
    (["--seeds-users", "0"], {}, 2, "'0' is not a user count"),
    (["--seeds-users", "run*0"], {}, 2, "'run*0' is not a user count"),
    (["--seeds-users", "runs"], {}, 2, "'runs' is not a user count"),
    (["--seeds-transport", "smtp"], {}, 2, "'smtp' is not a transport: grpc or http"),
    (["--seeds-seed", "x"], {}, 2, "'x' is not a whole number"),
    (["--seeds-when-empty", "later"], {}, 2, "when_empty 'later': expected stop, wait:SECONDS, cycle or warn"),
    (["--seeds-when-empty", "wait:0"], {}, 2, "when_empty 'wait:0': wait takes above 0 and at most 3600"),
    ([], {"LOCUST_SEEDS_WHEN_EMPTY": "wait:x"}, 2, "wait needs a number of seconds"),
    (["--seeds-seed", str(2**70)], {}, 2, "is not a whole number within ±9223372036854775807"),
    (["--seeds-lease-ttl", "0"], {}, 2, "'0': a lease lasts at least 0.1 and at most 86400 seconds"),
    (["--seeds-lease-ttl", "-5"], {}, 2, "'-5': a lease lasts at least 0.1 and at most 86400 seconds"),
    (["--seeds-lease-ttl", "86401"], {}, 2, "'86401': a lease lasts at least 0.1 and at most 86400 seconds"),
    (["--seeds-lease-ttl", "1e-300"], {}, 2, "'1e-300': a lease lasts at least 0.1"),  # renewing, and nothing else
    (["--seeds-lease-ttl", "nan"], {}, 2, "'nan': a lease lasts at least 0.1"),
    ([], {"LOCUST_SEEDS_LEASE_TTL": "soon"}, 2, "'soon' is not a number of seconds"),
    (
        ["--seeds-strategy", "lease", "--seeds-when-empty", "cycle"],
        {},
        1,
        "--seeds-when-empty cycle: strategy 'lease' holds each user exclusively, so it takes stop or wait:SECONDS",
    ),
    (["--seeds-max-age", "99999999999d"], {}, 2, "'99999999999d' is longer than 100 years (36500d)"),
    ([], {"LOCUST_SEEDS_MAX_AGE": "99999999999d"}, 2, "is longer than 100 years"),
    ([], {"LOCUST_SEEDS_SEED": str(2**70)}, 2, "is not a whole number within"),
    (["--seeds-timeout", "-1"], {}, 2, "'-1' is not a number of seconds above 0"),
    (["--seeds-rate", "0"], {}, 2, "'0' is not a rate: calls per second, at least 0.01 and at most 1e+06"),
    (["--seeds-rate", "0.001"], {}, 2, "'0.001' is not a rate"),
    (["--seeds-rate", "fast"], {}, 2, "'fast' is not a rate"),
    (["--seeds-rate", "1e9"], {}, 2, "'1e9' is not a rate"),
    ([], {"LOCUST_SEEDS_RATE": "nan"}, 2, "'nan' is not a rate"),
    (["--seeds-plan", "no-such-plan"], {}, 1, "no-such-plan: no such plan file (nor plans/no-such-plan.yaml)"),
    (["--seeds-requires", "debit_card_acounts"], {}, 1, "unknown account kind 'debit_card_acounts'"),
    (["--seeds-users", "200000000"], {}, 1, "at most 100,000,000 are seeded in one plan"),
]
# Each row's whole command line in a real Locust process: the first of each kind (flag, environment)
# and every row refused after parsing (exit 1, at test start). The parser's rows run all at once in
# one Locust process as well (test_bad_seeding_options_in_locusts_parser).
REAL_RUNS = [row for row in BAD_OPTIONS if row[2] == 1] + [BAD_OPTIONS[0], BAD_OPTIONS[1]]


@pytest.mark.parametrize(("args", "env", "code", "expected"), REAL_RUNS, ids=lambda value: str(value)[:40])
def test_bad_seeding_options(run_locust, data_dir, scenario_plan, tmp_path, args, env, code, expected):
    plan = [] if "--seeds-plan" in args else ["--seeds-plan", str(scenario_plan)]
    done = run_locust(
        ["-f", str(data_dir / "options_locustfile.py"), *RUN, "-u", "1", "--host", "http://127.0.0.1:9", *plan, *args],
        env={"SEEDS_RECORDS": tmp_path, **env},
    )
    assert done.returncode == code, done.stderr[-3000:]
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("*.txt")), "no virtual user ran"


_TTL_PROBE = """
import json, sys
from locust.argument_parser import get_parser
from locust.env import Environment
from seeding.locust import _options

parser = get_parser()  # with the seeding group: importing seeding.locust listens to init_command_line_parser
environment = Environment(parsed_options=parser.parse_args(["-f", "locustfile.py", *sys.argv[1:]]))
_options.on_init(environment)
feeders = [_options.configured_feeder(), _options.configured_feeder("gold")]
print(json.dumps([[feeder.strategy, feeder.lease_ttl] for feeder in feeders]))
"""


@pytest.mark.parametrize(
    ("args", "ttl"), [([], 30.0), (["--seeds-lease-ttl", "7"], 7.0), (["--seeds-lease-ttl=0.5"], 0.5)]
)
def test_the_lease_ttl_reaches_every_feeder_the_options_make(tmp_path, args, ttl):
    """Locust's own parser with the seeding group, then the ``init`` listener, as a run does (in a subprocess:
    importing Locust monkey-patches the process)."""
    with DumpWriter(dump_path("ttl", tmp_path), {"scenario": "ttl"}) as writer:
        writer.write({"user_id": "u-0", "debit_card_accounts": []})
    flags = ["--seeds-dump", str(writer.path), "--seeds-strategy", "lease", "--seeds-profile", "gold", *args]
    done = subprocess.run(
        [sys.executable, "-c", _TTL_PROBE, *flags], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == [["lease", ttl], ["lease", ttl]]


def test_seeds_rate_caps_the_calls_per_second_of_the_seeding(
    stand_process, run_locust, data_dir, scenario_plan, tmp_path
):
    # 4 users, 60 calls: at most 30 a second takes 2 s; the stand answers hundreds a second uncapped.
    (tmp_path / "records").mkdir()
    args = ["-f", str(data_dir / "options_locustfile.py"), *RUN, "-u", "2", "--host", stand_process.http_url]
    args += ["--seeds-plan", str(scenario_plan), "--seeds-users", "4", "--seeds-transport", "http"]
    args += ["--seeds-dumps-dir", str(tmp_path / "seeded"), "--seeds-rate", "30"]

    done = run_locust(args, env={"SEEDS_RECORDS": tmp_path / "records"})

    assert done.returncode == 0, done.stderr[-3000:]
    summary = next(line for line in seeding_lines(done.stderr) if " calls/s" in line)
    rate = float(re.search(r"\(60 calls, ([\d.]+) calls/s", summary)[1])  # type: ignore[index]
    assert rate <= 30 * 1.1, summary


def test_bad_seeding_options_in_locusts_parser(data_dir, scenario_plan, tmp_path):
    """Every row Locust's parser refuses: exit 2 and one line naming the option, all rows in one process."""
    parsed = [row for row in BAD_OPTIONS if row[2] == 2]
    rows = [
        [[*args, "--seeds-plan", str(scenario_plan)], {k: str(v) for k, v in env.items()}] for args, env, *_ in parsed
    ]
    done = subprocess.run(
        [sys.executable, str(data_dir / "parse_rows.py"), json.dumps(rows), str(data_dir / "options_locustfile.py")],
        env=locust_env({"SEEDS_RECORDS": tmp_path}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.splitlines()[-1])
    assert len(results) == len(parsed) > 10
    for (args, env, _, expected), (code, stderr) in zip(parsed, results, strict=True):
        errors = [line for line in stderr.splitlines() if ": error: " in line]
        assert code == 2 and len(errors) == 1 and expected in errors[0], (args, env, stderr)
        assert "Traceback" not in stderr, stderr
