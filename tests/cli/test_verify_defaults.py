"""``python -m seeding verify DUMP`` without flags checks the gateway the dump was made on, not the settings'."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seeding.stand import StandProcess

PROJECT = Path(__file__).resolve().parents[2]


def cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seeding", *map(str, args), *([] if args[0] == "verify" else ["--no-progress"])],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_verify_defaults_to_the_recorded_transport_and_target(tmp_path: Path, transport: str) -> None:
    (tmp_path / "p.yaml").write_text("users: {count: 3, debit_card_accounts: {count: 1, top_up_operations: 1}}\n")
    # the settings point elsewhere (a closed port, the other transport): verify must not follow them
    (tmp_path / ".env").write_text(
        "SEEDING.TRANSPORT=%s\nGATEWAY_GRPC_CLIENT.PORT=1\nGATEWAY_HTTP_CLIENT.URL=http://127.0.0.1:1\n"
        % ("http" if transport == "grpc" else "grpc")
    )
    with StandProcess() as stand:
        target = stand.target(transport)  # type: ignore[arg-type]
        flag = "--grpc-target" if transport == "grpc" else "--http-url"
        seeded = cli(
            "p.yaml", "--transport", transport, flag, target, "--dumps-dir", tmp_path, "--no-progress", cwd=tmp_path
        )
        assert seeded.returncode == 0, seeded.stderr
        verified = cli("verify", tmp_path / "p_seeds.json", "--sample=0", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert f"over {transport} at {target}: 0 stale" in verified.stdout
