"""``StandProcess``: the stand in a subprocess, for tests and benchmarks that kill or restart it.

It runs ``python -m seeding.stand`` with ``sys.executable``, waits for the ready line and reads the
real addresses from it. A stand that dies before it is ready raises ``StandStartError`` with
what it wrote to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..command._server_subprocess import PROJECT_ROOT, ChildProcess
from ..gateway import Transport
from ._errors import StandStartError
from ._options import StandOptions, parse_ready_line

__all__ = ["StandProcess"]


class StandProcess(ChildProcess):
    """``with StandProcess(latency_ms=5) as proc:`` then point a client at ``proc.target(t)``.

    Takes what ``Stand`` takes (a ``StandOptions`` and/or its fields as keywords), passed on as the
    command line's flags; ``extra_args`` are appended verbatim. ``stop()`` sends SIGTERM and waits
    (SIGKILL after ``timeout``); ``kill()`` sends SIGKILL. Both return the exit status. A stopped
    StandProcess is not restarted: make a new one (same ports if need be).
    """

    what = "stand"
    start_error = StandStartError

    def __init__(
        self,
        options: StandOptions | None = None,
        *,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 20.0,
        **fields: Any,
    ) -> None:
        self.options = replace(options or StandOptions(), **fields)
        args = [sys.executable, "-m", "seeding.stand", *self.options.args(), *extra_args]
        super().__init__(args, cwd=PROJECT_ROOT, startup_timeout=startup_timeout)
        self._addresses: dict[str, str] = {}

    def _on_ready(self, line: str) -> bool:
        addresses = parse_ready_line(line)
        if addresses is not None:
            self._addresses = addresses
        return addresses is not None

    @property
    def http_url(self) -> str:
        return self.target("http")

    @property
    def grpc_target(self) -> str:
        return self.target("grpc")

    def target(self, transport: Transport) -> str:
        """The address a client of ``transport`` ("grpc" or "http") connects to."""
        return self._ready(self._addresses.get(transport))
