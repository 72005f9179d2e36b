"""Bad values of the limit's options (``--latency-budget``, ``--rate`` and their settings), through the CLI.

Each row runs ``python -m seeding`` in a subprocess with ``--dry-run`` (nothing is sent): a bad
value is one line on stderr naming the option or setting, exit status 2, no traceback; the good
spellings pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
PLAN = str(PROJECT / "plans" / "scenario-11-2.yaml")

BAD = [
    # (id, extra arguments, environment, a piece of the one line)
    ("rate-0", ["--rate", "0"], {}, "--rate: must be at least 0.01 and at most 1e+06 (calls per second), got 0"),
    # a call every 31 years: the run would look hung
    (
        "rate-tiny",
        ["--rate", "1e-9"],
        {},
        "--rate: must be at least 0.01 and at most 1e+06 (calls per second), got 1e-9",
    ),
    ("rate-negative", ["--rate=-5"], {}, "--rate: must be at least 0.01"),
    ("rate-nan", ["--rate", "nan"], {}, "--rate: must be a finite number at least 0.01"),
    ("rate-inf", ["--rate", "inf"], {}, "--rate: must be a finite number at least 0.01"),
    ("rate-text", ["--rate", "fast"], {}, "--rate: 'fast' is not a number"),
    ("rate-empty", ["--rate", ""], {}, "--rate: '' is not a number"),
    ("rate-huge", ["--rate", "1e300"], {}, "--rate: must be at least 0.01 and at most 1e+06"),
    ("budget-below-1", ["--latency-budget", "0.9"], {}, "--latency-budget: must be within 1-1000, got 0.9"),
    ("budget-0", ["--latency-budget", "0"], {}, "--latency-budget: must be within 1-1000"),
    ("budget-negative", ["--latency-budget=-1.5"], {}, "--latency-budget: must be within 1-1000"),
    ("budget-nan", ["--latency-budget", "nan"], {}, "--latency-budget: must be a finite number"),
    ("budget-inf", ["--latency-budget", "inf"], {}, "--latency-budget: must be a finite number"),
    ("budget-huge", ["--latency-budget", "1e9"], {}, "--latency-budget: must be within 1-1000"),
    ("budget-text", ["--latency-budget", "fast"], {}, "--latency-budget: 'fast' is not a number"),
    ("budget-off-typo", ["--latency-budget", "of"], {}, "--latency-budget: 'of' is not a number"),
    ("env-rate-0", [], {"SEEDING_RATE": "0"}, "SEEDING.RATE"),
    ("env-rate-nan", [], {"SEEDING_RATE": "nan"}, "SEEDING.RATE"),
    ("env-rate-tiny", [], {"SEEDING_RATE": "0.001"}, "SEEDING.RATE"),
    ("env-rate-text", [], {"SEEDING_RATE": "lots"}, "SEEDING.RATE"),
    ("env-budget-low", [], {"SEEDING_LATENCY_BUDGET": "0.5"}, "SEEDING.LATENCY_BUDGET"),
    ("env-budget-inf", [], {"SEEDING_LATENCY_BUDGET": "inf"}, "SEEDING.LATENCY_BUDGET"),
    ("env-budget-text", [], {"SEEDING_LATENCY_BUDGET": "relaxed"}, "SEEDING.LATENCY_BUDGET"),
]
GOOD = [
    ("rate", ["--rate", "200"], {}),
    ("rate-fraction", ["--rate", "0.5"], {}),
    ("budget", ["--latency-budget", "2"], {}),
    ("budget-off", ["--latency-budget", "OFF"], {}),
    ("env", [], {"SEEDING_RATE": "50", "SEEDING_LATENCY_BUDGET": "off"}),
]


def seeding(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("SEEDING")}
    return subprocess.run(
        [sys.executable, "-m", "seeding", PLAN, "--dry-run", "--no-progress", *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(PROJECT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("args", "env", "says"), [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_a_bad_value_is_one_line_and_exit_2(args: list[str], env: dict[str, str], says: str, tmp_path: Path) -> None:
    done = seeding(args, env, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert says in done.stderr, done.stderr


@pytest.mark.parametrize(("args", "env"), [row[1:] for row in GOOD], ids=[row[0] for row in GOOD])
def test_good_values_pass(args: list[str], env: dict[str, str], tmp_path: Path) -> None:
    done = seeding(args, env, tmp_path)
    assert done.returncode == 0 and not done.stderr, done.stderr
