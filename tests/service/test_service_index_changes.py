"""A dump's index (or the dump) changed on disk under a live service: every request answered, the service lives.

The service reads offsets from ``<dump>.idx``. ``cp other.idx x.idx`` truncates and rewrites the same
inode; a mapped index then killed the service with SIGBUS. Here 20 readers ask for users for 5 s while
the index is overwritten with another dump's, truncated, restored, and the dump itself truncated and
restored in place: every answer is 200 (the right user), 404 or 409, and the service is still running.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import httpx

from seeding import DumpWriter, dump_path
from seeding.service import ServiceProcess

READERS = 20
SECONDS = 5.0
USERS = 3000


def write_indexed(dumps: Path, scenario: str, users: int, pad: int) -> Path:
    meta = {"scenario": scenario, "counts": {"users": users}}
    with DumpWriter(dump_path(scenario, dumps), meta, index=True) as writer:
        for i in range(users):
            writer.write({"user_id": f"u-{scenario}-{i}", "note": "x" * ((i * pad) % 7), "deposit_accounts": []})
    return writer.path


def overwrite(path: Path, data: bytes) -> None:
    """In place, as ``cp`` does: same inode, truncated, then written."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


async def test_index_and_dump_changed_under_readers(tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    big = write_indexed(dumps, "big", USERS, 3)
    other = write_indexed(dumps, "other", USERS, 5)
    big_idx, other_idx = Path(f"{big}.idx"), Path(f"{other}.idx")
    index_bytes, other_bytes, dump_bytes = big_idx.read_bytes(), other_idx.read_bytes(), big.read_bytes()
    changes = [
        lambda: overwrite(big_idx, other_bytes),
        lambda: os.truncate(big_idx, 100),
        lambda: os.truncate(big_idx, len(index_bytes) // 2),
        lambda: overwrite(big_idx, index_bytes),
        lambda: os.truncate(big, len(dump_bytes) // 2),
        lambda: overwrite(big, dump_bytes),
        lambda: overwrite(big_idx, index_bytes[: len(index_bytes) // 3]),
        lambda: overwrite(big_idx, index_bytes),
    ]
    statuses: dict[int, int] = {}
    wrong: list[str] = []
    (tmp_path / "plans").mkdir()  # a --plans-dir given must be there
    with ServiceProcess(dumps_dir=dumps, plans_dir=tmp_path / "plans") as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=10.0) as http:
            assert (await http.get("/v1/dumps/big/users/1")).status_code == 200
            deadline = time.monotonic() + SECONDS

            async def reader(seed: int) -> None:
                rng = random.Random(seed)
                while time.monotonic() < deadline:
                    index = rng.randrange(USERS)
                    answer = await http.get(f"/v1/dumps/big/users/{index}")
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                    if answer.status_code == 200 and answer.json()["user"]["user_id"] != f"u-big-{index}":
                        wrong.append(answer.text[:200])

            async def changer() -> None:
                step = 0
                while time.monotonic() < deadline:
                    changes[step % len(changes)]()
                    step += 1
                    await asyncio.sleep(0.01)
                overwrite(big, dump_bytes)

            await asyncio.gather(changer(), *(reader(seed) for seed in range(READERS)))
            assert service.returncode is None, f"the service died: {service.returncode}: {service.stderr[-2000:]}"
            assert (await http.get("/healthz")).status_code == 200
            final = await http.get("/v1/dumps/big/users/2999")
            assert final.status_code == 200 and final.json()["user"]["user_id"] == "u-big-2999"
        log = service.stderr
    assert set(statuses) <= {200, 404, 409}, statuses
    assert statuses.get(200, 0) > 100, statuses
    assert not wrong, wrong[:3]
    assert "Traceback" not in log, log[-3000:]
