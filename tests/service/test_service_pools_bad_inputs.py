"""Bad input to pools, against both stores: one-line JSON errors with the fitting status, and nothing lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from seeding.service import Service, ServiceProcess

from .conftest import RedisServer, write_dump

PROJECT = Path(__file__).resolve().parents[2]
UNKNOWN = "AAAAAAAAAAAAAAAAAAAAAA.pool"  # well formed, never granted

# (method, path (LEASE: a live lease's ID, GONE: a returned one's), query, body, status, a fragment of the error)
CASES: list[tuple[str, str, dict[str, Any], Any, int, str]] = [
    ("POST", "/v1/dumps/pool/leases", {}, None, 400, "ttl: missing; give it in seconds"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "0"}, None, 400, "ttl='0': must be above 0 seconds"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "-5"}, None, 400, "ttl='-5': must be above 0 seconds"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "1e9"}, None, 400, "ttl='1e9': at most 86400 seconds"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "soon"}, None, 400, "ttl='soon': not a number of seconds"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "nan"}, None, 400, "ttl='nan': must be above 0 seconds"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "inf"}, None, 400, "ttl='inf': must be above 0 seconds"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "1e-300"}, None, 400, "ttl='1e-300': at least 0.001 seconds"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "5", "wait": "61"}, None, 400, "wait='61': at most 60 seconds"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "5", "wait": "-1"}, None, 400, "wait='-1': must be at least 0"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "5", "wait": "x"}, None, 400, "wait='x': not a number"),
    ("POST", "/v1/dumps/pool/leases", {"ttl": "5", "profile": "gold"}, None, 404, "'gold'"),
    ("POST", "/v1/dumps/nope/leases", {"ttl": "5"}, None, 404, "no dump for scenario 'nope'"),
    ("POST", "/v1/dumps/bad name!/leases", {"ttl": "5"}, None, 400, "is not a scenario name"),
    ("POST", f"/v1/leases/{UNKNOWN}/renew", {"ttl": "5"}, None, 404, "unknown, already returned, or expired"),
    ("DELETE", f"/v1/leases/{UNKNOWN}", {}, None, 404, "unknown, already returned, or expired"),
    ("DELETE", "/v1/leases/guess", {}, None, 404, "no lease 'guess' (not a lease ID)"),
    ("DELETE", "/v1/leases/AAAAAAAAAAAAAAAAAAAAAA.nope", {}, None, 404, "no dump for scenario 'nope'"),
    ("DELETE", "/v1/leases/GONE", {}, None, 404, "unknown, already returned, or expired"),  # returned twice
    ("POST", "/v1/leases/GONE/renew", {"ttl": "5"}, None, 404, "unknown, already returned, or expired"),
    ("POST", "/v1/leases/GONE/quarantine", {}, {"reason": "x"}, 404, "only a user's holder quarantines it"),
    ("POST", "/v1/leases/LEASE/renew", {}, None, 400, "ttl: missing"),
    ("POST", "/v1/leases/LEASE/renew", {"ttl": "0"}, None, 400, "ttl='0': must be above 0 seconds"),
    ("POST", "/v1/leases/LEASE/quarantine", {}, b"", 400, "the body is empty"),
    ("POST", "/v1/leases/LEASE/quarantine", {}, b"{", 400, "the body is not JSON"),
    ("POST", "/v1/leases/LEASE/quarantine", {}, {"why": "x"}, 400, 'expected {"reason": "…"}'),
    ("POST", "/v1/leases/LEASE/quarantine", {}, {"reason": "  "}, 400, 'expected {"reason": "…"}'),
    ("POST", "/v1/leases/LEASE/quarantine", {}, {"reason": "x" * 501}, 400, "1 to 500 characters"),
    ("POST", "/v1/leases/LEASE/quarantine", {}, {"reason": "x", "by": "me"}, 400, 'expected {"reason": "…"}'),
    ("POST", "/v1/leases/LEASE/quarantine", {}, {"reason": "a\x00b"}, 400, "holds control or format characters"),
    ("POST", "/v1/leases/LEASE/quarantine", {}, {"reason": "\u202etxt.exe"}, 400, "holds control or format"),
    ("POST", "/v1/leases/LEASE/quarantine", {}, {"reason": "\x1b[31mred"}, 400, "holds control or format"),
    ("DELETE", "/v1/dumps/pool/quarantine/1", {}, None, 404, "user #1 is not quarantined"),
    ("DELETE", "/v1/dumps/pool/quarantine/one", {}, None, 400, "user index 'one' is not a whole number"),
    ("DELETE", "/v1/dumps/pool/quarantine/99", {}, None, 404, "no user #99 (the dump holds 3)"),
    ("GET", "/v1/dumps/nope/pool", {}, None, 404, "no dump for scenario 'nope'"),
]


@pytest.mark.parametrize(("method", "path", "query", "body", "status", "fragment"), CASES)
async def test_bad_pool_requests_get_one_line(
    pool_service: Service,
    pool_http: httpx.AsyncClient,
    method: str,
    path: str,
    query: dict[str, Any],
    body: Any,
    status: int,
    fragment: str,
) -> None:
    write_dump(pool_service.dumps_dir, "pool", 3)
    live = (await pool_http.post("/v1/dumps/pool/leases", params={"ttl": 30})).json()["lease"]
    gone = (await pool_http.post("/v1/dumps/pool/leases", params={"ttl": 30})).json()["lease"]
    assert (await pool_http.delete(f"/v1/leases/{gone}")).status_code == 200
    path = path.replace("LEASE", live).replace("GONE", gone)
    content = body if isinstance(body, bytes) else None
    answer = await pool_http.request(
        method, path, params=query, content=content, json=None if content is not None else body
    )
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert list(answer.json()) == ["error"] and fragment in error and "\n" not in error
    pool = (await pool_http.get("/v1/dumps/pool/pool")).json()["pool"]
    assert (pool["free"], pool["leased"], pool["quarantined"]) == (2, 1, 0)  # nothing lost, nothing taken
    assert (await pool_http.post(f"/v1/leases/{live}/renew", params={"ttl": 30})).status_code == 200


async def test_a_second_service_on_the_same_dumps_dir_is_refused_leasing(dirs: tuple[Path, Path]) -> None:
    dumps, plans = dirs
    write_dump(dumps, "shared", 3)
    async with Service(dumps_dir=dumps, plans_dir=plans) as one, Service(dumps_dir=dumps, plans_dir=plans) as two:  # noqa: SIM117
        async with httpx.AsyncClient(base_url=one.url) as a, httpx.AsyncClient(base_url=two.url) as b:
            assert (await a.post("/v1/dumps/shared/leases", params={"ttl": 5})).json()["index"] == 0
            refused = await b.post("/v1/dumps/shared/leases", params={"ttl": 5})
            assert refused.status_code == 409 and "another process leases this dump" in refused.json()["error"]
            assert (await a.post("/v1/dumps/shared/leases", params={"ttl": 5})).json()["index"] == 1


async def test_an_unreachable_redis_fails_each_pool_request_in_one_line(
    dirs: tuple[Path, Path], free_port: int
) -> None:
    dumps, plans = dirs
    write_dump(dumps, "away", 3)
    url = f"redis://127.0.0.1:{free_port}/0"
    async with Service(dumps_dir=dumps, plans_dir=plans, store=url) as service:  # noqa: SIM117
        async with httpx.AsyncClient(base_url=service.url, timeout=30.0) as http:
            for answer in (
                await http.post("/v1/dumps/away/leases", params={"ttl": 5}),
                await http.get("/v1/dumps/away/pool"),
                await http.post("/v1/dumps/away/next"),
            ):
                assert answer.status_code == 503
                assert answer.json()["error"].startswith(f"pool store {url}: unreachable or failing")
            assert (await http.get("/healthz")).status_code == 200


def _part(client: Any, part: str) -> bytes:
    """The pool's key ``part`` (one pool in the database, named after its ``init`` key: ``quar`` may not be there)."""
    inits = [key for key in client.keys("seeding:pool:*") if key.endswith(b":init")]
    assert len(inits) == 1, inits
    return inits[0][: -len(b"init")] + part.encode()


