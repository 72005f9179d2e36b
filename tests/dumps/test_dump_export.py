"""Cards the accounts opened with are kept in dumps; ``python -m seeding export`` flattens dumps for other tools."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from seeding import build_seeds, load_plan, open_dump
from seeding.gateway import connect
from seeding.stand import Stand

PROJECT = Path(__file__).resolve().parents[2]
PLAN_11_2 = PROJECT / "plans" / "scenario-11-2.yaml"


def export(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seeding", "export", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
async def seeded(tmp_path: Path, transport: str) -> tuple[Path, dict[str, list[tuple[str, str]]]]:
    """A scenario-11.2 dump of 4 users, and every account's cards as the gateway lists them."""
    plan = load_plan(PLAN_11_2).with_users(4)
    async with Stand() as stand:
        seeds = await build_seeds(plan, transport=transport, target=stand.target(transport), dumps_dir=tmp_path)
        cards: dict[str, list[tuple[str, str]]] = {}
        async with connect(transport, stand.target(transport)) as client:
            for user in seeds.users:
                for account in await client.get_accounts(user.user_id):
                    cards[account.id] = [(card.id, card.type.value) for card in account.cards]
    return tmp_path / "scenario-11-2_seeds.json", cards


async def test_the_cards_an_account_opens_with_are_in_the_dump(seeded, course) -> None:
    path, cards = seeded
    seeds = open_dump(path)
    for user in seeds.users:
        for account in [*user.debit_card_accounts, *user.credit_card_accounts]:
            opened = [(card.card_id, card.type) for card in account.opened_cards]
            assert [t for _, t in opened] == ["VIRTUAL", "PHYSICAL"]  # the gateway's order
            issued = {c.card_id for c in [*account.physical_cards, *account.virtual_cards]}
            assert sorted(opened + [(i, t) for i, t in cards[account.account_id] if i in issued]) == sorted(
                cards[account.account_id]
            )
            assert account.first_card().card_id == opened[0][0]
            assert account.first_card("physical").card_id == opened[1][0]
    # The course's readers ignore the field: the same users, ids and lists as before.
    course_seeds = course.SeedsResult.model_validate_json(path.read_bytes())
    assert [u.user_id for u in course_seeds.users] == [u.user_id for u in seeds.users]
    account = course_seeds.users[0].credit_card_accounts[0]
    assert not hasattr(account, "opened_cards") and len(account.physical_cards) == 1


def test_shipped_plans_issue_no_card_just_to_pay() -> None:
    plan = load_plan(PROJECT / "plans" / "make-purchase-operation.yaml")
    accounts = plan.users.credit_card_accounts
    assert accounts.count == 1 and accounts.cards_per_account == 0
    assert plan.totals()["cards"] == 0


