"""Dumps at scale: what opening a 10k / 100k / 1M-user dump costs a fresh process, next to the course's load.

    python bench/dump_scale.py [--sizes 10000,100000,1000000] [--full-max 100000] [--keep DIR]

Makes dumps shaped like scenario 11.2 as the builder writes them today (per user one debit-card and
one credit-card account, each with 1 physical + 1 virtual card issued, the 2 ``opened_cards`` it
opened with, and 1 each of top-up / purchase / transfer / cash-withdrawal; uuid4 ids) in two
layouts: ours (one user per line, written through ``DumpWriter``, with its ``.idx`` offset index)
and the course's single line (the bytes of pydantic ``SeedsResult(...).model_dump_json()``, checked
against the models below; the course records no ``opened_cards``). Each measurement runs in a new
``python -c`` process, so wall time and peak RSS cover the interpreter, imports and all: that is
what every Locust worker pays.

Our dump is opened three ways, side by side: with its index, without it (the index moved away, so
``open_dump`` scans the file, as it does for a course-made dump), and, for the largest size, both
again with the dump and index evicted from the page cache first (``posix_fadvise(DONTNEED)`` on
those two files only; Python and its libraries stay cached). Otherwise files are read from the
page cache, as a second worker on the same machine would. Sizes above ``--full-max`` skip the
course's whole-file load and ``lazy=False`` (tens of GB at 1M users). Temporary files (about 1.5 GB
at 1M users: check ``df -h /tmp``) are removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
SEED = 112
TARGET_WALL_S = 1.0  # at 100k users, lazy open (issue 9)
TARGET_RSS_MB = 300.0
INDEXED_TARGET_WALL_S = 0.3  # at 1M users, with the index (issue 15)
INDEXED_TARGET_RSS_MB = 60.0

# The course's result models (seeds/schema/result.py), as users have them today.
COURSE_MODELS = """
import random
from pydantic import BaseModel, Field

class SeedCardResult(BaseModel):
    card_id: str

class SeedOperationResult(BaseModel):
    operation_id: str

class SeedAccountResult(BaseModel):
    account_id: str
    physical_cards: list[SeedCardResult] = Field(default_factory=list)
    virtual_cards: list[SeedCardResult] = Field(default_factory=list)
    top_up_operations: list[SeedOperationResult] = Field(default_factory=list)
    purchase_operations: list[SeedOperationResult] = Field(default_factory=list)
    transfer_operations: list[SeedOperationResult] = Field(default_factory=list)
    cash_withdrawal_operations: list[SeedOperationResult] = Field(default_factory=list)

class SeedUserResult(BaseModel):
    user_id: str
    deposit_accounts: list[SeedAccountResult] = Field(default_factory=list)
    savings_accounts: list[SeedAccountResult] = Field(default_factory=list)
    debit_card_accounts: list[SeedAccountResult] = Field(default_factory=list)
    credit_card_accounts: list[SeedAccountResult] = Field(default_factory=list)

class SeedsResult(BaseModel):
    users: list[SeedUserResult] = Field(default_factory=list)

    def get_next_user(self) -> SeedUserResult:
        return self.users.pop(0)

    def get_random_user(self) -> SeedUserResult:
        return random.choice(self.users)
"""

# Every child prints one JSON line: its peak RSS, its CPU time (user + system: less sensitive than wall
# time to the other work on a shared machine) and the card ids it reached (checked by the parent).
# Peak RSS is VmHWM, this process image's own high-water mark: ru_maxrss would also count the parent,
# as Linux carries it over fork and exec.
_REPORT = """
import json as _json, resource as _resource
try:
    with open("/proc/self/status") as _status:
        _rss = next(int(_l.split()[1]) for _l in _status if _l.startswith("VmHWM:")) * 1024
except OSError:
    _rss = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss * 1024
