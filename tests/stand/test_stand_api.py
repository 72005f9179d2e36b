"""The ``Stand`` object itself: addresses, lifecycle, start failures and the state it exposes."""

from __future__ import annotations

import re
import socket

import pytest

from seeding.stand import Stand, StandStartError


async def test_addresses_are_known_only_once_started() -> None:
    stand = Stand()
    with pytest.raises(RuntimeError, match="not started"):
        _ = stand.http_url
    async with stand:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", stand.http_url)
        assert re.fullmatch(r"127\.0\.0\.1:\d+", stand.grpc_target)
        assert stand.target("http") == stand.http_url
        assert stand.target("grpc") == stand.grpc_target
        assert stand.http_port != stand.grpc_port != 0
        with pytest.raises(ValueError):
            stand.target("soap")  # type: ignore[arg-type]
    assert not stand.started
    await stand.stop()  # stopping twice is harmless


async def test_a_port_in_use_fails_cleanly_and_frees_the_other() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for kwargs in ({"http_port": port}, {"grpc_port": port}):
            stand = Stand(**kwargs)
            with pytest.raises(StandStartError, match=f"127.0.0.1:{port}.*in use"):
                await stand.start()
            assert not stand.started


async def test_fixed_ports_are_used_and_released_on_stop() -> None:
    async with Stand() as first:
        http_port, grpc_port = first.http_port, first.grpc_port
    async with Stand(http_port=http_port, grpc_port=grpc_port) as second:
        assert (second.http_port, second.grpc_port) == (http_port, grpc_port)


async def test_state_is_one_bank_per_stand() -> None:
    async with Stand() as one, Stand() as two:
        one.bank.create_user(email="only@one.com")
        assert len(one.bank.users) == 1 and len(two.bank.users) == 0
