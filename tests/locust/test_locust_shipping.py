"""Seeds sent to workers: fingerprints that tell copies apart, chunks that rebuild the same users."""

from __future__ import annotations

import pytest

from seeding import DumpError, SeedsResult, open_dump, write_dump
from seeding.locust._shipping import SeedsReceiver, fingerprint, user_chunks


def users(count: int) -> list[dict]:
    return [
        {"user_id": f"user-{i}", "debit_card_accounts": [{"account_id": f"acc-{i}", "virtual_cards": []}]}
        for i in range(count)
    ]


def test_fingerprint_tells_dumps_apart(tmp_path):
    a = write_dump(tmp_path / "a_seeds.json", {"created_at": "2026-01-01T00:00:00+00:00"}, users(3))
    same = write_dump(tmp_path / "b_seeds.json", {"created_at": "2026-01-01T00:00:00+00:00"}, users(3))
    later = write_dump(tmp_path / "c_seeds.json", {"created_at": "2026-01-01T00:00:01+00:00"}, users(3))
    assert fingerprint(a) == fingerprint(same) != fingerprint(later)
    assert fingerprint(tmp_path / "missing.json") is None


@pytest.mark.parametrize("lazy", [True, False])
def test_chunks_rebuild_the_same_users_in_order(tmp_path, lazy):
    meta = {"scenario": "s", "counts": {"users": 250}}
    source = open_dump(write_dump(tmp_path / "s_seeds.json", meta, users(250)), lazy=lazy)
    chunks = list(user_chunks(source, max_bytes=2000))
    assert len(chunks) > 5

    receiver = SeedsReceiver(tmp_path / "worker" / "s_seeds.json", count=250, meta=meta)
    for chunk in chunks:
        receiver.add(chunk)
    received = receiver.finish()

    assert [u.user_id for u in received.users] == [u.user_id for u in source.users]
    assert received.users[249] == source.users[249]


def test_a_short_delivery_is_refused(tmp_path):
    source = SeedsResult.model_validate({"users": users(3)})
    receiver = SeedsReceiver(tmp_path / "s_seeds.json", count=4, meta=None)
    for chunk in user_chunks(source):
        receiver.add(chunk)
    with pytest.raises(DumpError, match="received 3 seeded users, the master announced 4"):
        receiver.finish()
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ([b'{"user_id":"a"},{"user_id":"b"}'], "seeded user #0 from the master is not one user's JSON line"),
        ([b'{"user_id":"a"}\n{"user_id":"b"}'], "seeded user #0 from the master is not one user's JSON line"),
        ([b'{"user_id":"a"}', b'{"user_id":1}'], "seeded user #1 from the master is not one user's JSON line"),
        ([b'{"name":"a"}'], "seeded user #0 from the master is not one user's JSON line"),
        ([b'{"user_id":"a"'], "seeded user #0 from the master is not one user's JSON line"),
        ([b'{"user_id":"a"}'] * 3, "the master sent more than the 2 seeded users it announced"),
    ],
)
def test_lines_that_are_not_the_announced_users_are_refused_before_writing(tmp_path, lines, problem):
    receiver = SeedsReceiver(tmp_path / "s_seeds.json", count=2, meta=None)
    with pytest.raises(DumpError, match=problem):
        receiver.add(lines)
    receiver.add([b'{"user_id":"a"}', b'{"user_id":"b"}'])  # nothing of the refused chunk was written
    assert [user.user_id for user in receiver.finish().users] == ["a", "b"]
