"""``EmbeddedStore``: pools in append-only files next to the dumps (``<scenario>_seeds.pool``), for one process.

Each call is synchronous under the hood (no ``await`` between choosing a user and writing it
down), so one event loop never gives a user twice; the file's lock refuses a second service on the
same dumps directory (409), as hand-outs do.
"""

from __future__ import annotations

from pathlib import Path

from ..dumps._files import dump_path
from ..dumps._pool_file import FilePool, Lease, PoolLocked, QuarantineEntry, now_ms, pool_path
from ._errors import ApiError
from ._pool import PoolCounts, PoolKey, Profile

__all__ = ["EmbeddedStore"]


class EmbeddedStore:
    name = "embedded"

    def __init__(self, dumps_dir: Path) -> None:
        self.dumps_dir = dumps_dir
        self._pools: dict[str, FilePool] = {}
        self._expired: list[tuple[str, float]] = []

    def _pool(self, key: PoolKey, *, create: bool = True) -> FilePool | None:
        pool = self._pools.get(key.scenario)
        if pool is not None and pool.users == key.users:
            if pool.fingerprint == key.fingerprint:
                return pool
            if pool.fingerprint in key.replaces:  # the dump was repaired in place: its pool carries over
                try:
                    pool.adopt(key.fingerprint)
                except OSError as exc:
                    raise ApiError(409, f"{pool.path}: cannot keep the pool: {exc.strerror or exc}") from None
                self._done(key, pool)
                return pool
        path = pool_path(dump_path(key.scenario, self.dumps_dir))
        if not create and not path.exists():
            return None
        if pool is not None:
            pool.close()
            del self._pools[key.scenario]
        try:
            pool = FilePool(path, key.fingerprint, key.users, replaces=key.replaces)
        except PoolLocked as exc:
            raise ApiError(409, str(exc)) from None
        except OSError as exc:
            raise ApiError(409, f"{path}: cannot keep the pool: {exc.strerror or exc}") from None
        self._pools[key.scenario] = pool
        return pool

    def _done(self, key: PoolKey, pool: FilePool) -> None:
        if pool.expired:
            self._expired += [(key.scenario, (held.expires - held.granted) / 1000) for held in pool.expired]
            pool.expired.clear()

    def _get(self, key: PoolKey) -> FilePool:
        pool = self._pool(key)
        assert pool is not None
        return pool

    async def lease(self, key: PoolKey, ttl_ms: int, profile: Profile | None = None) -> Lease | PoolCounts:
        pool = self._get(key)
        try:
            got = pool.lease(ttl_ms, None if profile is None else profile.members)
            return got if got is not None else _counts(pool)
        finally:
            self._done(key, pool)

    async def renew(self, key: PoolKey, token: str, ttl_ms: int) -> Lease | None:
        pool = self._get(key)
        try:
            return pool.renew(token, ttl_ms)
        finally:
            self._done(key, pool)

    async def give_back(self, key: PoolKey, token: str) -> tuple[Lease, int] | None:
        pool = self._get(key)
        try:
            return pool.give_back(token)
        finally:
            self._done(key, pool)

    async def quarantine(self, key: PoolKey, token: str, reason: str) -> tuple[Lease, QuarantineEntry] | None:
        pool = self._get(key)
        try:
            return pool.quarantine_lease(token, reason)
        finally:
            self._done(key, pool)

    async def release(self, key: PoolKey, index: int) -> QuarantineEntry | None:
        pool = self._get(key)
        try:
            return pool.release(index)
        finally:
            self._done(key, pool)

    async def quarantined(self, key: PoolKey) -> dict[int, QuarantineEntry]:
        pool = self._pool(key, create=False)
        return {} if pool is None else dict(pool.quarantine)

    async def counts(self, key: PoolKey) -> PoolCounts:
        pool = self._get(key)
        try:
            pool.reap()
            return _counts(pool)
        finally:
            self._done(key, pool)

    def drain_expired(self) -> list[tuple[str, float]]:
        expired, self._expired = self._expired, []
        return expired

    def sync(self) -> None:
        for pool in self._pools.values():
            pool.sync()

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def _counts(pool: FilePool) -> PoolCounts:
    return PoolCounts(
        users=pool.users,
        free=len(pool.free),
        leased=len(pool.leases),
        quarantined=len(pool.quarantine),
        oldest_granted=pool.oldest_granted(),
        now=now_ms(),
    )
