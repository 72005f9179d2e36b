"""1,000 idle partial connections against a service limited to 256 descriptors: it keeps answering.

Each connection sends half a request head and waits. The service (a subprocess under
``RLIMIT_NOFILE`` 256) serves at most 192 connections at once, answers the others 503 at once, and
closes the held ones with 408 after ``--header-timeout``; ``/healthz`` then answers within a second,
and its log holds a few lines (the cap reached, the cap left), not a traceback per refused accept.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
HEADER_TIMEOUT = 2.0
CONNECTIONS = 1000


def _limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def healthz(port: int) -> int | None:
    """The status of one ``GET /healthz`` on a new connection, None when it gets no answer in 1 s."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = sock.recv(200)
    except OSError:
        return None
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def test_idle_partial_connections_under_a_descriptor_limit(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < CONNECTIONS + 100:  # this process holds the client ends
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    log = (tmp_path / "service.log").open("w+")
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "seeding",
            "serve",
            "--port=0",
            f"--dumps-dir={tmp_path / 'dumps'}",
            f"--header-timeout={HEADER_TIMEOUT}",
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        preexec_fn=_limit_descriptors,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    clients: list[socket.socket] = []
    try:
        assert service.stdout is not None
        ready = service.stdout.readline()
        assert ready.startswith("seeding service ready: http://127.0.0.1:"), ready
        port = int(ready.rsplit(":", 1)[1])
        for _ in range(CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            clients.append(sock)
        opened = time.monotonic()
        first_ok = None
        while time.monotonic() - opened < HEADER_TIMEOUT + 10:
            if healthz(port) == 200:
                first_ok = time.monotonic() - opened
                break
            time.sleep(0.1)
        assert service.poll() is None, "the service died"
        assert first_ok is not None and first_ok <= HEADER_TIMEOUT + 1.0, first_ok
        for _ in range(20):
            assert healthz(port) == 200
    finally:
        for sock in clients:
            sock.close()
        service.terminate()
        service.wait(10)
        log.seek(0)
        text = log.read()
        log.close()
    assert "Traceback" not in text, text[-3000:]
    assert len(text.splitlines()) <= 5, text[-3000:]
    assert "connections open, the cap" in text, text
