"""``ChildProcess``: one of our servers (the stand, the service) in a subprocess, for tests and benchmarks.

It runs the command with ``sys.executable``, waits for the one ready line the server prints on
stdout, and hands it to the subclass, which reads its addresses from it. stderr goes to a file (it
never fills up and blocks the child) and is kept once the child has exited. ``stop()`` sends
SIGTERM and waits (SIGKILL after ``timeout``); ``kill()`` sends SIGKILL, as a crash would. Both
return the exit status. A stopped one is not restarted: make a new one.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = ["PROJECT_ROOT", "ChildProcess"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # on the child's path: it imports this very checkout


class ChildProcess:
    """Subclasses set ``what`` and ``start_error`` and read their ready line in ``_on_ready``."""

    what = "child process"  # in errors: "stand", "service"
    start_error: type[Exception] = RuntimeError

    def __init__(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._pump: threading.Thread | None = None
        self._stderr_text = ""  # what it wrote, kept once it has exited and the file is closed

    def _on_ready(self, line: str) -> bool:
        """Whether ``line`` is the ready line (then record what it says)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Launch it and wait for its ready line; ``start_error`` if that never comes."""
        if self._proc is not None:
            raise RuntimeError(f"{type(self).__name__} already started; make a new one")
        env = {**os.environ, **self.extra_env, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed in _finish
        self._proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env, cwd=self.cwd
        )
        lines: queue.Queue[str | None] = queue.Queue()
        self._pump = threading.Thread(target=_pump_stdout, args=(self._proc.stdout, lines), daemon=True)
        self._pump.start()
        try:
            line = lines.get(timeout=self.startup_timeout)
        except queue.Empty:
            self.kill()
            raise self.start_error(
                f"{self.what} not ready after {self.startup_timeout} s; stderr: {self.stderr.strip()!r}"
            ) from None
        if line is None or not self._on_ready(line):  # it exited, or said something else: not ready
            code = self.kill()
            raise self.start_error(f"{self.what} exited with status {code} before it was ready: {self.stderr.strip()}")
        return self

    @property
    def pid(self) -> int:
        return self._running().pid

    @property
    def returncode(self) -> int | None:
        """The exit status once it has exited, else None."""
        return self._running().poll()

    @property
    def stderr(self) -> str:
        """Everything it wrote to stderr so far."""
        if self._stderr is None:
            return self._stderr_text
        self._stderr.seek(0)
        text = self._stderr.read()
        if self._proc is not None and self._proc.poll() is not None:  # it has exited: nothing more to come
            self._stderr.close()
            self._stderr, self._stderr_text = None, text
        return text

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` (e.g. ``signal.SIGINT`` for a Ctrl-C)."""
        self._running().send_signal(signum)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for it to exit; its exit status (``subprocess.TimeoutExpired`` on timeout)."""
        return self._running().wait(timeout=timeout)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then wait up to ``timeout`` s (SIGKILL after that); the exit status."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return self.kill()
        return self._finish()

    def kill(self) -> int | None:
        """SIGKILL now: it dies mid-call, as a crash would; the exit status."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        return self._finish()

    def _finish(self) -> int | None:
        """Once exited: let the reader thread see EOF, close the pipes, keep the stderr text."""
        proc = self._running()
        if self._pump is not None:
            self._pump.join(timeout=5)
        if proc.stdout is not None and not (self._pump is not None and self._pump.is_alive()):
            proc.stdout.close()
        _ = self.stderr  # closes the file once the process has exited
        return proc.returncode

    def _running(self) -> subprocess.Popen[str]:
        if self._proc is None:
            raise RuntimeError(f"{type(self).__name__} not started")
        return self._proc

    def _ready(self, value: str | None) -> str:
        if value is None:
            raise RuntimeError(f"{type(self).__name__} not started (or not ready)")
        return value


def _pump_stdout(stdout: IO[str] | None, lines: queue.Queue[str | None]) -> None:
    # The first line is the ready line; later output is drained so the child never blocks.
    assert stdout is not None
    for line in stdout:
        lines.put(line)
    lines.put(None)
