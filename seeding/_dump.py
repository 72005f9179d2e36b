"""Dump files: ``dumps/<scenario>_seeds.json``, written atomically, opened lazily.

Layout we write (valid JSON, so the course's loader and ``json.load`` still read it; older
readers ignore ``meta``)::

    {"meta":{...},"users":[
    {"user_id":"…","deposit_accounts":[],…},
    {"user_id":"…",…}
    ]}

One user per line lets a reader find users without parsing them. ``open_dump`` scans the file once
for the byte sequence ``{"user_id":`` (it cannot occur inside a JSON string, where quotes are
escaped, and only users have that key) and keeps an array of offsets; ``users[i]`` then reads and
parses that one user. Cost grows with the users a process touches, not with the dump. The same
scan indexes the course's own single-line dumps (``{"users":[{"user_id":…},…]}``). Files that are
laid out otherwise (pretty-printed, other key order) are parsed whole.
"""

from __future__ import annotations

import os
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, overload

import orjson
from pydantic import ValidationError

from ._exceptions import DumpError
from ._result import SeedsResult, SeedUserResult

__all__ = [
    "DEFAULT_DUMPS_DIR",
    "DumpWriter",
    "LazyUsers",
    "dump_path",
    "load_seeds_result",
    "open_dump",
    "read_meta",
    "save_seeds_result",
    "write_dump",
]

DEFAULT_DUMPS_DIR = Path("dumps")
_USER_START = b'{"user_id":'
_CHUNK = 8 << 20


def dump_path(scenario: str, dumps_dir: str | Path = DEFAULT_DUMPS_DIR) -> Path:
    """``dumps/<scenario>_seeds.json``: the course's file name, which scripts rely on."""
    return Path(dumps_dir) / f"{scenario}_seeds.json"


