"""The run journal: every completed user is on disk the moment it completes, and one run owns it.

``dumps/<scenario>_seeds.journal`` is JSON lines: a header (plan hash, transport, target, seed, the
run's pid, ...) and then ``{"index":i,"user":{...}}`` per completed user, appended with one
``write`` each, so a crash, Ctrl-C or SIGKILL keeps every user written before it. ``--resume``
reads it back, seeds only the missing plan indices, and the dump is assembled from it in plan
order; it is removed once the dump is written.

What keeps it from mixing, duplicating or losing data:

- One writer: the run holds an exclusive ``flock`` on the file for as long as it runs, so a second
  run, ``--resume`` or ``--restart`` of a live journal is refused, naming the live process. A
  journal is created whole (header written, lock taken) under a temporary name and linked into
  place, so nobody ever sees it empty or unlocked.
- Same gateway, same plan: ``--resume`` compares the plan hash and the transport and target with
  the header, and refuses naming both sides.
- Local damage stays local: a line that is not a user record as we write them (a damaged sector, a
  hand edit) costs that one user, who is seeded again (with a warning); a torn last line (killed
  mid-write) is cut off; a failed append is rolled back so the next one starts on a clean line.
- A user in the making is journaled part by part (``note``: the user as soon as CreateUser answers,
  then each account, card and operation), so ``--resume`` completes it at its own index
  (``partial``) instead of creating it again; a complete line that lacks what the plan asks for
  (``check``) is completed the same way, and one holding more is refused naming its line.
- A journal that holds no user (or only users of an embedded stand, gone with its process) is no
  unfinished run: the next run simply takes it over.
- Opened with ``O_NOFOLLOW``: a symlink at the journal's path is refused, never written through.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from .._exceptions import JournalError
from ..files import check_regular
from ._partial import PartialUser

__all__ = [
    "Journal",
    "format_ranges",
    "journal_path",
    "make_dumps_dir",
    "peek_header",
    "refuse_other_splits",
    "split_journals",
]

_VERSION = 1
_USER_KEY = b',"user":'
# A user record exactly as ``append`` writes it; anything else on a line is damage.
_RECORD = re.compile(rb'\{"index":(\d{1,18}),"user":(\{"user_id":"[^"\\]+".*\})\}\n', re.DOTALL)
_OPEN_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # never blocks; checked regular


def journal_path(dump: Path) -> Path:
    """The journal beside a dump: ``x_seeds.json`` → ``x_seeds.journal``."""
    return dump.with_suffix(".journal")


class Journal:
    """Append-only record of one run's completed users, readable after any kind of stop.

    Holds the journal's lock from ``start`` until ``close``/``remove``.
    """

    def __init__(
        self,
        path: Path,
        fd: int,
        header: dict[str, Any],
        done: dict[int, tuple[int, int]],
        size: int,
        *,
        damaged: list[int] | None = None,
        partial: dict[int, PartialUser] | None = None,
        completed: list[tuple[int, str]] | None = None,
    ) -> None:
        self.path = path
        self.header = header
        self._fd = fd
        self._done = done  # plan index → (offset, length) of the user's JSON in the file
        self._size = size
        self._broken: OSError | None = None
        self._parts = False  # a part of a user was journaled by this run
        self.damaged_lines = damaged or []  # 1-based line numbers skipped when reading
        self.partial = partial or {}  # plan index → what exists of a user the run was building when it stopped
        self.incomplete_lines = completed or []  # (line number, what it lacked) of user lines completed anew

    @classmethod
    def start(
        cls,
        path: Path,
        header: dict[str, Any],
        *,
        resume: bool = False,
        restart: bool = False,
        check: Callable[[dict[str, Any]], Callable[[int, dict[str, Any]], str | None]] | None = None,
    ) -> Journal:
        """Open and lock the journal for a run of the plan ``header["plan_hash"]``.

        An existing journal holding users is an unfinished run: continued with ``resume``,
        discarded with ``restart``, and otherwise a ``JournalError`` (never silently thrown away).
        A journal another live process holds is always a ``JournalError``. Nothing is sent before
        this returns, so every refusal here is bad usage. ``check(old_header)`` gives the test of
        each user line against the plan (``UserCheck``).
        """
        fd, created = _lock(path, header)
        if created:
            return cls(path, fd, header, {}, os.fstat(fd).st_size)
        try:
            old_header, done, size, damaged, partial, completed = _read(path, fd, check)
            # No user in it, or users of an embedded stand that ended with its process: nothing to
            # lose, nothing that could be resumed.
            if (not done and not partial) or restart or old_header.get("target") == "embedded":
                fresh = _replace(path, fd, header)
                return cls(path, fresh, header, {}, os.fstat(fresh).st_size)
            if not resume:
                begun = f" (and {len(partial)} begun)" if partial else ""
                raise JournalError(
                    f"{path}: an unfinished run left {len(done)} of {_planned(old_header)} users here{begun}; "
                    "pass --resume to finish it, or --restart to discard it"
                )
            _check_same_run(path, old_header, header, len(done), len(partial))
            journal = cls(path, fd, old_header, done, size, damaged=damaged, partial=partial, completed=completed)
        except BaseException:
            os.close(fd)
            raise
        try:
            journal._record({"pid": os.getpid(), "resumed": True})
        except OSError as exc:
            journal.close()
            raise JournalError(str(exc)) from None
        return journal

    @property
    def done(self) -> frozenset[int]:
        """Plan indices of the users already complete."""
        return frozenset(self._done)

    @property
    def done_count(self) -> int:
        return len(self._done)

    @property
    def has_users(self) -> bool:
        """Whether it keeps anything made on the gateway: a complete user, or a part of one."""
        return bool(self._done or self.partial or self._parts)

    def __contains__(self, index: object) -> bool:
        return index in self._done

    def missing_ranges(self, indices: int | range) -> Iterator[tuple[int, int]]:
        """``(first, last)`` of each run of plan indices (``range(count)``, or a shard's) not done yet, in order.

        Costs what the journal holds, not what the plan asks: fine for a 100-million-user plan.
        """
        span = range(indices) if isinstance(indices, int) else indices
        start = span.start
        for index in sorted(i for i in self._done if i in span):
            if index > start:
                yield start, index - 1
            start = index + 1
        if start < span.stop:
            yield start, span.stop - 1

    def append(self, index: int, user: bytes) -> None:
        """Record user ``index`` (its dump JSON) as complete, in one write.

        A failed write (a full disk, a file size limit) is cut back off the file, so the journal
        never holds half a user; the journal then refuses further appends with the same error.
        """
        if self._broken is not None:
            raise self._broken
        prefix = b'{"index":%d' % index + _USER_KEY
        line = prefix + user + b"}\n"
        self._write(line)
        self._done.setdefault(index, (self._size - len(line) + len(prefix), len(user)))

    def note(self, index: int, part: dict[str, Any]) -> None:
        """Record one made part of user ``index`` (``part_record``), in one write, the moment it exists."""
        if self._broken is not None:
            raise self._broken
        self._write(b'{"index":%d,' % index + orjson.dumps(part)[1:] + b"\n")
        self._parts = True

    def _record(self, fields: dict[str, Any]) -> None:
        self._write(orjson.dumps(fields) + b"\n")

    def _write(self, line: bytes) -> None:
        written = 0
        try:
            while written < len(line):  # a short write (the disk filling up) is retried: the next one says why
                wrote = os.pwrite(self._fd, line[written:], self._size + written)
                if wrote <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += wrote
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            self._broken = OSError(exc.errno, f"{self.path}: cannot write the journal: {exc.strerror}")
            raise self._broken from None
        self._size += written

    def user(self, index: int) -> bytes:
        """User ``index``'s JSON as recorded."""
        offset, length = self._done[index]
        return os.pread(self._fd, length, offset)

    def users_in_order(self, indices: int | Iterable[int]) -> Iterator[bytes]:
        """Users ``0..count-1`` (or given indices: a shard's, a repair's) in plan order (all done), read one by one."""
        for index in range(indices) if isinstance(indices, int) else indices:
            yield self.user(index)

    def close(self) -> None:
        """Release the lock (the file stays for ``--resume``)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def remove(self) -> None:
        """Delete the journal: the dump it fed is written."""
        if self._fd >= 0:
            self.path.unlink(missing_ok=True)  # still locked: no other run can take it meanwhile
        self.close()

    def __del__(self) -> None:
        if hasattr(self, "_fd"):
            self.close()


def make_dumps_dir(directory: Path) -> None:
    """Make the dumps directory, or say in one line why it cannot be (before any lock or journal in it)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise JournalError(f"{directory}: the dumps directory is a file, or inside one") from None
    except OSError as exc:
        raise JournalError(f"{directory}: cannot make the dumps directory: {exc.strerror or exc}") from None


def _lock(path: Path, header: dict[str, Any]) -> tuple[int, bool]:
    """The journal's descriptor with our exclusive lock on it, and whether we just created it."""
    make_dumps_dir(path.parent)
    for _ in range(100):  # each retry means another process created or replaced it meanwhile
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            fd = _create_locked(path, header, replace=False)
            if fd >= 0:
                return fd, True
            continue
        except OSError as exc:
            raise _open_error(path, exc) from None
        try:
            check_regular(fd, path, what="a journal", error=JournalError)
        except JournalError:
            os.close(fd)
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _last_pid(fd)
            os.close(fd)
            who = f"pid {pid}" if pid else "another process"
            raise JournalError(
                f"{path}: another run ({who}) is writing this journal right now; "
                "wait for it to end or stop it, then --resume"
            ) from None
        if _same_file(path, fd):
            return fd, False
        os.close(fd)  # replaced or removed between our open and our lock: look again
    raise JournalError(f"{path}: the journal keeps being replaced by another process")


def _create_locked(path: Path, header: dict[str, Any], *, replace: bool) -> int:
    """Write a new journal under a temporary name, lock it, then move it to ``path``.

    Returns -1 when (not replacing) another process created ``path`` first.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        raise _open_error(path, exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        line = orjson.dumps({"journal": _VERSION, **header, "pid": os.getpid()}) + b"\n"
        written = 0
        while written < len(line):
            written += os.write(fd, line[written:])
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                os.close(fd)
                return -1
            finally:
                tmp.unlink(missing_ok=True)
    except OSError as exc:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise JournalError(f"{path}: cannot write the journal: {exc.strerror or exc}") from None
    return fd


def _replace(path: Path, old_fd: int, header: dict[str, Any]) -> int:
    """A fresh journal in place of the one we hold locked; its lock passes to the new file."""
    fd = _create_locked(path, header, replace=True)
    os.close(old_fd)
    return fd


def _same_file(path: Path, fd: int) -> bool:
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _open_error(path: Path, exc: OSError) -> JournalError:
    if exc.errno == errno.ELOOP:
        return JournalError(f"{path}: is a symbolic link; a journal is never written through one (remove it)")
    return JournalError(f"{path}: cannot open the journal: {exc.strerror or exc}")


def _planned(header: dict[str, Any]) -> str:
    """How many users the journal's run adds: all of the plan's, or those past the dump it grows."""
    users, base = header.get("users"), header.get("base")
    if isinstance(header.get("repair"), list):
        return str(len(header["repair"]))
    if isinstance(users, int) and isinstance(base, int) and base:
        return str(users - base)
    return str(users if users is not None else "?")


def peek_header(path: Path) -> dict[str, Any] | None:
    """A journal's header, read without taking it (None: no journal, or not one we can read)."""
    try:
        with path.open("rb") as file:
            header = orjson.loads(file.readline())
    except (OSError, orjson.JSONDecodeError):
        return None
    return header if isinstance(header, dict) else None


def _check_same_run(path: Path, old: dict[str, Any], new: dict[str, Any], done: int, begun: int = 0) -> None:
    """``--resume`` continues the same plan on the same gateway from the same dump, or refuses naming both."""
    discard = f"or --restart to discard its {done} users" + (f" and {begun} begun" if begun else "")
    if old.get("shard") != new.get("shard"):  # renamed by hand: its users are another shard's
        raise JournalError(
            f"{path}: holds shard {old.get('shard') or 'none (a whole plan)'}, this run seeds shard "
            f"{new.get('shard') or 'none (the whole plan)'}; pass --restart to discard it"
        )
    if isinstance(old.get("repair"), list) != isinstance(new.get("repair"), list):
        what = "repairs a dump" if isinstance(old.get("repair"), list) else "seeds a plan"
        raise JournalError(f"{path}: the interrupted run {what}, this one does not; finish it as it began, {discard}")
    if old.get("shape_hash") and new.get("shape_hash"):
        if old["shape_hash"] != new["shape_hash"]:
            raise JournalError(
                f"{path}: holds users of another shape (shape {old['shape_hash']}, this plan's "
                f"{new['shape_hash']}); seed that plan to finish it, {discard}"
            )
    elif old.get("plan_hash") != new.get("plan_hash"):  # a journal older than shapes
        raise JournalError(
            f"{path}: was made from another plan (hash {old.get('plan_hash')}, now "
            f"{new.get('plan_hash')}); pass --restart to discard it"
        )
    if new.get("seed_given") and old.get("seed") != new.get("seed"):
        raise JournalError(
            f"{path}: the interrupted run seeds with seed {old.get('seed')}, this one asks {new.get('seed')}; "
            f"pass --seed {old.get('seed')} to finish it, {discard}"
        )
    if old.get("shape_hash") and old.get("users") != new.get("users"):
        raise JournalError(f"{path}: --users {old.get('users')} was given before; pass it again, {discard}")
    before = (old.get("transport"), old.get("target"))
    now = (new.get("transport"), new.get("target"))
    if None not in before and None not in now and before != now:
        raise JournalError(
            f"{path}: the interrupted run seeded {before[0]} {before[1]}, this one targets {now[0]} {now[1]}; "
            "resume against the same gateway (its users would be mixed with another's), or pass --restart"
        )
    base = (old.get("base") or 0, old.get("base_fingerprint"))
    if base != (new.get("base") or 0, new.get("base_fingerprint")):
        was = f"grew the dump from {base[0]} users" if base[0] else "seeded the plan anew"
        raise JournalError(
            f"{path}: the interrupted run {was}, and the dump has changed since ({new.get('base') or 0} users now); "
            f"put it back to finish that run, {discard}"
        )


_Read = tuple[dict[str, Any], dict[int, tuple[int, int]], int, list[int], dict[int, PartialUser], list[tuple[int, str]]]


def _read(
    path: Path, fd: int, check: Callable[[dict[str, Any]], Callable[[int, dict[str, Any]], str | None]] | None = None
) -> _Read:
    """Header, completed users, clean size, damaged line numbers, users in part and lines completed anew.

    Streams line by line (memory stays flat: parts are kept only for users not complete yet). A torn
    last line (killed mid-write) is cut off so appends start cleanly; a damaged line elsewhere is
    skipped and reported. A user line lacking what the plan asks for (``check``) becomes a user in part.
    """
    done: dict[int, tuple[int, int]] = {}
    damaged: list[int] = []
    partial: dict[int, PartialUser] = {}
    completed: list[tuple[int, str]] = []
    header: dict[str, Any] | None = None
    test: Callable[[int, dict[str, Any]], str | None] | None = None
    offset = 0
    users = None
    with open(os.dup(fd), "rb") as file:
        for number, line in enumerate(file, start=1):
            if not line.endswith(b"\n"):
                os.ftruncate(fd, offset)
                break
            if header is None:
                header = _header(path, line)
                users = header.get("users")
                test = check(header) if check is not None else None
            elif (record := _RECORD.fullmatch(line)) is not None and (user := _parsed(record.group(2))) is not None:
                index = int(record.group(1))
                if isinstance(users, int) and index >= users:
                    damaged.append(number)
                elif index not in done:  # the first complete line of a user is the one that counts
                    try:
                        lacks = test(index, user) if test is not None else None
                    except ValueError as exc:
                        raise JournalError(
                            f"{path}:{number}: {exc}; not a user of this plan's run: fix the line, "
                            "or pass --restart to discard the journal"
                        ) from None
                    if lacks is None:
                        done[index] = (offset + record.start(2), len(record.group(2)))
                        partial.pop(index, None)
                    else:  # what it lacks is made at its own index, on the same user
                        partial[index] = PartialUser.of_user(user)
                        completed.append((number, f"user {index} lacked {lacks}"))
            elif line.startswith(b'{"index":') and b'"made":' in line:
                if not _apply_part(line, partial, done, users):
                    damaged.append(number)
            elif not _is_run_record(line):
                damaged.append(number)
            offset += len(line)
    if header is None:
        raise JournalError(f"{path}: empty journal; pass --restart to discard it")
    return header, done, offset, damaged, partial, completed


def _apply_part(line: bytes, partial: dict[int, PartialUser], done: dict[int, tuple[int, int]], users: Any) -> bool:
    """One part line into the users in part; False: damaged (unreadable, or for no user we know of)."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    index = record.get("index") if isinstance(record, dict) else None
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        return False
    if isinstance(users, int) and index >= users:
        return False
    if index in done:
        return True  # a part of a user completed later in the journal
    if record.get("made") == "user":
        if not isinstance(record.get("id"), str) or index in partial:
            return index in partial and partial[index].user_id == record.get("id")
        partial[index] = PartialUser(record["id"])
        return True
    user = partial.get(index)
    return user is not None and user.apply(record)


def _header(path: Path, line: bytes) -> dict[str, Any]:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        record = None
    if (
        not isinstance(record, dict)
        or record.get("journal") != _VERSION
        or not all(isinstance(record.get(key, 0), int) for key in ("seed", "users"))
    ):
        raise JournalError(f"{path}:1: not a seeding journal; pass --restart to discard it")
    return record


def _parsed(user: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(user)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _is_run_record(line: bytes) -> bool:
    """A ``{"pid":…}`` line a resumed run writes (who holds the journal now)."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(record, dict) and isinstance(record.get("pid"), int) and "index" not in record


def _last_pid(fd: int) -> int | None:
    """The pid of the run that last took the journal (its header, or a later resume's record)."""
    pid = None
    with contextlib.suppress(OSError), open(os.dup(fd), "rb") as file:
        file.seek(0)
        for line in file:
            if line.startswith(b'{"index":'):
                continue
            with contextlib.suppress(orjson.JSONDecodeError):
                record = orjson.loads(line)
                if isinstance(record, dict) and isinstance(record.get("pid"), int):
                    pid = record["pid"]
    return pid


_SHARD_JOURNAL = re.compile(r"\.shard-(\d+)-of-(\d+)\.journal")


def split_journals(dump: Path) -> dict[int, list[Path]]:
    """The journals of every split of ``dump``'s runs: 1 → the unsharded one, N → shard journals of N ways.

    A run of a plan leaves its journal beside the dump; a sharded run (``--shard I/N``,
    ``--processes N``) leaves one per shard, named for its split. All of them are found by name.
    """
    found: dict[int, list[Path]] = {}
    whole = journal_path(dump)
    if whole.exists() or whole.is_symlink():
        found[1] = [whole]
    stem = dump.name.removesuffix(".json")
    try:
        names = sorted(dump.parent.glob(f"{glob.escape(stem)}.shard-*-of-*.journal"))
    except OSError:
        names = []
    for path in names:
        match = _SHARD_JOURNAL.fullmatch(path.name[len(stem) :])
        if match is not None:
            found.setdefault(int(match[2]), []).append(path)
    return found


def refuse_other_splits(dump: Path, split: int, *, restart: bool, finish: str) -> None:
    """Refuse (``JournalError``) when journals of another split of this dump are unfinished.

    A run split another way would seed every user anew and leave those journals' users orphaned on
    the gateway (and a later ``--resume`` of them would replace the new dump). ``finish`` is the
    command that finishes them, with ``{split}`` for the number of ways. ``--restart`` discards them.
    """
    others = {ways: paths for ways, paths in split_journals(dump).items() if ways != split}
    if not others:
        return
    if restart:
        for paths in others.values():
            for path in paths:
                _discard(path)
        return
    ways, paths = min(others.items())
    names = ", ".join(str(path) for path in paths[:4]) + (f" and {len(paths) - 4} more" if len(paths) > 4 else "")
    how = "unsharded" if ways == 1 else f"split {ways} ways"
    mine = "unsharded" if split == 1 else f"split {split} ways"
    command = finish.replace("{split}", "" if ways == 1 else f" --processes {ways}")
    raise JournalError(
        f"{names}: an unfinished run of this plan ({how}) is here, and this run is {mine}; "
        f"finish it with `{command}`, or pass --restart to discard it"
    )


def _discard(path: Path) -> None:
    """Remove a journal another run of another split left, unless that run holds it right now."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _open_error(path, exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JournalError(f"{path}: another run is writing this journal right now; stop it first") from None
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def format_ranges(ranges: Iterable[tuple[int, int]], limit: int = 12) -> str:
    """``[(0, 2), (5, 5)]`` → ``"0-2, 5"`` (at most ``limit`` ranges, then how many more)."""
    shown: list[str] = []
    more = 0
    for first, last in ranges:
        if len(shown) < limit:
            shown.append(str(first) if first == last else f"{first}-{last}")
        else:
            more += 1
    return ", ".join(shown) + (f", … ({more} more ranges)" if more else "")
