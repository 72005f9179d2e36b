"""``python -m seeding.stand`` and ``StandProcess``: the ready line, serving, clean stops, and the
exit statuses for a port in use (1) and bad flags (2)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from contracts.services.gateway.users import rpc_get_user_pb2, users_gateway_service_pb2_grpc
from seeding.stand import StandProcess, StandStartError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the stand's command line to completion (it must exit by itself)."""
    command = [sys.executable, "-m", "seeding.stand", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=PROJECT_ROOT)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_ready_line_serves_both_and_sigterm_exits_cleanly() -> None:
    with StandProcess(seed=5) as proc:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", proc.http_url)
        assert re.fullmatch(r"127\.0\.0\.1:\d+", proc.grpc_target)
        assert proc.target("http") == proc.http_url and proc.target("grpc") == proc.grpc_target
        status, body = http_get(f"{proc.http_url}/api/v1/users/{uuid.uuid4()}")
        assert (status, body) == (404, b'{"detail":"User not found"}')
        with grpc.insecure_channel(proc.grpc_target) as channel:
            stub = users_gateway_service_pb2_grpc.UsersGatewayServiceStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.GetUser(rpc_get_user_pb2.GetUserRequest(id=str(uuid.uuid4())), timeout=5)
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert proc.stop() == 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr == ""


def test_ctrl_c_exits_cleanly() -> None:
    proc = StandProcess().start()
    try:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
    assert "Traceback" not in proc.stderr


def test_kill_leaves_nothing_listening() -> None:
    proc = StandProcess().start()
    url = proc.http_url
    assert proc.kill() == -signal.SIGKILL
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/api/v1/accounts?userId={uuid.uuid4()}", timeout=5)


@pytest.mark.parametrize("flag", ["--http-port", "--grpc-port"])
def test_port_in_use_is_one_line_and_exit_1(busy_port: int, flag: str) -> None:
    other = "--grpc-port" if flag == "--http-port" else "--http-port"
    result = run_cli(flag, str(busy_port), other, "0")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{busy_port}" in lines[0] and "in use" in lines[0]


def test_stand_process_reports_why_it_did_not_start(busy_port: int) -> None:
    with pytest.raises(StandStartError, match="in use"):
        StandProcess(http_port=busy_port).start()


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--latency-ms", "-1"], "--latency-ms"),
        (["--jitter-ms", "abc"], "--jitter-ms"),
        (["--fail-rate", "1.5"], "--fail-rate"),
        (["--fail-rate", "-0.1"], "--fail-rate"),
        (["--late-rate", "1.5"], "--late-rate"),
        (["--late-rate", "many"], "--late-rate"),
        (["--late-ms", "-5"], "--late-ms"),
        (["--http-port", "70000"], "--http-port"),
        (["--http-port", "28555", "--grpc-port", "28555"], "--http-port and --grpc-port are both 28555"),
        (["--no-such-flag"], "--no-such-flag"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(args: list[str], mentions: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "error" in lines[0] and mentions in lines[0]