async def test_csv_and_jsonl_exports(seeded, tmp_path: Path) -> None:
    path, _ = seeded
    seeds = open_dump(path)

    as_csv = export(path, "--format", "csv", cwd=tmp_path)
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 4
    header = as_csv.stdout.splitlines()[0].split(",")
    assert header[:4] == ["index", "user_id", "debit_card_account_id", "debit_card_account_card_id"]
    assert "credit_card_account_purchase_operation_id" in header and "deposit_account_id" not in header
    for index, (row, user) in enumerate(zip(rows, seeds.users, strict=True)):
        account = user.credit_card_accounts[0]
        assert row["index"] == str(index) and row["user_id"] == user.user_id
        assert row["credit_card_account_id"] == account.account_id
        assert row["credit_card_account_card_id"] == account.opened_cards[0].card_id
        assert row["credit_card_account_physical_card_id"] == account.opened_cards[1].card_id
        assert row["credit_card_account_purchase_operation_id"] == account.purchase_operations[0].operation_id

    out = tmp_path / "users.jsonl"
    fields = "user_id,debit_card_account_virtual_card_id,index"
    as_jsonl = export(
        "scenario-11-2", "--format", "jsonl", "--fields", fields, "-o", out, "--dumps-dir", path.parent, cwd=tmp_path
    )
    assert as_jsonl.returncode == 0, as_jsonl.stderr
    lines = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert [list(line) for line in lines] == [["user_id", "debit_card_account_virtual_card_id", "index"]] * 4
    assert [line["index"] for line in lines] == [0, 1, 2, 3]
    assert (
        lines[2]["debit_card_account_virtual_card_id"] == seeds.users[2].debit_card_accounts[0].opened_cards[0].card_id
    )
    assert "4 users, 3 fields" in as_jsonl.stderr

    listed = export(path, "--format", "csv", "--fields", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "savings_account_id" in listed.stdout.split()


def test_an_export_of_a_course_dump_has_no_card_fields_it_cannot_fill(tmp_path: Path) -> None:
    dump = tmp_path / "c_seeds.json"
    user = {"user_id": "u", "debit_card_accounts": [{"account_id": "a", "virtual_cards": [{"card_id": "v"}]}]}
    dump.write_text(orjson.dumps({"users": [user]}).decode())
    done = export(dump, "--format", "csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "index,user_id,debit_card_account_id,debit_card_account_card_id,debit_card_account_virtual_card_id",
        "0,u,a,v,v",
    ]


@pytest.mark.parametrize(
    ("example", "used"),
    [("k6/get_operations.js", r"user\.(\w+)"), ("jmeter/get_operations.jmx", r"\$\{(\w+)\}")],
)
def test_the_k6_and_jmeter_examples_read_fields_their_export_writes(example: str, used: str) -> None:
    import re
    import xml.etree.ElementTree as ElementTree

    from seeding.cli._export import field_names

    text = (PROJECT / "examples" / example).read_text()
    commands = (PROJECT / "examples" / example).with_name("README.md").read_text()
    exported = re.search(r"--fields ([\w,]+)", commands)
    assert exported is not None
    fields = exported.group(1).split(",")
    assert set(fields) <= set(field_names())
    read = set(re.findall(used, text)) - {"length"}
    assert read and read <= set(fields), read - set(fields)
    if example.endswith(".jmx"):
        ElementTree.fromstring(text.encode())  # a well-formed test plan


GATEWAY_VALUES = [
    ("", False),
    ("   ", False),
    ("127.0.0.1:8003", False),
    ("localhost", False),
    ("http://127.0.0.1:8003/", False),
    ("http://127.0.0.1:8003/api", False),
    ("ftp://127.0.0.1:8003", False),
    ("http://127.0.0.1:8003", True),
    ("https://gateway.test:443", True),
]


@pytest.mark.parametrize(("value", "accepted"), GATEWAY_VALUES)
def test_the_jmeter_example_names_no_gateway_and_stops_without_a_base_url(value: str, accepted: bool) -> None:
    """Like k6's ``-e BASE_URL``: ``-Jgateway`` has no default, and a setUp group refuses what is not one."""
    import re
    import xml.etree.ElementTree as ElementTree

    example = PROJECT / "examples" / "jmeter" / "get_operations.jmx"
    plan = ElementTree.fromstring(example.read_bytes())
    samplers = plan.findall(".//HTTPSamplerProxy")
    assert samplers
    for sampler in samplers:
        props = {p.get("name"): p.text or "" for p in sampler.findall("stringProp")}
        assert props["HTTPSampler.domain"] == props["HTTPSampler.port"] == "", props
        assert props["HTTPSampler.path"].startswith("${__P(gateway,)}/api/v1/"), props
    assert all(default == "" for default in re.findall(r"__P\(\w+,([^)]*)\)", example.read_text()))
    setup = plan.find(".//SetupThreadGroup")
    assert setup is not None
    on_error = setup.find("stringProp[@name='ThreadGroup.on_sample_error']")
    assert on_error is not None and on_error.text == "stoptestnow"
    found = plan.find(".//JSR223Sampler/stringProp[@name='script']")
    assert found is not None
    script = found.text or ""
    assert 'props.getProperty("gateway", "").trim()' in script and "SampleResult.setStopTestNow(true)" in script
    assert "-Jgateway=http://HOST:PORT" in script
    rule = re.search(r"gateway ==~ /(.+)/\)\)", script)
    assert rule is not None
    assert bool(re.fullmatch(rule.group(1).replace("\\/", "/"), value.strip())) == accepted
    for doc in (example.with_name("README.md"), PROJECT / "docs" / "load-tools.md"):
        text = doc.read_text()
        assert "-Jgateway=http://127.0.0.1:8003" in text and "-Jhost" not in text, doc
