"""``python -m seeding`` imports what a command uses, when it first needs it (start-up is paid by every run).

Each case runs the command line's ``main`` in a fresh interpreter and lists the modules it loaded:
``--help`` needs the parser and settings only (``bench/client_cpu.py`` prints what it costs); a run
needs the builder and one transport, never the other transport, the response models, the embedded
stand or Locust glue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seeding.stand import StandProcess

PROJECT = Path(__file__).resolve().parents[2]
CHILD = """
import contextlib, io, json, sys
from seeding.cli._main import main

with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
# Top-level packages a command loads only when it uses them.
HEAVY = ("grpc", "aiohttp", "httpx", "faker", "tenacity", "locust", "yaml", "tqdm", "google")
# Our own parts, likewise.
PARTS = (
    "seeding.plan._models",
    "seeding.dumps._files",
    "seeding.dumps._result",
    "seeding.engine._journal",
    "seeding.engine._builder",
    "seeding.plan._fake_data",
    "seeding.engine._run",
    "seeding.stand",
    "seeding.locust",
    "seeding.service",
)


def loaded(*args: str, cwd: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        timeout=60,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["code"] in (0, None), done.stderr
    return set(report["modules"])


def top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_help_loads_no_engine(tmp_path: Path) -> None:
    modules = loaded("--help", cwd=tmp_path)
    assert top_level(modules).isdisjoint(HEAVY), sorted(top_level(modules) & set(HEAVY))
    assert not modules & set(PARTS), sorted(modules & set(PARTS))
    assert "pydantic_settings" not in modules  # defaults are named in the help, read only by a run
    assert "seeding.cli._main" in modules  # the command itself did run


@pytest.mark.parametrize(
    ("transport", "other"), [("grpc", ("aiohttp", "httpx")), ("http", ("grpc",))], ids=["grpc", "http"]
)
def test_a_run_loads_its_transport_only(transport: str, other: tuple[str, ...], tmp_path: Path) -> None:
    plan = tmp_path / "one.yaml"
    plan.write_text("users:\n  count: 2\n  debit_card_accounts: {count: 1, top_up_operations: 1}\n")
    with StandProcess() as stand:
        flag = f"--grpc-target={stand.grpc_target}" if transport == "grpc" else f"--http-url={stand.http_url}"
        modules = loaded(str(plan), f"--transport={transport}", flag, "--no-progress", cwd=tmp_path)
    assert (tmp_path / "dumps" / "one_seeds.json").exists()
    assert top_level(modules).isdisjoint((*other, "locust")), sorted(top_level(modules) & {*other, "locust"})
    assert not modules & {"seeding.stand", "seeding.locust", "seeding.service"}
    # The builder reads ids off the answers: the validated response models are the public API's and verify's.
    assert "seeding.contract._models" not in modules
    assert {"seeding.engine._builder", "seeding.dumps._files", "faker"} <= modules  # what a run does use
