"""Dump files: ``dumps/<scenario>_seeds.json``, written atomically, opened lazily.

Layout we write (valid JSON, so the course's loader and ``json.load`` still read it; older
readers ignore ``meta``)::

    {"meta":{...},"users":[
    {"user_id":"…","deposit_accounts":[],…},
    {"user_id":"…",…}
    ]}

One user per line lets a reader find users without parsing them. ``open_dump`` needs the offset
of each user; ``users[i]`` then reads and parses that one user, so cost grows with the users a
process touches, not with the dump. The offsets come from the dump's index, ``<dump>.idx``, which
the writer leaves beside dumps of 8 MiB or more (``seeding.dumps._index``: mapped, so opening a
million-user dump reads a few pages). Without a usable index, ``open_dump`` scans the file once for
the byte sequence ``{"user_id":`` (it cannot occur inside a JSON string, where quotes are escaped,
and only users have that key). The same scan indexes the course's own single-line dumps. Files
that are laid out otherwise (pretty-printed, other key order) are parsed whole.

What a lazy open checks, so a damaged file never passes for a shorter one: the head parses as
JSON with ``users`` as its last key, the file ends with ``]}``, the last user parses (a file cut
anywhere fails one of these), and ``meta.counts.users`` matches the users found. A user damaged in
the middle is reported, by file and line, when it is reached (``users[i]``, iteration, eager load).
The open file descriptor is read with ``pread`` only, so forked Locust workers can share it, and a
dump replaced on disk (atomically, by a new run) leaves already opened readers on the old file.
"""

from __future__ import annotations

import contextlib
import glob
import operator
import os
import re
import secrets
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, overload

import orjson
from pydantic import ValidationError

from .._exceptions import DumpError
from ..files import open_regular, read_regular
from ._index import (
    INDEX_FROM_BYTES,
    IndexOffsets,
    IndexWriter,
    OpenIndex,
    fingerprint_of,
    index_path,
    log,
    open_index,
    warn_index_unused,
)

if TYPE_CHECKING:  # the result models load when a dump is read: writing one needs none of them
    from ._result import SeedsResult, SeedUserResult

__all__ = [
    "DEFAULT_DUMPS_DIR",
    "DumpWriter",
    "LazyUsers",
    "dump_path",
    "find_dump",
    "load_seeds_result",
    "open_dump",
    "read_meta",
    "remove_stale_temporaries",
    "save_seeds_result",
    "user_bytes",
    "write_dump",
]

DEFAULT_DUMPS_DIR = Path("dumps")
_USER_START = b'{"user_id":'
_USER_START_RE = re.compile(re.escape(_USER_START))
_USERS_KEY_AT_END = re.compile(rb'"users"\s*:\s*\[$')
_CHUNK = 1 << 20  # scan buffer, reused: RSS stays flat whatever the size (larger is no faster)
_MAX_HEAD = 16 << 20  # a meta block larger than this is not one we wrote: parse the file whole
_OFFSETS_BUFFER = 1 << 16  # a writer's offsets held before they go to the index file


def dump_path(scenario: str, dumps_dir: str | Path = DEFAULT_DUMPS_DIR) -> Path:
    """``dumps/<scenario>_seeds.json``: the course's file name, which scripts rely on."""
    return Path(dumps_dir) / f"{scenario}_seeds.json"


def find_dump(name: str | Path, dumps_dir: str | Path = DEFAULT_DUMPS_DIR) -> Path:
    """A dump by path, or by bare scenario name: ``get-operations`` is ``dumps/get-operations_seeds.json``.

    An existing file always wins; a bare name (no directory, no suffix) that names no dump raises
    ``DumpError`` with the scenarios nearby ("did you mean"). Anything else comes back as it was,
    for ``open_dump`` to report.
    """
    path = Path(name)
    if path.exists() or path.suffix or len(path.parts) != 1:
        return path
    candidate = dump_path(path.name, dumps_dir)
    if candidate.exists():
        return candidate
    import difflib

    try:
        scenarios = sorted(found.name.removesuffix("_seeds.json") for found in Path(dumps_dir).glob("*_seeds.json"))
    except OSError:
        scenarios = []
    close = difflib.get_close_matches(path.name, scenarios, n=3, cutoff=0.6)
    hint = "; did you mean " + " or ".join(map(repr, close)) + "?" if close else ""
    raise DumpError(f"{path}: no such dump (nor {candidate}){hint}")