class DumpWriter:
    """Streams users into a dump; the file appears complete or not at all.

    Users go to a temporary file beside the target; ``commit()`` fsyncs it and renames it over the
    target. Leaving the ``with`` block on an exception removes the temporary file instead.
    """

    def __init__(self, path: str | Path, meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._file = open(self._tmp, "wb", buffering=1 << 20)  # noqa: SIM115 - closed in commit/abort
        self._file.write(b'{"meta":' + orjson.dumps(meta) + b',"users":[')
        self.count = 0

    def write(self, user: bytes | dict[str, Any]) -> None:
        """Append one user: its JSON (one line, no newline inside) or a dict."""
        data = user if isinstance(user, bytes) else orjson.dumps(user)
        self._file.write(b"\n" if self.count == 0 else b",\n")
        self._file.write(data)
        self.count += 1

    def commit(self) -> Path:
        self._file.write(b"\n]}\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self.path)
        _fsync_dir(self.path.parent)
        return self.path

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


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
    with DumpWriter(dump_path(scenario, dumps_dir), meta or {"scenario": scenario}) as writer:
        for user in result.users:
            writer.write(user.model_dump_json().encode())
    return writer.path


def load_seeds_result(scenario: str, dumps_dir: str | Path = DEFAULT_DUMPS_DIR) -> SeedsResult:
    """Open ``dumps/<scenario>_seeds.json`` (the course's function, now lazy)."""
    return open_dump(dump_path(scenario, dumps_dir))


def read_meta(path: str | Path) -> dict[str, Any] | None:
    """The dump's ``meta`` block, or None for dumps without one (made by the course's builder)."""
    with _DumpFile(Path(path)) as dump:
        return dump.meta


def open_dump(path: str | Path, *, lazy: bool = True) -> SeedsResult:
    """Open a dump file (ours or the course's) as a ``SeedsResult``.

    With ``lazy`` (the default) users are parsed when first reached; ``lazy=False`` parses and
    validates every user now. Raises ``DumpError`` naming the file (and line) when it is missing,
    truncated or corrupt.
    """
    path = Path(path)
    dump = _DumpFile(path)
    if dump.starts is None or not lazy:
        dump.close()
        result = _parse_whole(path)
    else:
        result = SeedsResult.model_construct(users=LazyUsers(dump))
    result._source = str(path)
    return result


def _parse_whole(path: Path) -> SeedsResult:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise DumpError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); is the file truncated?") from None
    try:
        return SeedsResult.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DumpError(f"{path}: not a seeds dump: {where}: {first['msg']}") from None


class _DumpFile:
    """An open dump file and, when its layout allows, the byte offset of every user."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1
        try:
            self.fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise DumpError(f"{path}: no such dump; run `python -m seeding <plan>` to make it") from None
        except OSError as exc:
            raise DumpError(f"{path}: cannot open the dump: {exc.strerror}") from None
        self.meta: dict[str, Any] | None = None
        self.starts: array[int] | None = None
        self.users_end = 0
        try:
            self._index()
        except BaseException:
            self.close()
            raise

    def _index(self) -> None:
        size = os.fstat(self.fd).st_size
        if size == 0:
            raise DumpError(f"{self.path}: the dump is empty")
        starts = _find_all(self.fd, size, _USER_START)
        head_end = starts[0] if starts else size
        head = os.pread(self.fd, min(head_end, 1 << 20), 0).rstrip()
        tail_at = max(size - 4096, 0)
        tail = os.pread(self.fd, size - tail_at, tail_at).rstrip()
        if not starts or not re.search(rb'"users"\s*:\s*\[$', head):
            return  # not a layout we can index (or no users): parse it whole
        try:
            top = orjson.loads(head + b"]}")
        except orjson.JSONDecodeError:
            return
        if not tail.endswith(b"]}"):
            raise DumpError(
                f"{self.path}:{self.line_of(size)}: truncated: the file ends inside user #{len(starts) - 1} "
                "without the closing ']}'; the run that wrote it did not finish, seed again"
            )
        self.users_end = tail_at + len(tail) - 2  # the closing ']'
        self.meta = top.get("meta") if isinstance(top, dict) else None
        expected = (self.meta or {}).get("counts", {}).get("users")
        if isinstance(expected, int) and expected != len(starts):
            raise DumpError(f"{self.path}: its meta promises {expected} users but the file holds {len(starts)}")
        self.starts = starts

    def user_bytes(self, index: int) -> bytes:
        assert self.starts is not None
        start = self.starts[index]
        end = self.starts[index + 1] if index + 1 < len(self.starts) else self.users_end
        return os.pread(self.fd, end - start, start).rstrip().removesuffix(b",").rstrip()

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
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def _find_all(fd: int, size: int, needle: bytes) -> array[int]:
    """Offsets of every occurrence of ``needle``, reading in chunks (RSS stays flat)."""
    found: array[int] = array("q")
    overlap = len(needle) - 1
    carry, pos = b"", 0
    while pos < size:
        chunk = os.pread(fd, _CHUNK, pos)
        if not chunk:
            break
        buf, base = carry + chunk, pos - len(carry)
        i = buf.find(needle)
        while i != -1:
            found.append(base + i)
            i = buf.find(needle, i + 1)
        carry, pos = buf[-overlap:], pos + len(chunk)
    return found


class LazyUsers(Sequence[SeedUserResult]):
    """The users of a dump file, each parsed when reached (and not kept: parsing one is ~20 µs)."""

    def __init__(self, dump: _DumpFile) -> None:
        assert dump.starts is not None
        self._dump = dump
        self._count = len(dump.starts)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> SeedUserResult: ...
    @overload
    def __getitem__(self, index: slice) -> list[SeedUserResult]: ...
    def __getitem__(self, index: int | slice) -> SeedUserResult | list[SeedUserResult]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"{self._dump.path}: user index {index} out of range ({self._count} users)")
        return self._parse(index)

    def __iter__(self) -> Iterator[SeedUserResult]:
        for index in range(self._count):
            yield self._parse(index)

    def _parse(self, index: int) -> SeedUserResult:
        raw = self._dump.user_bytes(index)
        try:
            return SeedUserResult.model_validate_json(raw)
        except ValidationError as exc:
            assert self._dump.starts is not None
            line = self._dump.line_of(self._dump.starts[index])
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(user)"
            raise DumpError(f"{self._dump.path}:{line}: user #{index} is corrupt: {where}: {first['msg']}") from None

    def raw(self, index: int) -> bytes:
        """User ``index`` as the JSON bytes in the file (for copying without parsing)."""
        return self._dump.user_bytes(index)

    def __repr__(self) -> str:
        return f"<LazyUsers {self._count} users of {self._dump.path}>"


def write_dump(path: str | Path, meta: dict[str, Any], users: Iterable[bytes | dict[str, Any]]) -> Path:
    """Write a whole dump atomically from an iterable of users (JSON bytes or dicts)."""
    with DumpWriter(path, meta) as writer:
        for user in users:
            writer.write(user)
    return writer.path
