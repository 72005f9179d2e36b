"""``ServiceProcess``: ``python -m seeding serve`` in a subprocess, for tests and benchmarks that kill or restart it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = ["ServiceProcess", "ServiceStartError"]

_READY_RE = re.compile(r"^seeding service ready: (?P<url>http://\S+)\s*$")
_PROJECT_ROOT = Path(__file__).resolve().parents[2]  # so the child imports this very checkout


class ServiceStartError(RuntimeError):
    """The service exited, or said something else, before its ready line."""


class ServiceProcess:
    """``with ServiceProcess(dumps_dir=d, plans_dir=p) as proc:`` then talk to ``proc.url``.

    ``stop()`` sends SIGTERM and waits; ``kill()`` sends SIGKILL (the service dies as in a crash).
    ``env`` adds to the environment (``{"SEEDING.SERVICE_TOKEN": "…"}``).
    """

    def __init__(
        self,
        *,
        dumps_dir: str | Path,
        plans_dir: str | Path = "plans",
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.args = [
            sys.executable,
            "-m",
            "seeding",
            "serve",
            f"--host={host}",
            f"--port={port}",
            f"--dumps-dir={dumps_dir}",
            f"--plans-dir={plans_dir}",
            *([f"--token={token}"] if token is not None else []),
            *extra_args,
        ]
        self.extra_env = env or {}
        self.startup_timeout = startup_timeout
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> Self:
        env = {**os.environ, **self.extra_env, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed in _finish
        self._proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env)
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(self._proc.stdout, lines), daemon=True).start()
        try:
            line = lines.get(timeout=self.startup_timeout)
        except queue.Empty:
            self.kill()
            raise ServiceStartError(
                f"service not ready after {self.startup_timeout} s: {self.stderr.strip()}"
            ) from None
        match = _READY_RE.match(line or "")
        if match is None:
            code = self.kill()
            raise ServiceStartError(f"service exited with status {code} before it was ready: {self.stderr.strip()}")
        self.url = match["url"]
        return self

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def stderr(self) -> str:
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (live runs become interrupted, hand-outs are flushed), then wait; SIGKILL after ``timeout``."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return self.kill()
        return proc.returncode

    def kill(self) -> int | None:
        """SIGKILL now, as a crash would; the exit status."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        return proc.wait()


def _pump(stdout: IO[str] | None, lines: queue.Queue[str | None]) -> None:
    assert stdout is not None
    for line in stdout:
        lines.put(line)
    lines.put(None)