class DumpWriter:
    """Streams users into a dump; the file appears complete or not at all.

    Users go to a temporary file beside the target; ``commit()`` fsyncs it and renames it over the
    target. Leaving the ``with`` block on an exception (or a failing commit) removes the temporary
    file instead, and an existing dump at ``path`` stays as it was.

    The users' offsets go to ``<path>.idx`` (``seeding.dumps._index``), moved into place right after
    the dump: with ``index=None`` (the default) for dumps of ``INDEX_FROM_BYTES`` or more, which
    a scan would make slow to open, ``True`` always, ``False`` never. A failure to write the index
    costs one warning, never the dump.
    """

    def __init__(self, path: str | Path, meta: dict[str, Any], *, index: bool | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # pid + random: two writers of one dump (processes or threads) never share a temporary file
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        # O_EXCL never follows a symlink at the temporary name; the rename replaces one at ``path``.
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        self._file = open(fd, "wb", buffering=1 << 20)  # noqa: SIM115 - closed in commit/abort
        self.count = 0
        self._index_policy = index
        self._index: IndexWriter | None = None
        self._offsets: array[int] = array("q")  # not yet in the index file
        head = b'{"meta":' + orjson.dumps(meta) + b',"users":['
        self._pos = len(head)
        try:
            self._file.write(head)
        except BaseException:
            self.abort()
            raise

    def write(self, user: bytes | dict[str, Any]) -> None:
        """Append one user: its compact JSON (``{"user_id":…}`` on one line) or a dict."""
        if isinstance(user, bytes):
            data = user
        else:  # user_id first: the lazy reader finds users by that prefix
            data = orjson.dumps({"user_id": user["user_id"], **user} if "user_id" in user else user)
        if not data.startswith(_USER_START) or b"\n" in data:
            raise ValueError(f"a dump user must be one line of JSON starting with {_USER_START!r}: {data[:40]!r}")
        separator = b"\n" if self.count == 0 else b",\n"
        self._file.write(separator)
        self._file.write(data)
        self.count += 1
        if self._index_policy is not False:
            self._offsets.append(self._pos + len(separator))
            if len(self._offsets) >= _OFFSETS_BUFFER and self._wants_index():
                self._to_index()
        self._pos += len(separator) + len(data)

    def _wants_index(self) -> bool:
        return self._index_policy is True or (self._index_policy is None and self._pos >= INDEX_FROM_BYTES)

    def _to_index(self) -> None:
        """Move the offsets held so far into the index's temporary file (opened on first use)."""
        try:
            if self._index is None:
                self._index = IndexWriter(self._tmp.with_name(self._tmp.name.removesuffix(".tmp") + ".idx.tmp"))
            self._index.add(self._offsets)
        except OSError as exc:
            self._drop_index(exc)
        del self._offsets[:]

    def _drop_index(self, exc: OSError) -> None:
        """The dump goes on without an index; it will open by scanning."""
        log.warning("%s: cannot write its index (%s); the dump opens without one", self.path, exc.strerror or exc)
        self._index_policy = False
        if self._index is not None:
            self._index.abort()
            self._index = None

    def _finish_index(self) -> Path | None:
        """The index's finished temporary file, bound to the finished dump; None when there is none."""
        if self.count and self._index_policy is not False and self._wants_index():
            self._to_index()
        if self._index is None:
            return None
        try:
            fd = os.open(self._tmp, os.O_RDONLY | os.O_CLOEXEC)
            try:
                self._index.finish(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self._drop_index(exc)
            return None
        return self._index.tmp

    def commit(self) -> Path:
        """Close the users list, flush to disk and move the file into place."""
        try:
            self._file.write(b"\n]}\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            index_tmp = self._finish_index()
            index = index_path(self.path)
            with contextlib.suppress(OSError):  # readers see the new dump without an index, never with the old one
                index.unlink(missing_ok=True)
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        if index_tmp is not None:
            try:
                os.replace(index_tmp, index)
            except OSError as exc:
                self._drop_index(exc)
        _fsync_dir(self.path.parent)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the target is untouched.

        Closing flushes the buffer, which fails again on a full disk: the file goes all the same.
        """
        try:
            with contextlib.suppress(OSError):  # io closes the descriptor even when the flush fails
                self._file.close()
        finally:
            self._tmp.unlink(missing_ok=True)
            if self._index is not None:
                self._index.abort()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove ``.<name>.<pid>.<random>.tmp`` files beside ``path`` left by processes that no longer exist.

    A writer killed outright (SIGKILL, or a stuck cleanup cut short) cannot remove its own temporary
    file; the next run of the same dump does. Files of live processes are left alone.
    """
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, another user's
        return True
    return True


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_seeds_result(
    result: SeedsResult,
    scenario: str,
    dumps_dir: str | Path = DEFAULT_DUMPS_DIR,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write ``result`` to ``dumps/<scenario>_seeds.json`` (the course's function, now atomic)."""
    users = result.users
    with DumpWriter(dump_path(scenario, dumps_dir), meta or {"scenario": scenario}) as writer:
        for index in range(len(users)):
            writer.write(user_bytes(users, index))
    return writer.path


def user_bytes(users: Sequence[SeedUserResult], index: int) -> bytes:
    """User ``index``'s JSON line: a lazy dump's bytes as they are (no parse), else serialised."""
    return users.raw(index) if isinstance(users, LazyUsers) else users[index].model_dump_json().encode()


def load_seeds_result(scenario: str, dumps_dir: str | Path = DEFAULT_DUMPS_DIR) -> SeedsResult:
    """Open ``dumps/<scenario>_seeds.json`` (the course's function, now lazy).

    In a Locust process, called from ``events.init``, it returns seeds served across processes
    instead (``seeding.locust._course``): the master's fresh dump, each user to one virtual user.
    """
    path = dump_path(scenario, dumps_dir)
    course = sys.modules.get("seeding.locust._course")  # loaded by ``import seeding`` inside Locust only
    served = course.served_seeds(path) if course is not None else None
    return served if served is not None else open_dump(path)


def read_meta(path: str | Path) -> dict[str, Any] | None:
    """The dump's ``meta`` block, or None for dumps without one (made by the course's builder)."""
    path = Path(path)
    with _DumpFile(path) as dump:
        if dump.indexed:
            return dump.meta
    return _meta_of(_read_whole(path), path)


def open_dump(path: str | Path, *, lazy: bool = True) -> SeedsResult:
    """Open a dump file (ours or the course's) as a ``SeedsResult``.

    With ``lazy`` (the default) users are parsed when first reached; ``lazy=False`` parses and
    validates every user now. Raises ``DumpError`` naming the file (and line) when it is missing,
    truncated or corrupt.
    """
    from ._result import SeedsResult

    path = Path(path)
    dump = _DumpFile(path)
    if not dump.indexed:
        dump.close()
        result = _parse_whole(path)
    elif lazy:
        result = SeedsResult.model_construct(users=LazyUsers(dump))
    else:
        with dump:  # one user at a time: no tree of dicts for the whole file next to the models
            result = SeedsResult.model_construct(users=list(LazyUsers(dump)))
    result._source = str(path)
    return result


def _read_whole(path: Path) -> Any:
    try:
        return orjson.loads(read_regular(path, what="a dump", error=DumpError))
    except orjson.JSONDecodeError as exc:
        raise DumpError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); is the file truncated?") from None
    except FileNotFoundError:
        raise DumpError(f"{path}: no such dump; run `python -m seeding <plan>` to make it") from None


def _parse_whole(path: Path) -> SeedsResult:
    """Files we cannot index (pretty-printed, other key order): parse and validate everything."""
    data = _read_whole(path)
    if not isinstance(data, dict) or not isinstance(data.get("users"), list):
        raise DumpError(f'{path}: not a seeds dump: expected a JSON object with a "users" list')
    from ._result import SeedsResult

    try:
        result = SeedsResult.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        if len(loc) > 1 and loc[0] == "users":  # ("users", 5, "debit_card_accounts", ...) → user #5
            where = ": ".join(part for part in (f"user #{loc[1]}", ".".join(map(str, loc[2:]))) if part)
        else:
            where = ".".join(map(str, loc))
        raise DumpError(f"{path}: not a seeds dump: {where}: {first['msg']}") from None
    _check_count(path, _meta_of(data, path), len(result.users))
    return result


def _meta_of(top: Any, path: Path) -> dict[str, Any] | None:
    if not isinstance(top, dict):
        raise DumpError(f'{path}: not a seeds dump: expected a JSON object with a "users" list')
    meta = top.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise DumpError(f"{path}: its meta block is not a JSON object")
    return meta


def _check_count(path: Path, meta: dict[str, Any] | None, found: int) -> None:
    counts = (meta or {}).get("counts")
    expected = counts.get("users") if isinstance(counts, dict) else None
    if isinstance(expected, int) and expected != found:
        raise DumpError(f"{path}: its meta promises {expected} users but the file holds {found}; seed again")


class _DumpFile:
    """An open dump file and, when its layout allows (``indexed``), the byte offset of every user."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1
        self._index_file: OpenIndex | None = None  # the offsets come from ``<dump>.idx``
        try:
            self.fd = open_regular(path, what="a dump", error=DumpError)
        except FileNotFoundError:
            raise DumpError(f"{path}: no such dump; run `python -m seeding <plan>` to make it") from None
        self.meta: dict[str, Any] | None = None
        self.starts: array[int] | IndexOffsets = array("q")  # scanned, or read from the index file
        self.indexed = False
        self.users_end = 0
        try:
            self._index()
        except BaseException:
            self.close()
            raise

    def _index(self) -> None:
        size = os.fstat(self.fd).st_size
        if size == 0:
            raise DumpError(f"{self.path}: the dump is empty; the run that wrote it did not finish, seed again")
        index = open_index(self.path, self.fd)
        if index is not None:
            self._index_file = index
            try:
                if self._layout(index.starts, size):
                    return
                reason = "the dump is not laid out as the index says"
            except DumpError as exc:
                reason = f"the dump disagrees with it: {exc}"
            self._drop_index()  # the scan decides, and raises the dump's own error if it has one
            self.meta, self.users_end = None, 0
            self._layout(_find_all(self.fd, size), size)
            warn_index_unused(index.path, self.path, reason)
            return
        self._layout(_find_all(self.fd, size), size)

    def _layout(self, starts: array[int] | IndexOffsets, size: int) -> bool:
        """Check the file around ``starts`` (head, tail, last user, count); whether it can be read lazily."""
        head_end = starts[0] if starts else size
        if head_end > _MAX_HEAD:
            return False  # no user near the top: not a layout we index
        head = os.pread(self.fd, head_end, 0).rstrip()
        tail_at = max(size - 4096, head_end)
        tail = os.pread(self.fd, size - tail_at, tail_at).rstrip()
        if not starts:
            if not (head.endswith(b"]}") and head[:-2].rstrip().endswith(b"[")):
                return False
            head, tail = head[:-2].rstrip(), b"]}"  # a dump with no users: still one we can read
        if not _USERS_KEY_AT_END.search(head):
            return False  # "users" is not the last key before the first user: not a layout we index
        try:
            top = orjson.loads(head + b"]}")
        except orjson.JSONDecodeError:
            return False
        if not isinstance(top, dict) or top.get("users") != []:
            return False
        self.meta = _meta_of(top, self.path)
        if not tail.endswith(b"]}"):
            raise DumpError(
                f"{self.path}:{self.line_of(size)}: truncated: the file ends inside user #{len(starts) - 1} "
                "without the closing ']}'; the run that wrote it did not finish, seed again"
            )
        self.users_end = tail_at + len(tail) - 2  # the closing ']'
        self.starts = starts
        if starts:
            self._check_last_user()
        _check_count(self.path, self.meta, len(starts))
        self.indexed = True
        return True

    def _check_last_user(self) -> None:
        """A file cut inside its last user can still end in ``]}``: parsing that user tells."""
        from ._result import SeedUserResult

        last = len(self.starts) - 1
        try:
            SeedUserResult.model_validate_json(self.user_bytes(last))
        except (ValidationError, DumpError):
            raise DumpError(
                f"{self.path}:{self.line_of(self.starts[last])}: user #{last}, the last, is incomplete or corrupt; "
                "is the file truncated? seed again"
            ) from None

    def user_bytes(self, index: int) -> bytes:
        """User ``index``'s JSON as it is in the file (without the separator after it)."""
        starts = self.starts
        last = index + 1 == len(starts)
        try:
            if isinstance(starts, array):
                start = starts[index]
                end = self.users_end if last else starts[index + 1]
            else:  # an open index file: both offsets in one read
                start, end = starts.span(index)
                if last:
                    end = self.users_end
        except DumpError:  # the index changed on disk under us
            return self._misplaced(index)
        raw = os.pread(self.fd, end - start, start).rstrip() if start < end <= self.users_end else b""
        if not raw.startswith(_USER_START):
            return self._misplaced(index)
        if last:
            return raw
        if not raw.endswith(b","):
            raise DumpError(f"{self.path}:{self.line_of(start)}: user #{index} is not followed by a comma")
        return raw[:-1].rstrip()

    def _misplaced(self, index: int) -> bytes:
        """User ``index`` is not where its offset says: a damaged index (scan instead) or a changed file."""
        changed = DumpError(
            f"{self.path}: user #{index} is not where it was when the dump was opened; "
            "the file changed on disk since, open it again"
        )
        index_file = self._index_file
        if index_file is None or not self.indexed:
            raise changed
        count = len(self.starts)
        self._drop_index()
        self.starts = _find_all(self.fd, os.fstat(self.fd).st_size)
        if len(self.starts) != count:
            raise changed
        warn_index_unused(index_file.path, self.path, f"user #{index} is not where it says")
        return self.user_bytes(index)

    def _drop_index(self) -> None:
        if self._index_file is not None:
            self.starts = array("q")
            self._index_file.close()
            self._index_file = None

    def line_of(self, offset: int) -> int:
        """1-based line of a byte offset (error messages only: it reads up to the offset)."""
        lines, pos = 1, 0
        while pos < offset:
            chunk = os.pread(self.fd, min(_CHUNK, offset - pos), pos)
            if not chunk:
                break
            lines += chunk.count(b"\n")
            pos += len(chunk)
        return lines

    def close(self) -> None:
        self._drop_index()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def _find_all(fd: int, size: int) -> array[int]:
    """Offsets of every ``{"user_id":`` in the file, read in chunks into one reused buffer."""
    found: array[int] = array("q")
    overlap = len(_USER_START) - 1  # chunks overlap so a match across a boundary is seen once
    buffer = bytearray(min(_CHUNK, size))
    pos = 0
    while pos < size:
        got = os.preadv(fd, [buffer], pos)
        if got <= 0:
            break
        found.extend(pos + match.start() for match in _USER_START_RE.finditer(buffer, 0, got))
        if pos + got >= size:
            break
        pos += got - overlap
    return found


class LazyUsers(Sequence["SeedUserResult"]):
    """The users of a dump file, each parsed when reached (and not kept: parsing one is ~20 µs).

    Immutable, so copies share it; pickling reopens the file by path (a file descriptor means
    nothing in another process).
    """

    def __init__(self, dump: _DumpFile) -> None:
        from ._result import SeedUserResult

        self._dump = dump
        self._count = len(dump.starts)
        self._model = SeedUserResult

    @property
    def path(self) -> Path:
        """The dump file these users are read from."""
        return self._dump.path

    @property
    def meta(self) -> dict[str, Any] | None:
        """The dump's ``meta`` block, read when it was opened."""
        return self._dump.meta

    def fingerprint(self) -> str:
        """The identity of the file these users are read from (its size, first and last 64 KiB), in hex."""
        return fingerprint_of(self._dump.fd).hex()

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> SeedUserResult: ...
    @overload
    def __getitem__(self, index: slice) -> list[SeedUserResult]: ...
    def __getitem__(self, index: int | slice) -> SeedUserResult | list[SeedUserResult]:
        if isinstance(index, slice):
            return [self._parse(i) for i in range(*index.indices(self._count))]
        return self._parse(self._position(index))

    def _position(self, index: int) -> int:
        position = operator.index(index)
        if position < 0:
            position += self._count
        if not 0 <= position < self._count:
            raise IndexError(f"{self._dump.path}: user index {index} out of range ({self._count} users)")
        return position

    def __iter__(self) -> Iterator[SeedUserResult]:
        for index in range(self._count):
            yield self._parse(index)

    def _parse(self, index: int) -> SeedUserResult:
        raw = self._dump.user_bytes(index)
        try:
            return self._model.model_validate_json(raw)
        except ValidationError as exc:
            line = self._dump.line_of(self._dump.starts[index])
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(user)"
            raise DumpError(f"{self._dump.path}:{line}: user #{index} is corrupt: {where}: {first['msg']}") from None

    def raw(self, index: int) -> bytes:
        """User ``index`` as the JSON bytes in the file (for copying without parsing)."""
        return self._dump.user_bytes(self._position(index))

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _reopen, (str(self._dump.path),)

    def __repr__(self) -> str:
        return f"<LazyUsers {self._count} users of {self._dump.path}>"


def _reopen(path: str) -> LazyUsers:
    """Unpickling: open the dump again (and check it again) in this process."""
    users = open_dump(path).users
    if not isinstance(users, LazyUsers):
        raise DumpError(f"{path}: its layout changed since it was opened lazily")
    return users


def write_dump(
    path: str | Path, meta: dict[str, Any], users: Iterable[bytes | dict[str, Any]], *, index: bool | None = None
) -> Path:
    """Write a whole dump atomically from an iterable of users (JSON bytes or dicts); ``index`` as ``DumpWriter``'s."""
    with DumpWriter(path, meta, index=index) as writer:
        for user in users:
            writer.write(user)
    return writer.path