_ru = _resource.getrusage(_resource.RUSAGE_SELF)
print(_json.dumps({"rss": _rss, "cpu": _ru.ru_utime + _ru.ru_stime, "n": n, "cards": cards}))
"""
_REACH = """
n = len(users)
cards = [users[i].debit_card_accounts[0].physical_cards[0].card_id for i in (0, n // 2, n - 1)]
"""
CHILDREN = {
    "lazy": "import sys, seeding\nusers = seeding.open_dump(sys.argv[1]).users\n" + _REACH,
    "course": "import sys\nfrom pathlib import Path\n"
    + COURSE_MODELS
    + "users = SeedsResult.model_validate_json(Path(sys.argv[1]).read_text()).users\n"
    + _REACH,
    "eager": "import sys, seeding\nusers = seeding.open_dump(sys.argv[1], lazy=False).users\n" + _REACH,
    "write": "import sys\nsys.path.insert(0, sys.argv[2])\nimport dump_scale, seeding\n"
    "n = int(sys.argv[3])\n"
    "seeding.write_dump(sys.argv[1], dump_scale.meta(n), dump_scale.user_lines(n))\n"
    "cards = []\n",
    # The builder's path: users appended to the run journal as they complete, then streamed into the dump.
    "journal": "import sys\nsys.path.insert(0, sys.argv[2])\nimport dump_scale, seeding\n"
    "from pathlib import Path\nfrom seeding.engine._journal import Journal\n"
    "n = int(sys.argv[3])\n"
    "journal = Journal.start(Path(sys.argv[1] + '.journal'), {'plan_hash': 'bench', 'users': n})\n"
    "for i, line in enumerate(dump_scale.user_lines(n)):\n    journal.append(i, line)\n"
    "seeding.write_dump(sys.argv[1], dump_scale.meta(n), journal.users_in_order(n))\n"
    "journal.remove()\n"
    "cards = []\n",
}


def _uuid4(rng: random.Random) -> str:
    """A uuid4-shaped string, reproducible from ``rng`` and several times faster than ``uuid.UUID``."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _account(rng: random.Random) -> dict[str, Any]:
    return {
        "account_id": _uuid4(rng),
        "physical_cards": [{"card_id": _uuid4(rng)}],
        "virtual_cards": [{"card_id": _uuid4(rng)}],
        "top_up_operations": [{"operation_id": _uuid4(rng)}],
        "purchase_operations": [{"operation_id": _uuid4(rng)}],
        "transfer_operations": [{"operation_id": _uuid4(rng)}],
        "cash_withdrawal_operations": [{"operation_id": _uuid4(rng)}],
    }


def users(n: int, *, opened: bool = False) -> Iterator[dict[str, Any]]:
    """``n`` scenario-11.2 users, the same ones on every call (seeded).

    ``opened`` adds the cards each account opened with, as our builder records them (from a second
    generator, so every other id is the same with or without them).
    """
    rng, cards = random.Random(SEED), random.Random(SEED + 1)
    for _ in range(n):
        user = {
            "user_id": _uuid4(rng),
            "deposit_accounts": [],
            "savings_accounts": [],
            "debit_card_accounts": [_account(rng)],
            "credit_card_accounts": [_account(rng)],
        }
        if opened:
            for field in ("debit_card_accounts", "credit_card_accounts"):
                user[field][0]["opened_cards"] = [
                    {"card_id": _uuid4(cards), "type": "VIRTUAL"},
                    {"card_id": _uuid4(cards), "type": "PHYSICAL"},
                ]
        yield user


def user_lines(n: int, *, opened: bool = True) -> Iterator[bytes]:
    """The users as the builder hands them over: one JSON document each."""
    return (orjson.dumps(user) for user in users(n, opened=opened))


def meta(n: int) -> dict[str, Any]:
    """A meta block like the builder's (its user count is checked on open)."""
    return {"scenario": "bench-11-2", "counts": {"users": n, "accounts": 2 * n, "cards": 4 * n, "operations": 8 * n}}


def write_course_dump(path: Path, n: int) -> None:
    """The course's single-line dump, streamed: byte for byte what ``model_dump_json()`` gives."""
    with open(path, "wb", buffering=1 << 20) as file:
        file.write(b'{"users":[')
        for i, line in enumerate(user_lines(n, opened=False)):
            file.write(line if i == 0 else b"," + line)
        file.write(b"]}")


def check_course_bytes(n: int = 200) -> None:
    """Fail loudly if the streamed course layout ever drifts from what the course's pydantic writes."""
    course = types.ModuleType("course_result")
    sys.modules[course.__name__] = course  # pydantic resolves the models' forward references through it
    exec(COURSE_MODELS, course.__dict__)  # our own constant
    made = course.SeedsResult(users=list(users(n))).model_dump_json().encode()
    streamed = b'{"users":[' + b",".join(user_lines(n, opened=False)) + b"]}"
    if made != streamed:
        raise SystemExit("bench bug: the streamed course layout differs from model_dump_json()")


def expected_cards(n: int) -> list[str]:
    picks = {0, n // 2, n - 1}
    found = {
        i: u["debit_card_accounts"][0]["physical_cards"][0]["card_id"] for i, u in enumerate(users(n)) if i in picks
    }
    return [found[0], found[n // 2], found[n - 1]]


def median(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time: quick measurements are the noisiest."""
    return sorted(reports, key=lambda report: report["wall"])[len(reports) // 2]


def evict_from_cache(paths: tuple[Path, ...]) -> None:
    """Drop these files' pages from the page cache (only theirs: the machine is shared)."""
    for path in paths:
        if path.exists():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)  # dirty pages cannot be dropped
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def run_child(kind: str, *args: str, evict: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; wall time is the whole process, as seen from outside."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    evict_from_cache(evict)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILDREN[kind] + _REPORT, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{kind} {args[0]} failed:\n{proc.stderr}")
    if "seeding.dump" in proc.stderr or "not used" in proc.stderr:
        raise SystemExit(f"{kind} {args[0]}: unexpected warning:\n{proc.stderr}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["wall"] = wall
    return report


@contextlib.contextmanager
def index_hidden(dump: Path) -> Iterator[None]:
    """The dump without its index for a while: ``open_dump`` scans it, as it does a course-made file."""
    index, hidden = dump.with_name(dump.name + ".idx"), dump.with_name(dump.name + ".idx-hidden")
    index.rename(hidden)
    try:
        yield
    finally:
        hidden.rename(index)


def _mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:,.0f} MB"


class Variant:
    """One way of opening one dump, measured several times interleaved with the others."""

    def __init__(self, n: int, name: str, path: Path, *, hide_index: bool = False, cold: bool = False) -> None:
        self.n, self.name, self.path, self.hide_index = n, name, path, hide_index
        index = path.with_name(path.name + ".idx")
        self.evict = ((path,) if hide_index else (path, index)) if cold else ()
        self.reports: list[dict[str, Any]] = []

    def run(self) -> None:
        with index_hidden(self.path) if self.hide_index else contextlib.nullcontext():
            self.reports.append(run_child("lazy", str(self.path), evict=self.evict))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="user counts, comma-separated")
    parser.add_argument(
        "--full-max", type=int, default=100_000, help="largest size that also gets the course's load and lazy=False"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs of each quick open, interleaved (median kept)")
    parser.add_argument("--keep", type=Path, help="write the dumps here and keep them")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    check_course_bytes()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="dump-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, ...]] = []
    verdicts: list[str] = []
    try:
        writes: dict[int, dict[str, Any]] = {}
        journals: dict[int, dict[str, Any]] = {}
        variants: list[Variant] = []
        for n in sizes:
            ours, course = workdir / f"ours-{n}_seeds.json", workdir / f"course-{n}_seeds.json"
            writes[n] = run_child("write", str(ours), str(ROOT / "bench"), str(n))
            if not ours.with_name(ours.name + ".idx").exists():
                raise SystemExit(f"{ours}: written without an index ({ours.stat().st_size:,} bytes): too small")
            variants += [
                Variant(n, "open_dump, our layout, with its index", ours),
                Variant(n, "open_dump, our layout, no index (scan)", ours, hide_index=True),
            ]
            if n == sizes[-1]:
                variants += [
                    Variant(n, "  same, cold cache: with its index", ours, cold=True),
                    Variant(n, "  same, cold cache: no index (scan)", ours, hide_index=True, cold=True),
                ]
            if n <= args.full_max:
                journal = workdir / f"journal-{n}_seeds.json"
                journals[n] = run_child("journal", str(journal), str(ROOT / "bench"), str(n))
                journal.unlink()
                journal.with_name(journal.name + ".idx").unlink(missing_ok=True)
                write_course_dump(course, n)
                variants.append(Variant(n, "open_dump, course file (scan)", course))
        for _ in range(args.runs):  # interleaved: a busy moment on the shared machine hits every variant alike
            for variant in variants:
                variant.run()
        opened = {(v.n, v.name): median(v.reports) for v in variants}

        for n in sizes:
            ours, course = workdir / f"ours-{n}_seeds.json", workdir / f"course-{n}_seeds.json"
            figures = {name: report for (size, name), report in opened.items() if size == n}
            if n <= args.full_max:
                figures["course SeedsResult.model_validate_json"] = run_child("course", str(course))
                figures["open_dump(lazy=False), our layout"] = run_child("eager", str(ours))
            cards = expected_cards(n)
            for name, report in figures.items():
                if report["n"] != n or report["cards"] != cards:
                    raise SystemExit(f"{name} at {n}: reached the wrong users ({report['n']}, {report['cards']})")
            base = figures.get("course SeedsResult.model_validate_json")
            for name, report in figures.items():
                rows.append(
                    (
                        f"{n:,}",
                        name,
                        f"{report['wall']:.2f} s",
                        f"{report['cpu']:.2f} s",
                        _mb(report["rss"]),
                        f"{base['wall'] / report['wall']:.1f}x" if base else "",
                        f"{base['rss'] / report['rss']:.1f}x" if base else "",
                    )
                )
            write = writes[n]
            rows.append(
                (f"{n:,}", "write_dump from a generator", f"{write['wall']:.2f} s", "", _mb(write["rss"]), "", "")
            )
            if n in journals:
                journal = journals[n]
                rows.append(
                    (
                        f"{n:,}",
                        "journal append + write_dump",
                        f"{journal['wall']:.2f} s",
                        "",
                        _mb(journal["rss"]),
                        "",
                        "",
                    )
                )
            index = ours.with_name(ours.name + ".idx")
            files = f"{ours.stat().st_size / 1e6:,.0f} MB" + (
                f", course's {course.stat().st_size / 1e6:,.0f} MB" if course.exists() else ""
            )
            rows.append((f"{n:,}", f"(file size: ours {files}; index {index.stat().st_size / 1e6:.1f} MB)", *[""] * 5))

            indexed, scanned = (
                figures["open_dump, our layout, with its index"],
                figures["open_dump, our layout, no index (scan)"],
            )
            if 100_000 <= n < 1_000_000:  # issue 9's target, for dumps of that size
                ok = scanned["wall"] <= TARGET_WALL_S and scanned["rss"] / 1e6 <= TARGET_RSS_MB
                verdicts.append(
                    f"{n:,} users, lazy open + users[i] even without the index: {scanned['wall']:.2f} s, "
                    f"{_mb(scanned['rss'])} (target ≤ {TARGET_WALL_S:.0f} s, ≤ {TARGET_RSS_MB:.0f} MB): "
                    f"{'met' if ok else 'NOT met'}"
                )
            if n >= 1_000_000:
                ok = indexed["wall"] <= INDEXED_TARGET_WALL_S and indexed["rss"] / 1e6 <= INDEXED_TARGET_RSS_MB
                verdicts.append(
                    f"{n:,} users, open + users[i] with the index: {indexed['wall']:.2f} s, {_mb(indexed['rss'])} "
                    f"(target ≤ {INDEXED_TARGET_WALL_S} s, ≤ {INDEXED_TARGET_RSS_MB:.0f} MB): "
                    f"{'met' if ok else 'NOT met'}; the scan takes {scanned['wall'] / indexed['wall']:.1f}x as long"
                )
        smallest = opened[(sizes[0], "open_dump, our layout, with its index")]
        for n in sizes[1:]:
            report = opened[(n, "open_dump, our layout, with its index")]
            verdicts.append(
                f"with the index, {n:,} users vs {sizes[0]:,}: wall {report['wall'] / smallest['wall']:.2f}x, "
                f"CPU {report['cpu'] / smallest['cpu']:.2f}x, peak RSS {report['rss'] / smallest['rss']:.2f}x"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)

    header = (
        "users",
        "fresh process: open + len + users[0, n/2, n-1]",
        "wall",
        "CPU",
        "peak RSS",
        "wall vs course",
        "RSS vs course",
    )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" if i == 1 else f"{{:>{w}}}" for i, w in enumerate(widths))
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; every figure is one new process; "
        f"opens: median of {args.runs}, interleaved"
    )
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    for verdict in verdicts:
        print(verdict)


if __name__ == "__main__":
    main()
