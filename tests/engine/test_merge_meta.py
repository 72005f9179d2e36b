"""``merge`` with a shard whose meta figures are of the wrong type: one line naming the file, exit 2, no traceback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(PROJECT)}


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("shards")
    (where / "m.yaml").write_text("scenario: m\nusers: 4\n")
    for shard in ("1/2", "2/2"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "seeding",
                "m.yaml",
                f"--shard={shard}",
                "--stand=embedded",
                "--dumps-dir=d",
                "--no-progress",
            ],
            cwd=where,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    return where / "d"


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("calls", '"many"', "meta.calls is 'many', not a whole number"),
        ("calls", "1.5", "meta.calls is '1.5', not a whole number"),
        ("duration_s", '"1s"', "meta.duration_s is '1s', not a number"),
        ("duration_s", "-3", "meta.duration_s is -3, not a number 0 or more"),
        ("resumed_users", "[1]", "meta.resumed_users is '[1]', not a whole number"),
        ("retries", "true", "meta.retries is 'True', not a whole number"),
        ("calls", "{}", "meta.calls is '{}', not a whole number"),
    ],
)
def test_a_shard_meta_figure_of_the_wrong_type(shards: Path, tmp_path: Path, key: str, value: str, says: str) -> None:
    dumps = tmp_path / "d"
    shutil.copytree(shards, dumps)
    shard = dumps / "m_seeds.shard-1-of-2.json"
    text = shard.read_text()
    if f'"{key}":' in text:
        text = re.sub(rf'"{key}":[^,}}]+', f'"{key}":{value}', text, count=1)
    else:
        text = text.replace('{"meta":{', f'{{"meta":{{"{key}":{value},', 1)
    shard.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "seeding", "merge", "m", "--dumps-dir", str(dumps)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert says in done.stderr and "m_seeds.shard-1-of-2.json" in done.stderr, done.stderr
    assert not (dumps / "m_seeds.json").exists()
