"""Every bad input to ``python -m seeding`` (and ``… verify``), through the real CLI in a subprocess.

One table: each row is what a user (or a hostile one) types and the files around it; each asserts
the exit code (0 ok, 1 run failed / unreachable, 2 bad usage with nothing sent), at most one line
on stderr naming the problem, no traceback, and an upper bound on the time it took. Rows need no
real gateway: a closed port, a black hole (a socket that accepts and never answers), the embedded
stand, or one flaky stand process shared by the module.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from seeding.stand import StandProcess

PROJECT = Path(__file__).resolve().parents[2]
PLAN = PROJECT / "plans" / "scenario-11-2.yaml"
DEEP_PLAN = "[" * 100_000


@dataclass(frozen=True)
class Row:
    id: str
    args: list[str]  # {plan} {tmp} {closed} {hole} {flaky_grpc} {flaky_http} are filled in
    code: int
    says: str  # a piece of the one error line
    files: dict[str, str | bytes] = field(default_factory=dict)  # written under tmp first
    env: dict[str, str] = field(default_factory=dict)
    seconds: float = 20.0  # a ceiling that catches hangs (they were minutes, or forever) on a loaded machine
    absent: tuple[str, ...] = ()  # files under tmp that must not exist afterwards


def journal(header: str, *lines: str) -> str:
    return "\n".join([header, *lines]) + "\n"


def user_line(index: int) -> str:
    return orjson.dumps({"index": index, "user": {"user_id": f"u{index}", "deposit_accounts": []}}).decode()


ONE_USER = "users: 1\n"
GRPC_JOURNAL = (
    '{"journal":1,"scenario":"one","plan_hash":"%s","transport":"grpc","target":"127.0.0.1:1","seed":1,"users":1}'
)

ROWS = [
    # flags
    Row("no-arguments", [], 2, "the following arguments are required: PLAN"),
    Row("concurrency-0", ["{plan}", "--concurrency", "0"], 2, "--concurrency: must be within 1-10000"),
    Row("concurrency-billion", ["{plan}", "--concurrency", "1000000000"], 2, "--concurrency: must be within 1-10000"),
    Row("retries-billion", ["{plan}", "--retries", "1000000000"], 2, "--retries: must be within 0-1000"),
    Row("concurrency-text", ["{plan}", "--concurrency", "x"], 2, "'x' is not a whole number"),
    Row("concurrency-auto-typo", ["{plan}", "--concurrency", "autox"], 2, "--concurrency: 'autox' is not a whole"),
    Row("concurrency-empty", ["{plan}", "--concurrency", ""], 2, "--concurrency: '' is not a whole number"),
    Row("retries-negative", ["{plan}", "--retries", "-1"], 2, "--retries: must be within 0-1000"),
    Row("transport-unknown", ["{plan}", "--transport", "smtp"], 2, "invalid choice: 'smtp'"),
    Row("resume-and-restart", ["{plan}", "--resume", "--restart"], 2, "not allowed with argument"),
    Row("timeout-negative", ["{plan}", "--timeout", "-1"], 2, "--timeout: must be more than 0"),
    Row("timeout-zero", ["{plan}", "--timeout", "0"], 2, "--timeout: must be more than 0"),
    Row("timeout-inf", ["{plan}", "--stand", "embedded", "--timeout", "inf"], 2, "must be a finite number"),
    Row("timeout-nan", ["{plan}", "--timeout", "nan"], 2, "must be a finite number"),
    Row("timeout-huge", ["{plan}", "--timeout", "1e12"], 2, "at most 3600"),
    Row("timeout-text", ["{plan}", "--timeout", "soon"], 2, "'soon' is not a number"),
    Row("seed-30-digits", ["{plan}", "--seed", "1" * 30], 2, "--seed: must be a whole number within"),
    Row("seed-text", ["{plan}", "--seed", "abc"], 2, "'abc' is not a whole number"),
    Row("grpc-target-empty", ["{plan}", "--grpc-target", ""], 2, "the gRPC target is empty"),
    Row("grpc-target-dns-empty", ["{plan}", "--grpc-target", "dns:///"], 2, "'dns:///' has no valid host"),
    Row("grpc-target-url", ["{plan}", "--grpc-target", "http://x:1"], 2, "a URL is for --http-url"),
    Row("grpc-target-port", ["{plan}", "--grpc-target", "localhost:99999"], 2, "within 1-65535"),
    Row("grpc-target-ipv4", ["{plan}", "--grpc-target", "ipv4:1.2.3"], 2, "'1.2.3' is not an IP address"),
    Row("http-url-no-scheme", ["{plan}", "--transport", "http", "--http-url", "127.0.0.1:1"], 2, "(it has no scheme)"),
    Row("http-url-ftp", ["{plan}", "--http-url", "ftp://x"], 2, "must start with http:// or https://"),
    Row("http-url-port", ["{plan}", "--http-url", "http://x:99999"], 2, "within 1-65535"),
    Row("http-url-no-host", ["{plan}", "--http-url", "http://"], 2, "has no host"),
    Row("resume-embedded", ["{plan}", "--stand", "embedded", "--resume"], 2, "its data ended with its process"),
    # the dumps directory
    Row("dumps-dir-file", ["{plan}", "--stand", "embedded", "--dumps-dir", "{tmp}/f"], 2, "is a file", {"f": "x"}),
    Row("dumps-dir-in-file", ["{plan}", "--stand", "embedded", "--dumps-dir", "{tmp}/f/d"], 2, "is a file", {"f": "x"}),
    Row("dumps-dir-uncreatable", ["{plan}", "--stand", "embedded", "--dumps-dir", "/proc/seeding"], 2, "cannot make"),
    Row(
        "dumps-dir-read-only",
        ["{plan}", "--stand", "embedded", "--dumps-dir", "/sys/kernel"],
        2,
        "cannot take the plan's lock",
    ),
    # settings, from .env
    Row("env-grpc-port", ["{plan}"], 2, "GATEWAY_GRPC_CLIENT.PORT", {".env": "GATEWAY_GRPC_CLIENT.PORT=99999\n"}),
    Row("env-grpc-host", ["{plan}"], 2, "has no valid host", {".env": "GATEWAY_GRPC_CLIENT.HOST=\n"}),
    Row("env-http-url", ["{plan}"], 2, "(it has no scheme)", {".env": "GATEWAY_HTTP_CLIENT.URL=127.0.0.1:1\n"}),
    Row("env-http-ftp", ["{plan}"], 2, "GATEWAY_HTTP_CLIENT.URL", {".env": "GATEWAY_HTTP_CLIENT.URL=ftp://x\n"}),
    Row("env-timeout-inf", ["{plan}"], 2, "finite number", {".env": "GATEWAY_HTTP_CLIENT.TIMEOUT=inf\n"}),
    Row("env-transport", ["{plan}"], 2, "SEEDING.TRANSPORT", {".env": "SEEDING.TRANSPORT=smtp\n"}),
    Row("env-concurrency", ["{plan}"], 2, "SEEDING.CONCURRENCY", {".env": "SEEDING.CONCURRENCY=0\n"}),
    Row("env-concurrency-word", ["{plan}"], 2, "SEEDING.CONCURRENCY", {".env": "SEEDING.CONCURRENCY=fast\n"}),
    Row("env-retries", ["{plan}"], 2, "SEEDING.RETRIES", {".env": "SEEDING.RETRIES=99999999\n"}),
    # plans
    Row("plan-missing", ["{tmp}/nope.yaml"], 2, "nope.yaml: no such plan file"),
    Row("plan-directory", ["{tmp}"], 2, "cannot read it as a plan: it is a directory"),
    Row("plan-binary", ["{tmp}/p.yaml"], 2, "cannot read the plan", {"p.yaml": b"\xff\xfe\x00users"}),
    Row("plan-empty", ["{tmp}/p.yaml"], 2, "the plan is empty", {"p.yaml": ""}),
    Row("plan-list", ["{tmp}/p.yaml"], 2, "not a list", {"p.yaml": "- 1\n"}),
    Row("plan-bad-yaml", ["{tmp}/p.yaml"], 2, "p.yaml:2: invalid YAML", {"p.yaml": "users: [\n"}),
    Row("plan-bad-json", ["{tmp}/p.json"], 2, "invalid JSON", {"p.json": '{"users": '}),
    # PyYAML's composer recurses per level in Python: 2.4 s alone, 9.5 s under coverage, 26 s in CI's loaded
    # lowest-versions pass (coverage, four workers); a hang was minutes or forever
    Row("plan-deep-yaml", ["{tmp}/p.yaml"], 2, "nested too deep", {"p.yaml": DEEP_PLAN}, seconds=60),
    Row("plan-deep-json", ["{tmp}/p.json"], 2, "invalid JSON", {"p.json": DEEP_PLAN}),
    Row("plan-negative", ["{tmp}/p.yaml"], 2, "users.count: input should be", {"p.yaml": "users: {count: -3}\n"}),
    Row("plan-typo", ["{tmp}/p.yaml"], 2, "did you mean", {"p.yaml": "users: {debit_card_acounts: 1}\n"}),
    Row("plan-scenario-newline", ["{tmp}/p.yaml"], 2, "not a plain file name", {"p.yaml": 'scenario: "evil\\n"\n'}),
    Row(
        "plan-amount-inf",
        ["{tmp}/p.yaml"],
        2,
        "operations.amount.min: input should be a finite number",
        {"p.yaml": "users: 1\noperations: {amount: {min: .inf, max: .inf}}\n"},
    ),
    Row(
        "plan-amount-huge",
        ["{tmp}/p.yaml"],
        2,
        "less than or equal to 1000000000",
        {"p.yaml": "users: 1\noperations: {amount: {max: 1e300}}\n"},
    ),
    Row(
        "plan-billion-users",
        ["{tmp}/p.yaml", "--grpc-target", "127.0.0.1:{closed}"],
        2,
        "creates 1,000,000,000 entities in all",
        {"p.yaml": "users: {count: 1000000000}\n"},
    ),
    Row(
        "plan-10e21-users",
        ["{tmp}/p.yaml"],
        2,
        "creates 1,000,000,000,000,000,000,000 entities",
        {"p.yaml": "users: {count: 1000000000000000000000}\n"},
    ),
    Row(
        "plans-same-scenario",
        ["{tmp}/a.yaml", "{tmp}/b.yaml"],
        2,
        "both would write one dump",
        {"a.yaml": "scenario: s\nusers: 1\n", "b.yaml": "scenario: s\nusers: 2\n"},
    ),
    # journals: refused before anything is sent (a closed port would make any call exit 1)
    Row(
        "journal-unfinished",
        ["{tmp}/one.yaml", "--grpc-target", "127.0.0.1:{closed}", "--dumps-dir", "{tmp}"],
        2,
        "pass --resume to finish it",
        {"one.yaml": ONE_USER, "one_seeds.journal": journal('{"journal":1,"plan_hash":"x","users":1}', user_line(0))},
    ),
    Row(
        "journal-foreign-header",
        ["{tmp}/one.yaml", "--resume", "--grpc-target", "127.0.0.1:{closed}", "--dumps-dir", "{tmp}"],
        2,
        "one_seeds.journal:1: not a seeding journal",
        {"one.yaml": ONE_USER, "one_seeds.journal": journal('{"foo":1}', user_line(0))},
    ),
    Row(
        "journal-header-no-seed",
        ["{tmp}/one.yaml", "--resume", "--grpc-target", "127.0.0.1:{closed}", "--dumps-dir", "{tmp}"],
        2,
        "not a seeding journal",
        {"one.yaml": ONE_USER, "one_seeds.journal": journal('{"journal":1,"seed":"x"}', user_line(0))},
    ),
    Row(
        "journal-list-header",
        ["{tmp}/one.yaml", "--resume", "--grpc-target", "127.0.0.1:{closed}", "--dumps-dir", "{tmp}"],
        2,
        "not a seeding journal",
        {"one.yaml": ONE_USER, "one_seeds.journal": journal("[1,2]")},
    ),
    Row(
        "journal-other-plan",
        ["{tmp}/one.yaml", "--resume", "--grpc-target", "127.0.0.1:1", "--dumps-dir", "{tmp}"],
        2,
        "was made from another plan",
        {"one.yaml": ONE_USER, "one_seeds.journal": journal(GRPC_JOURNAL % "other", user_line(0))},
    ),
    Row(
        "journal-other-gateway",
        ["{tmp}/one.yaml", "--resume", "--grpc-target", "127.0.0.1:{closed}", "--dumps-dir", "{tmp}"],
        2,
        "the interrupted run seeded grpc 127.0.0.1:1, this one targets grpc 127.0.0.1:",
        {"one.yaml": ONE_USER, "one_seeds.journal": journal(GRPC_JOURNAL % "{hash_one}", user_line(0))},
    ),
    Row(
        "journal-symlink",
        ["{tmp}/one.yaml", "--stand", "embedded", "--dumps-dir", "{tmp}/d"],
        2,
        "is a symbolic link",
        {"one.yaml": ONE_USER},
        absent=("outside",),
    ),
    Row(
        "journal-of-a-later-plan",
        ["{tmp}/a.yaml", "{tmp}/one.yaml", "--stand", "embedded", "--dumps-dir", "{tmp}"],
        2,
        "one_seeds.journal: an unfinished run left 1 of 1 users here",
        {
            "a.yaml": ONE_USER,
            "one.yaml": ONE_USER,
            "one_seeds.journal": journal('{"journal":1,"plan_hash":"x","users":1}', user_line(0)),
        },
        absent=("a_seeds.json", "a_seeds.journal"),
    ),
    # an address for one transport with --transport the other: the address would be ignored
    Row(
        "transport-grpc-http-url",
        ["{plan}", "--transport", "grpc", "--http-url", "http://127.0.0.1:{closed}"],
        2,
        "--http-url is an address for --transport http, and this run uses --transport grpc: give --grpc-target",
    ),
    Row(
        "verify-transport-http-grpc-target",
        ["verify", "{dump}", "--transport", "http", "--grpc-target", "127.0.0.1:{closed}"],
        2,
        "--grpc-target is an address for --transport grpc, and this run uses --transport http",
    ),
    # the network: exit 1, in seconds
    Row(
        "http-url-alone-means-http",  # it once went to the settings' gRPC target, the URL ignored
        ["{plan}", "--http-url", "http://127.0.0.1:{closed}"],
        1,
        "cannot reach the gateway over http at http://127.0.0.1:",
    ),
    Row("grpc-closed-port", ["{plan}", "--grpc-target", "127.0.0.1:{closed}"], 1, "cannot reach the gateway over grpc"),
    Row(
        "http-closed-port",
        ["{plan}", "--transport", "http", "--http-url", "http://127.0.0.1:{closed}"],
        1,
        "cannot reach the gateway over http",
    ),
    Row(
        "grpc-black-hole",
        ["{plan}", "--grpc-target", "127.0.0.1:{hole}", "--timeout", "1"],
        1,
        "no connection within 1 s",
    ),
    Row(
        "http-black-hole",
        ["{plan}", "--transport", "http", "--http-url", "http://127.0.0.1:{hole}", "--timeout", "1"],
        1,
        "connected, but no answer within 5 s",
        seconds=25,
    ),
    Row("grpc-unresolvable", ["{plan}", "--grpc-target", "nowhere.invalid:1"], 1, "cannot reach the gateway"),
    # permanent failures below the user: the one-line summary, never an ExceptionGroup
    Row(
        "grpc-flaky-no-retries",
        ["{plan}", "--grpc-target", "{flaky_grpc}", "--retries", "0", "--dumps-dir", "{tmp}"],
        1,
        "missing plan indices",
    ),
    Row(
        "http-flaky-no-retries",
        ["{plan}", "--transport", "http", "--http-url", "{flaky_http}", "--retries", "0", "--dumps-dir", "{tmp}"],
        1,
        "missing plan indices",
    ),
    Row(
        "plan-over-4-mib",  # refused before a call: a request from it would exceed the gateway's 4 MiB as well
        ["{tmp}/big.yaml", "--stand", "embedded", "--transport", "http", "--dumps-dir", "{tmp}"],
        2,
        "too large for a plan",
        {
            "big.yaml": "users: {count: 2, debit_card_accounts: {count: 1, purchase_operations: 1}}\n"
            "operations: {purchase_categories: [%s]}\n" % ("x" * 5_000_000)
        },
        seconds=40,
    ),
    # verify
    Row("verify-http-ftp", ["verify", "{dump}", "--transport", "http", "--http-url", "ftp://x"], 2, "ftp://"),
    Row("verify-grpc-empty", ["verify", "{dump}", "--grpc-target", ""], 2, "the gRPC target is empty"),
    Row("verify-timeout-inf", ["verify", "{dump}", "--timeout", "inf"], 2, "must be a finite number"),
    Row("verify-env-url", ["verify", "{dump}"], 2, "GATEWAY_HTTP_CLIENT.URL", {".env": "GATEWAY_HTTP_CLIENT.URL=x\n"}),
    Row("verify-missing-dump", ["verify", "{tmp}/none_seeds.json"], 2, "no such dump"),
    Row("verify-seed-huge", ["verify", "{dump}", "--seed", "9" * 30], 2, "--seed: must be a whole number within"),
    Row(
        "verify-recorded-gateway-closed",
        ["verify", "{dump}"],
        1,
        "cannot reach the gateway over grpc at 127.0.0.1:",
    ),
    Row(
        "verify-recorded-target-garbage",
        ["verify", "{tmp}/bad_seeds.json"],
        2,
        "its meta.target is unusable",
        {"bad_seeds.json": '{"meta":{"transport":"grpc","target":"dns:///","counts":{"users":0}},"users":[\n]}\n'},
    ),
]


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) >= 40
    assert len({row.id for row in ROWS}) == len(ROWS)


@pytest.fixture(scope="module")
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def black_hole() -> Iterator[int]:
    """A port that completes TCP connections (the kernel's backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def flaky() -> Iterator[StandProcess]:
    with StandProcess(fail_rate=0.3, seed=9) as stand:
        yield stand


def seeding(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 60):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "seeding", *args, *([] if args[:1] == ["verify"] else ["--no-progress"])],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result, time.monotonic() - started


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input(row: Row, tmp_path: Path, request: pytest.FixtureRequest, closed_port: int) -> None:
    needs = " ".join(row.args)
    fill = {"plan": str(PLAN), "tmp": str(tmp_path), "closed": str(closed_port)}
    if "{hole}" in needs:
        fill["hole"] = str(request.getfixturevalue("black_hole"))
    if "{flaky" in needs:
        stand = request.getfixturevalue("flaky")
        fill.update(flaky_grpc=stand.grpc_target, flaky_http=stand.http_url)
    if "{dump}" in needs:
        fill["dump"] = str(tmp_path / "s_seeds.json")
        meta = {"transport": "grpc", "target": f"127.0.0.1:{closed_port}", "counts": {"users": 0}}
        (tmp_path / "s_seeds.json").write_bytes(b'{"meta":' + orjson.dumps(meta) + b',"users":[\n]}\n')
    if "{hash_one}" in str(row.files):
        from seeding import parse_plan

        fill["hash_one"] = parse_plan(ONE_USER, source="one.yaml").hash
    for name, content in row.files.items():
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content.replace("{hash_one}", fill.get("hash_one", "")))
    if row.id == "journal-symlink":
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "one_seeds.journal").symlink_to(tmp_path / "outside")

    result, seconds = seeding([arg.format(**fill) for arg in row.args], cwd=tmp_path, env=row.env)

    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 1, result.stderr
    assert result.returncode == row.code, result.stderr
    assert row.says in result.stderr, result.stderr
    assert seconds < row.seconds, f"took {seconds:.1f} s"
    for name in row.absent:
        assert not (tmp_path / name).exists(), name
