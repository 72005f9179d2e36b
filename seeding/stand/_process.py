"""``StandProcess``: the stand in a subprocess, for tests and benchmarks that kill or restart it.

It runs ``python -m seeding.stand`` with ``sys.executable``, waits for the ready line and reads the
real addresses from it. A stand that dies before it is ready raises ``StandStartError`` with
what it wrote to stderr.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from seeding.gateway import Transport, transport_spec

from ._errors import StandStartError
from ._options import StandOptions, parse_ready_line

__all__ = ["StandProcess"]


_PROJECT_ROOT = Path(__file__).resolve().parents[2]  # so the child imports this very checkout


class StandProcess:
    """``with StandProcess(latency_ms=5) as proc:`` then point a client at ``proc.target(t)``.

    Takes what ``Stand`` takes (a ``StandOptions`` and/or its fields as keywords), passed on as the
    command line's flags; ``extra_args`` are appended verbatim. ``stop()``
    sends SIGTERM and waits (SIGKILL after ``timeout``); ``kill()`` sends SIGKILL. Both return the
    exit status. A stopped StandProcess is not restarted: make a new one (same ports if need be).
    """

    def __init__(
        self,
        options: StandOptions | None = None,
        *,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 20.0,
        **fields: Any,
    ) -> None:
        self.options = replace(options or StandOptions(), **fields)
        self.args = [sys.executable, "-m", "seeding.stand", *self.options.args(), *extra_args]
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._pump: threading.Thread | None = None
        self._stderr_text = ""  # what it wrote, kept once it has exited and the file is closed
        self._http_url: str | None = None
        self._grpc_target: str | None = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Launch the stand and wait for its ready line; ``StandStartError`` if it never comes."""
        if self._proc is not None:
            raise RuntimeError("StandProcess already started; make a new one")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        # A file, not a pipe: it never fills up and blocks the child.
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env, cwd=_PROJECT_ROOT
        )
        lines: queue.Queue[str | None] = queue.Queue()
        self._pump = threading.Thread(target=self._pump_stdout, args=(self._proc.stdout, lines), daemon=True)
        self._pump.start()
        try:
            line = lines.get(timeout=self.startup_timeout)
        except queue.Empty:
            self.kill()
            raise StandStartError(
                f"stand not ready after {self.startup_timeout} s; stderr: {self.stderr.strip()!r}"
            ) from None
        addresses = parse_ready_line(line or "")
        if addresses is None:  # it exited (line None) or said something else: either way it is not a stand
            code = self.kill()
            raise StandStartError(f"stand exited with status {code} before it was ready: {self.stderr.strip()}")
        self._http_url, self._grpc_target = addresses
        return self

    @staticmethod
    def _pump_stdout(stdout: IO[str] | None, lines: queue.Queue[str | None]) -> None:
        # The first line is the ready line; later output is drained so the child never blocks.
        assert stdout is not None
        for line in stdout:
            lines.put(line)
        lines.put(None)

    @property
    def pid(self) -> int:
        return self._running().pid

    @property
    def returncode(self) -> int | None:
        """The exit status once it has exited, else None."""
        return self._running().poll()

    @property
    def stderr(self) -> str:
        """Everything the stand wrote to stderr so far."""
        if self._stderr is None:
            return self._stderr_text
        self._stderr.seek(0)
        text = self._stderr.read()
        if self._proc is not None and self._proc.poll() is not None:  # it has exited: nothing more to come
            self._stderr.close()
            self._stderr, self._stderr_text = None, text
        return text

    @property
    def http_url(self) -> str:
        return self._ready(self._http_url)

    @property
    def grpc_target(self) -> str:
        return self._ready(self._grpc_target)

    def target(self, transport: Transport) -> str:
        """The address a client of ``transport`` ("grpc" or "http") connects to."""
        return getattr(self, transport_spec(transport).stand)

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` (e.g. ``signal.SIGINT`` for a Ctrl-C) to the stand."""
        self._running().send_signal(signum)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the stand to exit; its exit status (``subprocess.TimeoutExpired`` on timeout)."""
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
        """SIGKILL now: the stand dies mid-call, as a crashed gateway would; the exit status."""
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
        if proc.stdout is not None and not self._pump_alive():
            proc.stdout.close()
        _ = self.stderr  # closes the file once the process has exited
        return proc.returncode

    def _pump_alive(self) -> bool:
        return self._pump is not None and self._pump.is_alive()

    def _running(self) -> subprocess.Popen[str]:
        if self._proc is None:
            raise RuntimeError("StandProcess not started")
        return self._proc

    def _ready(self, value: str | None) -> str:
        if value is None:
            raise RuntimeError("StandProcess not started (or not ready)")
        return value
