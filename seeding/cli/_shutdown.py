"""Every command ends: SIGINT/SIGTERM stop the run cleanly, and a stuck cleanup cannot outlive them.

The first signal cancels the command's main task, so the journal is closed and the missing plan
indices are reported. Cleanup is then given ``grace`` seconds (``finish_grace`` after a normal
end); grpc-core can block the interpreter's shutdown for good (a channel that never connected
can join a thread forever), so after that, or on a second signal, the process leaves with
``os._exit``.

Handlers are installed with ``signal.signal``, not the event loop's ``add_signal_handler``: a
Python-level handler runs even while the loop is busy in synchronous code, and the timer that
ends the process runs on its own thread, so neither depends on the loop coming back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Self, TypeAlias

__all__ = ["Shutdown", "exit_within"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# What ``signal.signal`` takes and gives back: a function, SIG_DFL / SIG_IGN, or None (set outside Python).
_Handler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class Shutdown:
    """``with Shutdown(prog) as shutdown: code = asyncio.run(main(shutdown))``; ``main`` calls ``attach()``."""

    def __init__(self, prog: str, *, grace: float = 3.0, finish_grace: float = 2.0, exit_code: int = 1) -> None:
        self.prog = prog
        self.grace = grace
        self.finish_grace = finish_grace
        self.exit_code = exit_code
        self.signalled: int | None = None
        self._task: asyncio.Task[object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: threading.Timer | None = None
        self._previous: dict[int, _Handler] = {}

    def __enter__(self) -> Self:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only: leave them to whoever runs it
        for signum in _SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        # A file size limit (RLIMIT_FSIZE) then fails the write with EFBIG, reported, instead of killing us.
        with contextlib.suppress(AttributeError, ValueError):
            self._previous[signal.SIGXFSZ] = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def attach(self) -> None:
        """Make the running task the one a signal cancels (call it first thing in the main coroutine)."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()

    def finishing(self, code: int) -> None:
        """The command is done with ``code``: leave within ``grace`` seconds whatever cleanup does."""
        self._arm(code, self.finish_grace)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.signalled is not None:  # a second signal: the user means it
            self._exit(self.exit_code)
        self.signalled = signum
        if self._task is None:  # still reading flags and plans: nothing to clean up
            raise KeyboardInterrupt
        if self._task is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._arm(self.exit_code, self.grace)

    def _arm(self, code: int, after: float) -> None:
        if self._timer is None:
            self._timer = threading.Timer(after, self._exit, (code,))
            self._timer.daemon = True
            self._timer.start()

    def _exit(self, code: int) -> None:
        _exit_now(code)


def exit_within(seconds: float, code: int) -> None:
    """Leave with ``code`` in ``seconds`` even if interpreter shutdown hangs (a process's entry point only)."""
    timer = threading.Timer(seconds, _exit_now, (code,))
    timer.daemon = True
    timer.start()


def _exit_now(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
