"""``--dry-run`` of a plan with profiles and drawn counts: per profile the users, per kind the spread per user."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from seeding.plan._models import load_plan
from seeding.plan._shapes import Shapes

from .test_cli_load_tester import PROJECT, cli, free_port

RETAIL = PROJECT / "plans" / "retail-mix.yaml"


def test_dry_run_of_retail_mix_shows_each_profile_and_the_spread_per_user(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    nowhere = f"127.0.0.1:{free_port()}"
    done = cli("retail-mix", "--dry-run", "--seed=1", f"--grpc-target={nowhere}", f"--report={report}", cwd=PROJECT)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "retail-mix: dry run, nothing sent" in out
    assert "per user (drawn with seed 1, as a run with --seed 1 draws them):" in out
    assert "profile light: 900 users" in out and "profile heavy: 100 users" in out
    # the numbers are those the run draws: user by user under seed 1
    plan = load_plan(RETAIL)
    shapes = Shapes(plan, 1)
    purchases = sorted(
        sum(a.purchase_operations.count for a in accounts)
        for shape in (shapes[i] for i in range(1000))
        if shape.profile == "heavy"
        for field, _, accounts in shape.accounts
        if field == "credit_card_accounts"
    )
    line = re.search(
        r"^\s+credit_card_accounts\.purchase_operations\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)$",
        out,
        re.M,
    )
    assert line is not None, out
    least, _, _, most, total = (int(g.replace(",", "")) for g in line.groups())
    assert (least, most, total) == (purchases[0], purchases[-1], sum(purchases))
    assert most > 10 * least  # the long tail
    (entry,) = orjson.loads(report.read_bytes())["plans"]
    assert entry["seed"] == 1 and [p["name"] for p in entry["profiles"]] == ["light", "heavy"]
    assert entry["calls"] == sum(entry["kinds"].values())


def test_a_bad_distribution_stops_the_dry_run_in_one_line(tmp_path: Path) -> None:
    plan = tmp_path / "bad.yaml"
    plan.write_text(
        "users:\n  count: 2\n  debit_card_accounts:\n    count: 1\n    top_up_operations: {zipf: 0, max: 3}\n"
    )
    done = cli(plan, "--dry-run", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert (
        "bad.yaml:5: users.debit_card_accounts.top_up_operations.count.zipf: the exponent must be greater than 0"
        in done.stderr
    )
