"""Opening a dump in a Locust worker pays for neither the gateway clients nor the builder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from seeding import write_dump

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("grpc", "aiohttp", "faker", "httpx", "tenacity")
CHILD = """
import json, resource, sys
import seeding
from seeding.dumps._files import LazyUsers


def peak_mb():
    # VmHWM: this image's own peak (ru_maxrss would include the pytest process it was forked from)
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


seeds = seeding.open_dump(sys.argv[1])
user = seeds.users[-1]
print(json.dumps({
    "lazy": isinstance(seeds.users, LazyUsers),
    "count": len(seeds.users),
    "card": user.debit_card_accounts[0].physical_cards[0].card_id,
    "modules": sorted(sys.modules),
    "rss_mb": peak_mb(),
}))
"""


def test_a_fresh_process_opens_20k_users_lazily_without_heavy_imports(tmp_path: Path, make_users: Any) -> None:
    users = make_users(20_000)
    path = write_dump(tmp_path / "big_seeds.json", {"counts": {"users": len(users)}}, users)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    report = json.loads(done.stdout)
    assert report["lazy"] and report["count"] == 20_000
    assert report["card"] == users[-1]["debit_card_accounts"][0]["physical_cards"][0]["card_id"]
    loaded = {name.split(".")[0] for name in report["modules"]}
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    # not a timing: a full parse of 20k users needs ~300 MB, the lazy open ~40 MB
    assert report["rss_mb"] < 150, report["rss_mb"]
