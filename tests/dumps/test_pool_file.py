"""The embedded pool file: a replay rebuilds the very state (least recently used order too), a torn line is cut
off, compaction keeps everything, and a second process is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from seeding.dumps import _pool_file
from seeding.dumps._pool_file import FilePool, PoolLocked, quarantined_in


def _state(pool: FilePool) -> tuple[list[int], dict[str, tuple[int, int]], dict[int, str]]:
    return (
        list(pool.free),
        {token: (held.index, held.expires) for token, held in pool.leases.items()},
        {index: entry.reason for index, entry in pool.quarantine.items()},
    )


def _churn(pool: FilePool) -> list[str]:
    tokens = [pool.lease(60_000).token for _ in range(5)]  # type: ignore[union-attr]
    pool.give_back(tokens[3])
    pool.give_back(tokens[1])
    pool.quarantine_lease(tokens[0], "wedged, in an invalid state")
    pool.renew(tokens[2], 120_000)
    short = pool.lease(1)  # expires at once: comes back before the next change
    assert short is not None
    pool.release(0)
    return tokens


def test_a_replay_rebuilds_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "s_seeds.pool"
    pool = FilePool(path, "f1", 8)
    _churn(pool)
    before = _state(pool)
    pool.close()
    again = FilePool(path, "f1", 8)
    assert _state(again) == before
    assert before[0][:4] == [6, 7, 3, 1] and before[2] == {}
    again.close()


def test_a_torn_last_line_is_cut_off_and_a_second_process_refused(tmp_path: Path) -> None:
    path = tmp_path / "s_seeds.pool"
    pool = FilePool(path, "f1", 3)
    pool.lease(60_000)
    with pytest.raises(PoolLocked, match="another process leases this dump"):
        FilePool(path, "f1", 3)
    pool.close()
    path.write_bytes(path.read_bytes() + b"L abc 1")  # killed mid-line
    again = FilePool(path, "f1", 3)
    assert len(again.leases) == 1 and list(again.free) == [1, 2]
    assert again.lease(60_000).index == 1  # type: ignore[union-attr]
    again.close()
    assert path.read_bytes().count(b"\nL ") == 2 and b"L abc 1" not in path.read_bytes()


def test_compaction_keeps_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pool_file, "COMPACT_LINES", 4)
    path = tmp_path / "s_seeds.pool"
    pool = FilePool(path, "f1", 8)
    _churn(pool)
    before = _state(pool)
    assert path.read_bytes().count(b"\n") < 8  # compacted at least once
    pool.close()
    again = FilePool(path, "f1", 8)
    assert _state(again) == before
    again.close()
    assert quarantined_in(tmp_path / "s_seeds.json", "f1", 8) == {}


def test_another_dump_starts_a_new_pool(tmp_path: Path) -> None:
    path = tmp_path / "s_seeds.pool"
    pool = FilePool(path, "f1", 3)
    token = pool.lease(60_000).token  # type: ignore[union-attr]
    pool.quarantine_lease(token, "x")
    pool.close()
    assert set(quarantined_in(tmp_path / "s_seeds.json", "f1", 3)) == {0}
    assert quarantined_in(tmp_path / "s_seeds.json", "f2", 3) == {}
    fresh = FilePool(path, "f2", 3)
    assert list(fresh.free) == [0, 1, 2] and not fresh.quarantine
    fresh.close()


def test_short_holds_under_a_long_ttl_keep_the_expiry_heap_the_size_of_the_leases(tmp_path: Path) -> None:
    pool = FilePool(tmp_path / "soak_seeds.pool", "f1", 50)
    kept = pool.lease(5)  # held, expires in 5 ms: must still come back after the heap is rebuilt
    assert kept is not None
    for _ in range(20_000):  # a soak: each hold returned at once, under a day's TTL
        held = pool.lease(86_400_000)
        assert held is not None
        pool.renew(held.token, 86_400_000)
        pool.give_back(held.token)
    assert len(pool._expiry) <= 2 * len(pool.leases) + 1025  # not 40,000 stale entries
    pool.reap(kept.expires)
    assert kept.token not in pool.leases and kept.index in pool.free
    assert pool.expired == [kept]
