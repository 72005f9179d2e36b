"""``serve --store``: where pools live, ``embedded`` (files next to the dumps, the default) or ``redis://HOST:PORT/DB``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from urllib.parse import urlsplit

from ._handouts import HandOutBook, HandOuts
from ._pool import PoolStore

__all__ = [
    "EMBEDDED",
    "check_store",
    "durability_warning",
    "open_handouts",
    "open_store",
    "probe_store",
]

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


def probe_store(text: str) -> tuple[str | None, str | None]:
    """``(refusal, warning)`` of the Redis ``text`` names, each in one line or None.

    The refusal is what a Redis that answers says against ``text`` (a database out of range, a password
    refused). The warning, when it takes it, says it keeps nothing across its own restart (after one, every
    pool would start over and hand its users out again). Neither when none answers within a second (it may be
    started after the service: each request then fails with a 503 line until it is up), nor a warning when
    ``CONFIG`` is not allowed (a managed Redis: its durability is its operator's)."""
    if text == EMBEDDED:
        return None, None
    import redis
    from redis.exceptions import AuthenticationError, RedisError, ResponseError

    client = redis.Redis.from_url(text, socket_connect_timeout=1.0, socket_timeout=2.0, decode_responses=True)
    with contextlib.closing(client):
        try:
            client.ping()
        except (AuthenticationError, ResponseError) as exc:  # it answered, and said no
            return " ".join(str(exc).split())[:200], None
        except RedisError:
            return None, None
        try:
            answers = {**client.config_get("appendonly"), **client.config_get("save")}
        except RedisError:  # CONFIG renamed or not allowed
            return None, None
    return None, durability_warning(text, {str(key): str(value) for key, value in answers.items()})


def durability_warning(text: str, config: dict[str, str]) -> str | None:
    """One line when ``config`` (``appendonly``, ``save``) loses leases and hand-outs in a Redis restart."""
    if config.get("appendonly", "yes") == "yes":
        return None
    save = " ".join(config.get("save", "").split())
    if not save:
        lost = "keeps nothing across a restart (appendonly no, no save points): after one, every pool starts over"
    else:
        lost = f"keeps snapshots only (save {save}): a restart loses the leases and hand-outs since the last one"
    return f"pool store {text}: Redis {lost} and hands out users already out; run it with appendonly yes"


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
