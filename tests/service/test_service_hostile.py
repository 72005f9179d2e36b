"""Hostile HTTP to the service over real sockets: bytes as a client sends them, one-line JSON answers, one-line logs.

Each row writes raw bytes to a fresh connection and reads until the service closes it: the status,
a JSON ``{"error": …}`` body naming the problem, a time bound, and afterwards the log holds no
traceback and at most one line per row. The service runs with short timeouts (0.5 s for a request
head, 1 s for a body) so the rows about slow clients are quick.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from seeding.service import Service
from seeding.serving import ConnectionLimits

from .conftest import write_dump

TOKEN = "s3cret"
AUTH = f"Authorization: Bearer {TOKEN}\r\n".encode()
LIMITS = ConnectionLimits(header_timeout=0.5, body_timeout=1.0, keepalive_timeout=2.0, lingering_time=0.5)


def nested(depth: int) -> bytes:
    plan = b'{"users":1,"x":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"
    return b'{"scenario":"deep","plan":' + plan + b"}"


def post(path: str, body: bytes, *, auth: bytes = AUTH) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + auth + b"Connection: close\r\n\r\n" + body


def get(path: str, *headers: bytes, auth: bytes = AUTH) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode() + auth + b"".join(headers) + b"Connection: close\r\n\r\n"


@dataclass(frozen=True)
class Row:
    id: str
    send: bytes
    status: int
    says: str
    seconds: float = 5.0
    # What the lowest declared versions answer instead (aiohttp 3.10's parser refuses an unknown method
    # itself, orjson 3.9 parses deeper arrays): still one JSON line, another status.
    lowest: tuple[int, str] | None = None


ROWS = [
    # requests aiohttp cannot parse: JSON, not plain text; one log line, not a traceback
    Row(
        "unknown-method",
        b"FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        405,
        "method not allowed",
        lowest=(400, "cannot be parsed"),
    ),
    Row(
        "method-with-bad-bytes",
        b"G\x01T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        405,
        "method not allowed",
        lowest=(400, "cannot be parsed"),
    ),
    Row(
        "bad-chunk-size",
        b"POST /v1/runs HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        400,
        "",
    ),
    Row("url-100kb", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400, "the request cannot be parsed"),
    Row("header-20kb", get("/healthz", b"X-Big: " + b"b" * 20_000 + b"\r\n"), 400, "the request cannot be parsed"),
    Row(
        "length-and-chunked",
        b"POST /v1/runs HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
        400,
        "the request cannot be parsed",
    ),
    Row(
        "tls-hello",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
        405,
        "method not allowed",
        lowest=(400, "cannot be parsed"),
    ),
    Row("nul-in-header", get("/healthz", b"X-A: a\x00b\r\n"), 400, "the request cannot be parsed"),
    Row("http-2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, ""),
    # sizes and time
    Row(
        "content-length-10gb-no-body",
        b"POST /v1/runs HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: 10000000000\r\n\r\n",
        413,
        "the body is larger than 1048576 bytes",
        seconds=2.5,
    ),
    Row(
        "content-length-10gb-no-auth",
        b"POST /v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n",
        401,
        "missing Authorization",
        seconds=2.5,
    ),
    Row("head-never-ends", b"GET /healthz HTTP/1.1\r\nHost: x\r\n", 408, "no complete request head within 0.5 s"),
    Row("nothing-sent", b"", 408, "no complete request head within 0.5 s"),
    Row(
        "body-never-arrives",
        b"POST /v1/runs HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: 100\r\n\r\n{",
        408,
        "the body did not arrive within 1 s",
    ),
    # the token
    Row("token-not-utf8", get("/v1/runs", auth=b"Authorization: Bearer \xff\xfe\r\n"), 401, "wrong bearer token"),
    Row("token-latin1", get("/v1/runs", auth=b"Authorization: Bearer s3cr\xe9t\r\n"), 401, "wrong bearer token"),
    Row("token-empty-bearer", get("/v1/runs", auth=b"Authorization: Bearer\r\n"), 401, "wrong bearer token"),
    Row("token-20-spaces", get("/v1/runs", auth=b"Authorization: " + b" " * 20 + b"\r\n"), 401, "Authorization"),
    # routes and values
    Row("user-index-superscript", get("/v1/dumps/five/users/%C2%B2"), 400, "is not a whole number"),
    Row("user-index-arabic-digit", get("/v1/dumps/five/users/%D9%A3"), 400, "is not a whole number"),
    Row("user-index-fullwidth", get("/v1/dumps/five/users/%EF%BC%91"), 400, "is not a whole number"),
    Row("user-index-19-digits", get("/v1/dumps/five/users/" + "9" * 19), 400, "is not a whole number"),
    Row("plan-nested-300", post("/v1/runs", nested(300)), 422, "body.plan"),
    Row("plan-nested-600", post("/v1/runs", nested(600)), 422, "body.plan"),
    Row(
        "body-nested-2000",
        post("/v1/runs", b"[" * 2000 + b"]" * 2000),
        400,
        "the body is not JSON",
        lowest=(422, "expected a JSON object"),
    ),
    Row("range-past-end", get("/v1/dumps/five/file", b"Range: bytes=999999-\r\n"), 416, "is not a byte range"),
    Row("range-garbage", get("/v1/dumps/five/file", b"Range: lines=1-2\r\n"), 416, "is not a byte range"),
    Row("range-backwards", get("/v1/dumps/five/file", b"Range: bytes=9-3\r\n"), 416, "is not a byte range"),
    Row("handouts-a-directory", post("/v1/dumps/held/next", b""), 409, "it is a directory, not a regular file"),
    Row("cycle-on-0-users", post("/v1/dumps/empty/next?strategy=cycle", b""), 409, "the dump holds no users"),
    Row("random-on-0-users", post("/v1/dumps/empty/next?strategy=random", b""), 409, "the dump holds no users"),
    Row("unique-on-0-users", post("/v1/dumps/empty/next", b""), 409, "the dump holds no users"),
    Row("unknown-route-method", b"PATCH /v1/runs HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n", 405, "not allowed"),
]


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) >= 25
    assert len({row.id for row in ROWS}) == len(ROWS)


async def exchange(port: int, data: bytes, within: float) -> tuple[bytes, float]:
    """Send ``data``, read until the service closes the connection (bounded by ``within``)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if data:
            writer.write(data)
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), within)
    finally:
        writer.close()
    return answer, time.monotonic() - started


