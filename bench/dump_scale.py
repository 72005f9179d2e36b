"""Dumps at scale: what opening a 10k / 100k-user dump costs a fresh process, next to the course's load.

    python bench/dump_scale.py [--sizes 10000,100000] [--keep DIR]

Makes dumps shaped like scenario 11.2 (per user one debit-card and one credit-card account, each with
1 physical + 1 virtual card and 1 each of top-up / purchase / transfer / cash-withdrawal; uuid4 ids) in
two layouts: ours (one user per line, written through ``DumpWriter``) and the course's single line
(the bytes of pydantic ``SeedsResult(...).model_dump_json()``, checked against the models below). Each
measurement runs in a new ``python -c`` process, so wall time and peak RSS cover the interpreter,
imports and all: that is what every Locust worker pays. Files are read from the page cache, as a
second worker on the same machine would. Temporary files are removed at the end.
"""

from __future__ import annotations

import argparse
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
TARGET_WALL_S = 1.0
TARGET_RSS_MB = 300.0

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

# Every child prints one JSON line: its peak RSS and the card ids it reached (checked by the parent).
# Peak RSS is VmHWM, this process image's own high-water mark: ru_maxrss would also count the parent,
# as Linux carries it over fork and exec.
_REPORT = """
import json as _json, resource as _resource
try:
    with open("/proc/self/status") as _status:
        _rss = next(int(_l.split()[1]) for _l in _status if _l.startswith("VmHWM:")) * 1024
except OSError:
    _rss = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss * 1024
print(_json.dumps({"rss": _rss, "n": n, "cards": cards}))
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
    "from pathlib import Path\nfrom seeding._journal import Journal\n"
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


def users(n: int) -> Iterator[dict[str, Any]]:
    """``n`` scenario-11.2 users, the same ones on every call (seeded)."""
    rng = random.Random(SEED)
    for _ in range(n):
        yield {
            "user_id": _uuid4(rng),
            "deposit_accounts": [],
            "savings_accounts": [],
            "debit_card_accounts": [_account(rng)],
            "credit_card_accounts": [_account(rng)],
        }


def user_lines(n: int) -> Iterator[bytes]:
    """The users as the builder hands them over: one JSON document each."""
    return (orjson.dumps(user) for user in users(n))


def meta(n: int) -> dict[str, Any]:
    """A meta block like the builder's (its user count is checked on open)."""
    return {"scenario": "bench-11-2", "counts": {"users": n, "accounts": 2 * n, "cards": 4 * n, "operations": 8 * n}}


def write_course_dump(path: Path, n: int) -> None:
    """The course's single-line dump, streamed: byte for byte what ``model_dump_json()`` gives."""
    with open(path, "wb", buffering=1 << 20) as file:
        file.write(b'{"users":[')
        for i, line in enumerate(user_lines(n)):
            file.write(line if i == 0 else b"," + line)
        file.write(b"]}")


def check_course_bytes(n: int = 200) -> None:
    """Fail loudly if the streamed course layout ever drifts from what the course's pydantic writes."""
    course = types.ModuleType("course_result")
    sys.modules[course.__name__] = course  # pydantic resolves the models' forward references through it
    exec(COURSE_MODELS, course.__dict__)  # our own constant
    made = course.SeedsResult(users=list(users(n))).model_dump_json().encode()
    streamed = b'{"users":[' + b",".join(user_lines(n)) + b"]}"
    if made != streamed:
        raise SystemExit("bench bug: the streamed course layout differs from model_dump_json()")


def expected_cards(n: int) -> list[str]:
    picks = {0, n // 2, n - 1}
    found = {
        i: u["debit_card_accounts"][0]["physical_cards"][0]["card_id"] for i, u in enumerate(users(n)) if i in picks
    }
    return [found[0], found[n // 2], found[n - 1]]


def run_median(kind: str, *args: str, runs: int = 3) -> dict[str, Any]:
    """The run with the median wall time of a few: quick measurements are the noisiest."""
    reports = sorted((run_child(kind, *args) for _ in range(runs)), key=lambda report: report["wall"])
    return reports[len(reports) // 2]


def run_child(kind: str, *args: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; wall time is the whole process, as seen from outside."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
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
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["wall"] = wall
    return report


def _mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="user counts, comma-separated")
    parser.add_argument("--keep", type=Path, help="write the dumps here and keep them")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    check_course_bytes()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="dump-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, ...]] = []
    verdicts: list[str] = []
    try:
        for n in sizes:
            ours, course = workdir / f"ours-{n}_seeds.json", workdir / f"course-{n}_seeds.json"
            write = run_child("write", str(ours), str(ROOT / "bench"), str(n))
            journal = run_child("journal", str(workdir / f"journal-{n}_seeds.json"), str(ROOT / "bench"), str(n))
            write_course_dump(course, n)
            cards = expected_cards(n)
            figures = {
                "open_dump, our layout (lazy)": run_median("lazy", str(ours)),
                "open_dump, course file (lazy)": run_median("lazy", str(course)),
                "course SeedsResult.model_validate_json": run_child("course", str(course)),
                "open_dump(lazy=False), our layout": run_child("eager", str(ours)),
            }
            for name, report in figures.items():
                if report["n"] != n or report["cards"] != cards:
                    raise SystemExit(f"{name} at {n}: reached the wrong users ({report['n']}, {report['cards']})")
            base = figures["course SeedsResult.model_validate_json"]
            size = f"{ours.stat().st_size / 1e6:.0f} / {course.stat().st_size / 1e6:.0f} MB"
            for name, report in figures.items():
                rows.append(
                    (
                        f"{n:,}",
                        name,
                        f"{report['wall']:.2f} s",
                        _mb(report["rss"]),
                        f"{base['wall'] / report['wall']:.1f}x",
                        f"{base['rss'] / report['rss']:.1f}x",
                    )
                )
            rows.append((f"{n:,}", "write_dump from a generator", f"{write['wall']:.2f} s", _mb(write["rss"]), "", ""))
            rows.append(
                (f"{n:,}", "journal append + write_dump", f"{journal['wall']:.2f} s", _mb(journal["rss"]), "", "")
            )
            rows.append((f"{n:,}", f"(file size ours / course: {size})", "", "", "", ""))
            lazy = figures["open_dump, our layout (lazy)"]
            if n >= 100_000:
                ok = lazy["wall"] <= TARGET_WALL_S and lazy["rss"] / 1e6 <= TARGET_RSS_MB
                verdicts.append(
                    f"{n:,} users, lazy open + users[i]: {lazy['wall']:.2f} s, {_mb(lazy['rss'])} "
                    f"(target ≤ {TARGET_WALL_S:.0f} s, ≤ {TARGET_RSS_MB:.0f} MB): {'met' if ok else 'NOT met'}"
                )
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)

    header = (
        "users",
        "fresh process: open + len + users[0, n/2, n-1]",
        "wall",
        "peak RSS",
        "wall vs course",
        "RSS vs course",
    )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" if i == 1 else f"{{:>{w}}}" for i, w in enumerate(widths))
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; every figure is one new process")
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    for verdict in verdicts:
        print(verdict)


if __name__ == "__main__":
    main()