# (what, what is done to the pool's keys in Redis, the request that reads it): words in the free list,
# an index past the dump's users, a quarantine entry that is not "at reason", a lease held of a word.
DAMAGE: list[tuple[str, Any, tuple[str, str]]] = [
    ("words in free", lambda r: (r.delete(_part(r, "free")), r.rpush(_part(r, "free"), "a", "b")), ("POST", "leases")),
    ("index past the users", lambda r: r.lpush(_part(r, "free"), 999), ("POST", "leases")),
    ("quarantine not 'at reason'", lambda r: r.hset(_part(r, "quar"), "1", "soon"), ("GET", "quarantine")),
    ("quarantined word", lambda r: r.hset(_part(r, "quar"), "x", "1 why"), ("GET", "quarantine")),
]


@pytest.mark.parametrize(("what", "damage", "request_"), DAMAGE, ids=[what for what, _, _ in DAMAGE])
async def test_a_pool_damaged_in_redis_fails_in_one_line_until_mended(
    dirs: tuple[Path, Path], redis_server: RedisServer, what: str, damage: Any, request_: tuple[str, str]
) -> None:
    # Keys of the pool holding what no script of the service wrote there (a hand at redis-cli, another program on
    # the same database): a 503 line naming the pool and what to do, never a 500 with a traceback.
    import redis

    dumps, plans = dirs
    write_dump(dumps, "damaged", 4)
    async with (
        Service(dumps_dir=dumps, plans_dir=plans, store=redis_server.url) as service,
        httpx.AsyncClient(base_url=service.url, timeout=20.0) as http,
    ):
        assert (await http.post("/v1/dumps/damaged/leases", params={"ttl": 30})).status_code == 201
        with redis.Redis.from_url(redis_server.url) as client:
            damage(client)
        method, route = request_
        params = {"ttl": 30} if route == "leases" else {}  # a parameter the route does not read is refused (400)
        answer = await http.request(method, f"/v1/dumps/damaged/{route}", params=params)
        assert answer.status_code == 503, (what, answer.text)
        error = answer.json()["error"]
        assert error.startswith(f"pool store {redis_server.url}: the pool of scenario 'damaged' holds data"), error
        assert "delete its keys (seeding:pool:{damaged}:*)" in error and "\n" not in error, error
        with redis.Redis.from_url(redis_server.url) as client:
            client.flushdb()  # mended by hand, as the line says: a new pool
        assert (await http.post("/v1/dumps/damaged/leases", params={"ttl": 30})).status_code == 201