def status_and_body(answer: bytes) -> tuple[int, bytes, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


@pytest.fixture
async def hostile(dirs: tuple[Path, Path]) -> Service:
    dumps, plans = dirs
    write_dump(dumps, "five", 5)
    write_dump(dumps, "held", 2)
    write_dump(dumps, "empty", 0)
    (dumps / "held_seeds.handouts").mkdir()
    async with Service(dumps_dir=dumps, plans_dir=plans, token=TOKEN, limits=LIMITS) as service:
        yield service


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_hostile_request(hostile: Service, row: Row, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert hostile.port is not None
    answer, seconds = await exchange(hostile.port, row.send, row.seconds + 5)
    status, head, body = status_and_body(answer)
    assert b"content-type: application/json" in head.lower(), answer[:500]
    error = orjson.loads(body)["error"]
    answers = [(row.status, row.says), *([row.lowest] if row.lowest else [])]
    assert any(status == code and says in error for code, says in answers), answer[:500]
    assert "\n" not in error and len(error) <= 600, error
    assert seconds < row.seconds, f"took {seconds:.1f} s"
    follow, _ = await exchange(hostile.port, get("/healthz"), 5)
    assert status_and_body(follow)[0] == 200
    records = [r for r in caplog.records if r.name.startswith(("seeding", "aiohttp", "asyncio"))]
    assert len(records) <= 1, [r.getMessage() for r in records]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records), [r.getMessage() for r in records]
    assert "Traceback" not in caplog.text


async def test_a_client_leaving_mid_body_costs_one_line_at_most(
    hostile: Service, caplog: pytest.LogCaptureFixture
) -> None:
    assert hostile.port is not None
    for _ in range(5):
        _, writer = await asyncio.open_connection("127.0.0.1", hostile.port)
        writer.write(b"POST /v1/runs HTTP/1.1\r\nHost: x\r\n" + AUTH + b'Content-Length: 1000\r\n\r\n{"plan":')
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()
    await asyncio.sleep(0.3)
    follow, _ = await exchange(hostile.port, get("/healthz"), 5)
    assert status_and_body(follow)[0] == 200
    assert "Traceback" not in caplog.text
    assert all(r.exc_info is None for r in caplog.records)
    assert len(caplog.records) <= 5


GOOD_RECORD = {
    "id": "0123456789abcdef",
    "scenario": "r",
    "transport": "http",
    "target": "http://127.0.0.1:9",
    "plan": {"scenario": "r", "users": 1},
    "seed": 1,
    "concurrency": None,
    "planned": 1,
    "missing": 1,
    "state": "interrupted",
}

# (name, what the record file holds, a fragment of the one warning line)
BAD_RECORDS: list[tuple[str, object, str]] = [
    ("state-a-list", {**GOOD_RECORD, "state": [1]}, "state: Input should be a valid string"),
    ("state-unknown", {**GOOD_RECORD, "state": "exploded"}, "state: 'exploded' is not one of"),
    ("seed-text", {**GOOD_RECORD, "seed": "abc"}, "seed: Input should be a valid integer"),
    ("seed-float", {**GOOD_RECORD, "seed": 1.5}, "seed: Input should be a valid integer"),
    ("transport-unknown", {**GOOD_RECORD, "transport": "smtp"}, "transport: 'smtp' is not one of"),
    ("plan-a-string", {**GOOD_RECORD, "plan": "x"}, "plan: Input should be an object"),
    ("missing-field", {k: v for k, v in GOOD_RECORD.items() if k != "planned"}, "planned: Field required"),
    ("id-not-its-name", orjson.dumps({**GOOD_RECORD, "id": "0000000000000000"}), "its id does not match its name"),
    ("not-json", b"{not json", "Invalid JSON"),
    ("a-list", b"[1, 2]", "Input should be"),
    ("empty", b"", "Invalid JSON"),
    ("fifo", "<fifo>", "it is a FIFO"),
    ("directory", "<dir>", "it is a directory"),
    ("huge", b" " * (17 << 20), "too large for a run record"),
]


@pytest.mark.parametrize(("name", "content", "says"), BAD_RECORDS, ids=[row[0] for row in BAD_RECORDS])
async def test_a_bad_run_record_is_skipped_with_one_warning(
    dirs: tuple[Path, Path], caplog: pytest.LogCaptureFixture, name: str, content: object, says: str
) -> None:
    dumps, plans = dirs
    runs = dumps / "runs"
    runs.mkdir()
    path = runs / "fedcba9876543210.json"
    if content == "<fifo>":
        os.mkfifo(path)
    elif content == "<dir>":
        path.mkdir()
    else:
        data = content if isinstance(content, bytes) else orjson.dumps({**content, "id": "fedcba9876543210"})  # type: ignore[dict-item]
        path.write_bytes(data)
    (runs / f"{GOOD_RECORD['id']}.json").write_bytes(orjson.dumps(GOOD_RECORD))
    started = time.monotonic()
    async with Service(dumps_dir=dumps, plans_dir=plans, limits=LIMITS) as service:
        assert time.monotonic() - started < 5
        assert [record.id for record in service.runs.all()] == [GOOD_RECORD["id"]]
        assert service.port is not None
        answer, _ = await exchange(service.port, get("/v1/runs", auth=b""), 5)
        assert status_and_body(answer)[0] == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and says in warnings[0] and "\n" not in warnings[0], warnings
    assert str(path) in warnings[0]
    assert "Traceback" not in caplog.text


async def test_resuming_a_record_whose_plan_is_invalid_is_409(dirs: tuple[Path, Path]) -> None:
    dumps, plans = dirs
    (dumps / "runs").mkdir()
    record = {**GOOD_RECORD, "plan": {"users": {"count": -5}}}
    (dumps / "runs" / f"{GOOD_RECORD['id']}.json").write_bytes(orjson.dumps(record))
    async with Service(dumps_dir=dumps, plans_dir=plans, limits=LIMITS) as service:
        assert service.port is not None
        answer, _ = await exchange(service.port, post(f"/v1/runs/{GOOD_RECORD['id']}/resume", b"", auth=b""), 5)
    status, _, body = status_and_body(answer)
    assert status == 409, answer
    assert "its record holds a plan that is no longer valid: users.count" in orjson.loads(body)["error"]
