"""Bad plans, routes and bodies: one-line JSON errors with the fitting 4xx; the token; bad flags of `serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from seeding.service import Service, ServiceProcess

from .conftest import PLAN, write_dump

PROJECT = Path(__file__).resolve().parents[2]
OK = {"plan": PLAN, "scenario": "ok", "transport": "http", "target": "http://127.0.0.1:9"}

# (method, path, body (JSON, or raw bytes), status, a fragment of the error)
CASES: list[tuple[str, str, Any, int, str]] = [
    # bad plans: the CLI's one-line message
    (
        "POST",
        "/v1/runs",
        {"plan": {"users": {"count": -1}}, "scenario": "x"},
        422,
        "body.plan: users.count: input should be greater than or equal to 0",
    ),
    (
        "POST",
        "/v1/runs",
        {"plan": {"users": {"cuont": 1}}, "scenario": "x"},
        422,
        "users.cuont: unknown field (did you mean 'count'?)",
    ),
    (
        "POST",
        "/v1/runs",
        {"plan": {"users": {"count": 10**9, "deposit_accounts": 1}}, "scenario": "x"},
        422,
        "at most 100,000,000",
    ),
    (
        "POST",
        "/v1/runs",
        {"plan": {"users": {"count": 1, "deposit_accounts": {"count": 1, "physical_cards": 1}}}, "scenario": "x"},
        422,
        "deposit accounts have no cards",
    ),
    ("POST", "/v1/runs", {"plan": {"users": 2}}, 422, "body.scenario: required"),
    ("POST", "/v1/runs", {"plan": {"scenario": "../evil", "users": 1}}, 422, "is not a plain file name"),
    ("POST", "/v1/runs", {"plan": "broken"}, 422, "broken.yaml:2: invalid YAML"),
    ("POST", "/v1/runs", {"plan": "no-such-plan"}, 404, "no plan 'no-such-plan'"),
    ("POST", "/v1/runs", {"plan": "../../etc/passwd"}, 400, "body.plan '../../etc/passwd' is not a scenario name"),
    ("POST", "/v1/runs", {"plan": "outside"}, 403, "leads outside"),
    ("POST", "/v1/runs", {"plan": 5}, 422, "body.plan"),
    # bad bodies
    ("POST", "/v1/runs", b"", 400, "the body is empty"),
    ("POST", "/v1/runs", b"{not json", 400, "the body is not JSON"),
    ("POST", "/v1/runs", [1, 2], 422, "expected a JSON object"),
    ("POST", "/v1/runs", {"scenario": "x"}, 422, "body.plan: Field required"),
    ("POST", "/v1/runs", {**OK, "extra": 1}, 422, "body.extra: Extra inputs are not permitted"),
    ("POST", "/v1/runs", {**OK, "transport": "smtp"}, 422, "body.transport"),
    (
        "POST",
        "/v1/runs",
        {**OK, "target": "no-scheme:1"},
        422,
        "body.target: HTTP URL 'no-scheme:1' must start with http://",
    ),
    ("POST", "/v1/runs", {**OK, "transport": "grpc", "target": "http://x:1"}, 422, "body.target: gRPC target"),
    ("POST", "/v1/runs", {**OK, "target": "embedded"}, 422, "body.target: 'embedded' is not a gateway here"),
    ("POST", "/v1/runs", {**OK, "concurrency": 0}, 422, "body.concurrency"),
    ("POST", "/v1/runs", {**OK, "concurrency": 100000}, 422, "body.concurrency"),
    ("POST", "/v1/runs", {**OK, "rate": 0}, 422, "body.rate"),
    ("POST", "/v1/runs", {**OK, "rate": -5}, 422, "body.rate"),
    ("POST", "/v1/runs", {**OK, "rate": 1e-9}, 422, "body.rate"),
    ("POST", "/v1/runs", {**OK, "rate": 1e300}, 422, "body.rate"),
    ("POST", "/v1/runs", {**OK, "rate": "200"}, 422, "body.rate"),
    ("POST", "/v1/runs", {**OK, "rate": True}, 422, "body.rate"),
    ("POST", "/v1/runs", {**OK, "seed": "7"}, 422, "body.seed"),
    ("POST", "/v1/runs", {**OK, "seed": 2**64}, 422, "body.seed"),
    ("POST", "/v1/runs", {**OK, "scenario": "a/b"}, 400, "body.scenario 'a/b' is not a scenario name"),
    ("POST", "/v1/runs", b"{" + b'"plan":"' + b"x" * (2 << 20) + b'"}', 413, "larger than 1048576 bytes"),
    # bad routes and parameters
    ("GET", "/v1/nothing", None, 404, "GET /v1/nothing: no such route"),
    ("PUT", "/v1/runs", None, 405, "method not allowed (allowed: GET, HEAD, POST)"),
    ("GET", "/v1/runs/0123456789abcdef", None, 404, "no run '0123456789abcdef'"),
    ("GET", "/v1/runs/../../etc", None, 404, "no such route"),
    ("GET", "/v1/runs/not-an-id/events", None, 404, "no run 'not-an-id'"),
    ("DELETE", "/v1/runs/0123456789abcdef", None, 404, "no run"),
    ("POST", "/v1/runs/0123456789abcdef/resume", None, 404, "no run"),
    ("GET", "/v1/dumps/missing", None, 404, "no dump for scenario 'missing'"),
    ("GET", "/v1/dumps/..%2F..%2Fetc%2Fpasswd", None, 400, "is not a scenario name"),
    ("GET", "/v1/dumps/.hidden", None, 400, "is not a scenario name"),
    ("GET", "/v1/dumps/linked", None, 403, "leads outside"),
    ("POST", "/v1/dumps/linked/repair", None, 403, "leads outside"),  # read and rewritten: outside the dumps dir
    ("POST", "/v1/dumps/folder/repair", None, 409, "cannot read it as a dump: it is a directory, not a regular file"),
    ("GET", "/v1/dumps/folder", None, 409, "cannot read it as a dump: it is a directory, not a regular file"),
    ("GET", "/v1/dumps/damaged/file", None, 409, "truncated"),
    ("POST", "/v1/dumps/missing/next", None, 404, "no dump for scenario 'missing'"),
    (
        "POST",
        "/v1/dumps/five/next?strategy=lifo",
        None,
        400,
        "strategy 'lifo' is not one of unique, shuffle, cycle, random",
    ),
    (
        "POST",
        "/v1/dumps/five/next?strategy=lease",
        None,
        400,
        "strategy 'lease' holds a user until it is given back: POST /v1/dumps/five/leases",
    ),
    ("GET", "/v1/dumps/five/users/5", None, 404, "no user #5 (the dump holds 5)"),
    ("GET", "/v1/dumps/five/users/-1", None, 400, "user index '-1' is not a whole number"),
    ("GET", "/v1/dumps/five/users/x", None, 400, "is not a whole number"),
    ("GET", "/v1/dumps/five/next", None, 405, "method not allowed (allowed: POST)"),
    # query parameters a route does not read: the default would be served in silence
    (
        "POST",
        "/v1/dumps/five/next?stratgy=random",
        None,
        400,
        "POST /v1/dumps/five/next: unknown query parameter 'stratgy' (did you mean 'strategy'?); "
        "it takes profile, strategy, when_empty",
    ),
    ("POST", "/v1/dumps/five/next?strategy=random&strategy=unique", None, 400, "'strategy' is given more than once"),
    ("POST", "/v1/dumps/five/leases?ttl=5&ttl=60", None, 400, "the query parameter 'ttl' is given more than once"),
    ("POST", "/v1/dumps/five/leases?ttl=5&wiat=3", None, 400, "'wiat' (did you mean 'wait'?); it takes profile, ttl"),
    ("GET", "/v1/dumps/five?left=1", None, 400, "GET /v1/dumps/five: unknown query parameter 'left'; it takes none"),
    ("POST", "/v1/dumps/five/reset?strategy=unique", None, 400, "unknown query parameter 'strategy'; it takes none"),
    ("POST", "/v1/runs?dry_run=1", OK, 400, "POST /v1/runs: unknown query parameter 'dry_run'; it takes none"),
    ("POST", "/v1/dumps/five/repair?sampel=3", None, 400, "'sampel' (did you mean 'sample'?); it takes sample"),
    ("POST", "/v1/dumps/five/next?" + "x" * 300 + "=1", None, 400, "unknown query parameter 'xxxxxxxxxxxxxxxxxxxx"),
    ("GET", "/v1/nothing?x=1", None, 404, "GET /v1/nothing: no such route"),
    ("PUT", "/v1/runs?x=1", None, 405, "method not allowed (allowed: GET, HEAD, POST)"),
]


@pytest.fixture
async def prepared(service: Service, tmp_path: Path) -> Service:
    (service.plans_dir / "broken.yaml").write_text("users: [\n")
    (tmp_path / "secret.yaml").write_text("users: 1\n")
    (service.plans_dir / "outside.yaml").symlink_to(tmp_path / "secret.yaml")
    outside = write_dump(tmp_path, "linked", 1)
    (service.dumps_dir / "linked_seeds.json").symlink_to(outside)
    write_dump(service.dumps_dir, "five", 5)
    (service.dumps_dir / "folder_seeds.json").mkdir()
    damaged = write_dump(service.dumps_dir, "damaged", 3)
    damaged.write_bytes(damaged.read_bytes()[:-10])
    return service


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"), CASES, ids=[f"{c[0]} {c[1][:40]} {c[3]}" for c in CASES]
)
async def test_bad_requests_answer_one_line_json(
    prepared: Service, http: httpx.AsyncClient, method: str, path: str, body: Any, status: int, fragment: str
) -> None:
    kwargs: dict[str, Any] = {}
    if isinstance(body, bytes):
        kwargs = {"content": body, "headers": {"Content-Type": "application/json"}}
    elif body is not None:
        kwargs = {"json": body}
    answer = await http.request(method, path, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()
    assert list(error) == ["error"] and "\n" not in error["error"] and len(error["error"]) < 600
    assert fragment in error["error"]


async def test_a_journal_left_by_an_unfinished_run_is_refused_naming_the_run(
    service: Service, http: httpx.AsyncClient
) -> None:
    journal = service.dumps_dir / "held_seeds.journal"
    journal.write_text(
        '{"journal":1,"scenario":"held","plan_hash":"x","users":5}\n{"index":0,"user":{"user_id":"u"}}\n'
    )
    answer = await http.post("/v1/runs", json={**OK, "scenario": "held"})
    assert answer.status_code == 409 and "unfinished run" in answer.json()["error"]
    assert journal.read_text().count("\n") == 2  # untouched


async def test_the_token_guards_every_route_but_healthz(dirs: tuple[Path, Path]) -> None:
    write_dump(dirs[0], "five", 5)
    async with Service(dumps_dir=dirs[0], plans_dir=dirs[1], token="s3cret") as service:  # noqa: SIM117 - url once started
        async with httpx.AsyncClient(base_url=service.url) as http:
            for method, path in [
                ("GET", "/v1/runs"),
                ("POST", "/v1/dumps/five/next"),
                ("GET", "/metrics"),
                ("GET", "/openapi.json"),
                ("GET", "/v1/dumps/five/file"),
                ("GET", "/nowhere"),
            ]:
                for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
                    answer = await http.request(method, path, headers=headers)
                    assert answer.status_code == 401, (method, path, headers)
                    assert answer.headers["www-authenticate"] == "Bearer" and "token" in answer.json()["error"]
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            good = {"Authorization": "Bearer s3cret"}
            assert (await http.post("/v1/dumps/five/next", headers=good)).json()["index"] == 0
            assert (await http.get("/v1/runs", headers=good)).json() == {"runs": []}


def test_the_token_from_the_environment(dirs: tuple[Path, Path]) -> None:
    with ServiceProcess(dumps_dir=dirs[0], plans_dir=dirs[1], env={"SEEDING.SERVICE_TOKEN": "from-env"}) as proc:
        with httpx.Client(base_url=proc.url) as http:
            assert http.get("/v1/dumps").status_code == 401
            assert http.get("/v1/dumps", headers={"Authorization": "Bearer from-env"}).json() == {"dumps": []}
        assert proc.stop() == 0


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "seeding", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--host", "0.0.0.0"], "--host 0.0.0.0: listening beyond this machine needs a token"),
        (["--host", "10.1.2.3"], "needs a token"),
        (["--host", "example.com"], "needs a token"),
        (["--port", "70000"], "argument --port: must be a port number"),
        (["--port", "x"], "'x' is not a whole number"),
        (["--token", " "], "--token: is empty"),
        (["--dumps-dir", "/dev/null"], "--dumps-dir /dev/null: is not a directory"),
        (["--dumps-dir", ""], "argument --dumps-dir: is empty; give a directory"),  # not the current directory
        (["--plans-dir", ""], "argument --plans-dir: is empty; give a directory"),
        (["--plans-dir", "/dev/null"], "--plans-dir /dev/null: is not a directory"),
        (["--plans-dir", "/no/such/plans"], "--plans-dir /no/such/plans: no such directory"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--header-timeout", "0"], "--header-timeout: must be more than 0"),
        (["--header-timeout", "nan"], "--header-timeout: must be a finite number"),
        (["--body-timeout", "1e9"], "--body-timeout: must be more than 0 and at most"),
        (["--max-connections", "0"], "--max-connections: must be within 1-1000000"),
        (["--max-connections", "9" * 30], "--max-connections: must be within 1-1000000"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args: list[str], fragment: str) -> None:
    done = _serve(*args)
    assert done.returncode == 2, done
    assert done.stdout == "" and done.stderr.count("\n") == 1 and fragment in done.stderr
    assert done.stderr.startswith("python -m seeding serve: error: ")


def test_a_taken_port_exits_2_with_one_line(dirs: tuple[Path, Path]) -> None:
    with ServiceProcess(dumps_dir=dirs[0], plans_dir=dirs[1]) as proc:
        port = proc.url.rsplit(":", 1)[1]
        done = _serve("--port", port, "--dumps-dir", str(dirs[0]))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "cannot listen on 127.0.0.1" in done.stderr


@pytest.mark.parametrize("kind", ["file", "fifo"])
def test_runs_dir_that_is_not_a_directory_is_named(tmp_path: Path, kind: str) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    if kind == "file":
        (dumps / "runs").write_text("x")
    else:
        os.mkfifo(dumps / "runs")
    done = _serve("--port", "0", "--dumps-dir", str(dumps))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"{dumps}/runs: is not a directory (run records are kept there)" in done.stderr
    assert "cannot listen" not in done.stderr and "Traceback" not in done.stderr
