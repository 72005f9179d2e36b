"""Every shell example in README.md and docs/ that runs against the embedded stand is run, and must exit 0.

An example is a fenced ``bash`` / ``console`` / ``sh`` block (in ``console``, only the ``$ `` lines
are commands). A block runs when its first ``seeding`` command (``python -m seeding`` too) uses
``--stand embedded``; then every ``seeding`` command of the block runs in order in one scratch
directory, with ``plans/`` beside it. Other commands of such a block (``pip install``, ``python -m
pytest``) are left out. A later command that would reach a gateway fails the test: an example must
not send the reader to someone else's.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELLS = {"bash", "console", "sh", "shell"}
FENCE = re.compile(r"^(`{3,})\s*([\w-]*)[^\n]*\n(.*?)^\1\s*$", re.MULTILINE | re.DOTALL)
SEEDING = re.compile(r"^(?:python3? -m seeding|seeding)(?=\s|$)")
# Commands that need no gateway: they read plans and dumps, or send nothing.
LOCAL = re.compile(r"^seeding (?:list|export|merge)\b|\s--dry-run\b|\s--help\b|\s--version\b")
EMBEDDED = re.compile(r"\s--stand[ =]embedded\b")


@dataclass(frozen=True)
class Example:
    where: str  # file:line, for the test id and messages
    commands: tuple[str, ...]


def commands_of(language: str, body: str) -> list[str]:
    """The block's commands, continuation lines joined, ``&&`` chains split."""
    lines: list[str] = []
    pending = ""
    for raw in body.splitlines():
        if language == "console" and not pending:
            if not raw.startswith("$ "):
                continue
            raw = raw[2:]
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line and not line.startswith("#"):
            lines.extend(part.strip() for part in line.split(" && "))
    return lines


def examples() -> list[Example]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in FENCE.finditer(text):
            if block[2] not in SHELLS:
                continue
            seeding = [SEEDING.sub("seeding", command) for command in commands_of(block[2], block[3])]
            seeding = [command for command in seeding if command.startswith("seeding")]
            if seeding and EMBEDDED.search(seeding[0]):
                line = text.count("\n", 0, block.start()) + 1
                found.append(Example(f"{page.relative_to(ROOT)}:{line}", tuple(seeding)))
    return found


EXAMPLES = examples()


def test_the_guide_has_examples_to_run() -> None:
    """The selection is not empty by accident: the README's quick start and the docs' first run are in it."""
    places = {example.where.split(":")[0] for example in EXAMPLES}
    assert {"README.md", "docs/getting-started.md"} <= places, places
    assert len(EXAMPLES) >= 4


@pytest.mark.timeout(150)
@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_example_runs(example: Example, tmp_path: Path) -> None:
    for command in example.commands:
        # Checked before anything runs: each command must be one that cannot reach a gateway.
        body = command.split(" #")[0]
        assert EMBEDDED.search(body) or LOCAL.search(body), f"{example.where}: `{command}` would reach a gateway"
        shlex.split(body)  # a malformed example fails here, with its place, not as a bash error

    (tmp_path / "plans").symlink_to(ROOT / "plans")
    script = "\n".join(["set -euo pipefail", 'seeding() { "$SEEDING_PYTHON" -m seeding "$@"; }', *example.commands])
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SEEDING", "GATEWAY_", "LOCUST_"))}
    env.update(SEEDING_PYTHON=sys.executable, PYTHONPATH=str(ROOT), NO_COLOR="1")
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{example.where}: still running after 120 s")
    assert process.returncode == 0, f"{example.where}: exit {process.returncode}\n{out[-2000:]}\n{err[-2000:]}"
    assert "Traceback" not in err
