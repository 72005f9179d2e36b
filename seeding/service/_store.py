"""``serve --store``: where pools live, ``embedded`` (files next to the dumps, the default) or ``redis://HOST:PORT/DB``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ._handouts import HandOutBook, HandOuts
from ._pool import PoolStore

__all__ = ["EMBEDDED", "check_store", "open_handouts", "open_store", "store_refusal"]

EMBEDDED = "embedded"


def check_store(text: str) -> str:
    """``text`` when it names a store; ``ValueError`` saying what would, otherwise."""
    if text == EMBEDDED:
        return text
    expected = f"expected {EMBEDDED!r} or redis://HOST:PORT/DB"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}; {expected}") from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"{text!r}: {expected}")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ValueError(f"{text!r}: the database {db!r} is not a number; {expected}")
    del port
    return text


def store_refusal(text: str) -> str | None:
    """What a Redis that answers says against ``text`` (a database out of range, a password refused), in one
    line; None when it takes it, and when none answers within a second (it may be started after the service:
    each request then fails with a 503 line until it is up)."""
    if text == EMBEDDED:
        return None
    import redis
    from redis.exceptions import AuthenticationError, RedisError, ResponseError

    client = redis.Redis.from_url(text, socket_connect_timeout=1.0, socket_timeout=2.0)
    try:
        client.ping()
    except (AuthenticationError, ResponseError) as exc:  # it answered, and said no
        return " ".join(str(exc).split())[:200]
    except RedisError:
        return None
    finally:
        client.close()
    return None


def open_store(text: str, dumps_dir: Path) -> PoolStore:
    check_store(text)
    if text == EMBEDDED:
        from ._pool_embedded import EmbeddedStore

        return EmbeddedStore(dumps_dir)
    from ._pool_redis import RedisStore  # redis-py is imported only by a service that uses it

    return RedisStore(text)


def open_handouts(text: str, store: PoolStore) -> HandOutBook:
    """Where ``/next`` records what it handed out: beside the pools (``store``, opened from ``text``), so
    replicas sharing one Redis share it too."""
    if text == EMBEDDED:
        return HandOuts()
    from ._handouts_redis import RedisHandOuts
    from ._pool_redis import RedisStore

    assert isinstance(store, RedisStore), f"{text}: not the store open_store opened"
    return RedisHandOuts(store)
