"""The plan lock: one run of a plan at a time, from its first look at the dump to its last write.

``.<scenario>_seeds.json.lock`` beside the dump. A run takes an ``flock`` on it before it decides
anything about the dump (reuse, grow, replace) and keeps it until the dump is written or the run
stops, so a second run of the same plan started a moment later cannot decide from a dump that is
about to change, nor write the dump too: it is refused at once, in one line naming the holder's
pid. The kernel drops the lock with the holder's last descriptor, so a run killed with ``-9``
never leaves it taken.

- An unsharded run (the CLI, the service, ``repair``, ``build_seeds``) and a ``--processes N``
  parent (from its first check to its merge) hold it exclusively.
- A ``--shard I/N`` run holds it shared: the shards of one split run side by side, each owning
  its own journal; an unsharded run cannot start meanwhile, nor they while one runs.
- A ``--processes N`` child inherits its parent's descriptor (``SEEDING_PLAN_LOCK_FD``): the
  parent holds the plan for it.

The check for journals of other splits and the creation of the run's own journal happen under a
second, momentary POSIX record lock (``lockf``) on the same file, so two shard runs of different
splits cannot both find no journal and both start.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .._exceptions import JournalError
from ..files import check_regular
from ._journal import make_dumps_dir

__all__ = ["INHERITED_LOCK", "PlanHeld", "PlanLock", "lock_path"]

INHERITED_LOCK = "SEEDING_PLAN_LOCK_FD"  # a --processes child: the descriptor of its parent's lock
_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class PlanHeld(JournalError):
    """Another live run holds the plan (as opposed to a lock file that cannot be made at all)."""


def lock_path(dump: Path) -> Path:
    """``dumps/x_seeds.json`` → ``dumps/.x_seeds.json.lock`` (the lock of every split of that dump)."""
    return dump.with_name(f".{dump.name}.lock")


class PlanLock:
    """A held plan lock; ``release()`` (or the process's end) gives it back."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def take(cls, dump: Path, *, shared: bool = False) -> PlanLock:
        """Lock ``dump``'s plan for this run, or raise ``JournalError`` naming the run that holds it.

        ``shared``: a shard run (shards of one split hold it together). Never waits: the holder is
        a whole run, which may last hours.
        """
        path = lock_path(dump)
        make_dumps_dir(dump.parent)
        inherited = _inherited(path)
        if inherited is not None:
            return cls(path, inherited)
        for _ in range(100):  # each retry means the file was removed or replaced between our open and our lock
            fd = _open(path)
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                who = f"pid {holder}" if holder else "another process"
                raise PlanHeld(
                    f"{dump}: another run of this plan ({who}) is running right now (it holds {path.name}); "
                    "wait for it to end or stop it, then --resume"
                ) from None
            if _same_file(path, fd):
                _write_pid(fd)
                return cls(path, fd)
            os.close(fd)
        raise JournalError(f"{path}: the plan's lock keeps being replaced by another process")

    @property
    def fd(self) -> int:
        return self._fd

    def child_env(self) -> dict[str, str]:
        """The environment entry that hands this lock to a child started with ``pass_fds=(lock.fd,)``."""
        return {INHERITED_LOCK: str(self._fd)}

    @contextlib.contextmanager
    def checking(self, within: float = 30.0) -> Iterator[None]:
        """Held while the run looks for other splits' journals and creates its own (milliseconds)."""
        deadline = time.monotonic() + within
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:  # EAGAIN / EACCES: another process is checking
                if time.monotonic() > deadline:
                    raise JournalError(f"{self.path}: another run of this plan kept it for {within:g} s") from None
                time.sleep(0.01)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        if hasattr(self, "_fd"):
            self.release()


def _open(path: Path) -> int:
    try:
        fd = os.open(path, _FLAGS, 0o644)
    except OSError as exc:
        raise JournalError(f"{path}: cannot take the plan's lock: {exc.strerror or exc}") from None
    try:
        check_regular(fd, path, what="a lock file", error=JournalError)
    except JournalError:
        os.close(fd)
        raise
    return fd


def _inherited(path: Path) -> int | None:
    """The parent's lock descriptor a ``--processes`` child was given, if it is this plan's lock."""
    value = os.environ.get(INHERITED_LOCK, "")
    if not value.isascii() or not value.isdigit():
        return None
    fd = int(value)
    try:
        held, on_disk = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    if (held.st_dev, held.st_ino) != (on_disk.st_dev, on_disk.st_ino):
        return None  # another plan's lock (a child seeding something else): take ours as usual
    return os.dup(fd)  # our own copy: releasing it leaves the parent's hold (and the original descriptor) alone


def _same_file(path: Path, fd: int) -> bool:
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _write_pid(fd: int) -> None:
    """Say who holds it (the refusal of a second run names this pid); the last shard to start wins."""
    with contextlib.suppress(OSError):
        data = b"%d\n" % os.getpid()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))


def _holder(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        return int(text) if text.isdigit() else None
    return None