def _serve(tmp_path: Path, store: str) -> subprocess.CompletedProcess[str]:
    """``seeding serve --store STORE``, expected to stop at start (30 s at most)."""
    command = [sys.executable, "-m", "seeding", "serve", f"--dumps-dir={tmp_path}", "--port=0", f"--store={store}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=PROJECT)


@pytest.mark.parametrize(
    ("store", "fragment"),
    [
        ("files", "expected 'embedded' or redis://HOST:PORT/DB"),
        ("http://127.0.0.1:6379/0", "expected 'embedded' or redis://HOST:PORT/DB"),
        ("redis://127.0.0.1:99999/0", "Port out of range"),
        ("redis://127.0.0.1:6379/zero", "the database 'zero' is not a number"),
        ("redis:///0", "expected 'embedded' or redis://HOST:PORT/DB"),
    ],
)
def test_serve_refuses_a_bad_store_in_one_line(tmp_path: Path, store: str, fragment: str) -> None:
    done = _serve(tmp_path, store)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--store" in done.stderr and fragment in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("database", "fragment"),
    [("/99999", "DB index is out of range"), ("/0?password=wrong", "invalid username-password pair")],
    ids=["database-out-of-range", "password-refused"],
)
def test_serve_refuses_a_store_its_redis_refuses(
    tmp_path: Path, redis_server: RedisServer, database: str, fragment: str
) -> None:
    # A Redis that answers and says no is a setting to fix: exit 2 at start, not a 503 on every request after.
    # One that does not answer is let be (it may be started after the service).
    import redis

    if "password" in database:
        with redis.Redis.from_url(redis_server.url) as client:
            client.config_set("requirepass", "right")  # this server's own, for this test
    store = redis_server.url.rsplit("/", 1)[0] + database
    done = _serve(tmp_path, store)
    assert done.returncode == 2, done
    assert done.stderr.count("\n") == 1 and f"--store {store}: Redis refuses it:" in done.stderr, done.stderr
    assert fragment in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("appendonly", "save", "warning"),
    [
        ("no", "", "Redis keeps nothing across a restart (appendonly no, no save points): after one, every pool"),
        ("no", "3600 1", "Redis keeps snapshots only (save 3600 1): a restart loses the leases and hand-outs since"),
        ("yes", "", None),
        ("yes", "3600 1", None),
    ],
    ids=["nothing-kept", "snapshots-only", "append-only", "append-only-and-snapshots"],
)
def test_serve_warns_once_at_start_when_its_redis_keeps_nothing_across_a_restart(
    tmp_path: Path, redis_server: RedisServer, appendonly: str, save: str, warning: str | None
) -> None:
    """After such a restart every pool starts over and hands its users out again: said before the first lease."""
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.config_set("appendonly", appendonly)  # this server's own, for this test
        client.config_set("save", save)
    with ServiceProcess(dumps_dir=tmp_path, extra_args=[f"--store={redis_server.url}"]) as service:
        assert httpx.get(f"{service.url}/healthz", timeout=10).status_code == 200
        stderr = service.stderr
    lines = [line for line in stderr.splitlines() if "pool store" in line]
    if warning is None:
        assert lines == [], stderr
    else:
        assert len(lines) == 1 and f"pool store {redis_server.url}: {warning}" in lines[0], stderr
        assert lines[0].endswith("run it with appendonly yes")


def test_a_redis_that_does_not_allow_config_is_served_without_a_warning(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """A managed Redis often refuses CONFIG: its durability is its operator's, so neither a refusal nor a guess."""
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.config_set("appendonly", "no")  # would warn, were CONFIG allowed
        client.execute_command("ACL", "SETUSER", "limited", "on", ">secret", "~*", "&*", "+@all", "-config")
    store = redis_server.url.replace("redis://", "redis://limited:secret@")
    with ServiceProcess(dumps_dir=tmp_path, extra_args=[f"--store={store}"]) as service:
        assert httpx.get(f"{service.url}/healthz", timeout=10).status_code == 200
        write_dump(tmp_path, "acl", 2)
        lease = httpx.post(f"{service.url}/v1/dumps/acl/leases", params={"ttl": 30}, timeout=10)
        assert lease.status_code == 201, lease.text  # the store works for this user
        stderr = service.stderr
    assert "pool store" not in stderr and "appendonly" not in stderr, stderr
