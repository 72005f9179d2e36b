"""The dump kept aside (``<scenario>_seeds.previous.json``): a gateway's is never pushed out by the stand's."""

from __future__ import annotations

from pathlib import Path

import pytest

from seeding.dumps._files import read_meta, write_dump
from seeding.dumps._previous import keep_previous, previous_path


def _dump(path: Path, target: str, users: int) -> Path:
    meta = {"scenario": "s", "transport": "grpc", "target": target, "seed": 1, "counts": {"users": users}}
    return write_dump(path, meta, [{"user_id": f"u{i}-{target}"} for i in range(users)])


@pytest.mark.parametrize(
    ("kept", "moved", "then_kept"),
    [
        (None, "10.0.0.1:9003", "10.0.0.1:9003"),  # nothing kept yet: the dump goes aside
        ("10.0.0.1:9003", "10.0.0.2:9003", "10.0.0.2:9003"),  # one generation: the older gateway's goes
        ("embedded", "10.0.0.1:9003", "10.0.0.1:9003"),  # the stand's kept dump gives way to a gateway's
        ("embedded", "embedded", "embedded"),
        # The case that lost data: a gateway's dump kept aside, then a stand's dump replaced in turn. The
        # stand's users ended with it; the gateway's are hours of seeding: the stand's goes, not the kept one.
        ("10.0.0.1:9003", "embedded", "10.0.0.1:9003"),
    ],
)
def test_the_kept_dump_is_the_one_worth_keeping(tmp_path: Path, kept: str | None, moved: str, then_kept: str) -> None:
    dump = tmp_path / "s_seeds.json"
    if kept is not None:
        _dump(previous_path(dump), kept, 3)
    _dump(dump, moved, 2)
    went = keep_previous(dump)
    assert not dump.exists()
    assert read_meta(previous_path(dump))["target"] == then_kept  # type: ignore[index]
    assert went == (previous_path(dump) if then_kept == moved else None)


def test_a_dump_that_cannot_be_read_still_goes_aside(tmp_path: Path) -> None:
    dump = tmp_path / "s_seeds.json"
    _dump(previous_path(dump), "10.0.0.1:9003", 3)
    dump.write_bytes(b'{"meta": {"target": "embed')  # truncated: it does not say where it was made
    assert keep_previous(dump) == previous_path(dump)
    assert previous_path(dump).read_bytes() == b'{"meta": {"target": "embed'
