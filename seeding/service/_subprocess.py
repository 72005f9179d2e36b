"""``ServiceProcess``: ``python -m seeding serve`` in a subprocess, for tests and benchmarks that kill or restart it."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

from ..command._server_subprocess import ChildProcess

__all__ = ["ServiceProcess", "ServiceStartError"]

_READY_RE = re.compile(r"^seeding service ready: (?P<url>http://\S+)\s*$")


class ServiceStartError(RuntimeError):
    """The service exited, or said something else, before its ready line."""


class ServiceProcess(ChildProcess):
    """``with ServiceProcess(dumps_dir=d, plans_dir=p) as proc:`` then talk to ``proc.url``.

    ``stop()`` sends SIGTERM and waits (live runs become interrupted, hand-outs are flushed);
    ``kill()`` sends SIGKILL (the service dies as in a crash). ``env`` adds to the environment
    (``{"SEEDING.SERVICE_TOKEN": "…"}``).
    """

    what = "service"
    start_error = ServiceStartError

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
        args = [
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
        super().__init__(args, env=env, startup_timeout=startup_timeout)
        self.url = ""

    def _on_ready(self, line: str) -> bool:
        match = _READY_RE.match(line)
        if match is not None:
            self.url = match["url"]
        return match is not None
