"""Failure classification: the one table, and what it makes of real faults through both clients."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest

from seeding._exceptions import (
    GatewayError,
    GatewayUnreachableError,
    InvalidRequestError,
    NotFoundError,
    PermanentGatewayError,
    RejectedError,
    TransientGatewayError,
    error_for_grpc_status,
    error_for_http_status,
    is_transient,
)
from seeding.gateway import Transport, connect
from seeding.stand import Stand

# The list, written out: transient ones are worth a retry, the rest never are.
GRPC_CLASSES: dict[str, type[GatewayError]] = {
    "UNAVAILABLE": TransientGatewayError,
    "DEADLINE_EXCEEDED": TransientGatewayError,
    "RESOURCE_EXHAUSTED": TransientGatewayError,
    "ABORTED": TransientGatewayError,
    "CANCELLED": TransientGatewayError,
    "INTERNAL": TransientGatewayError,  # receipts not in storage yet; overload
    "UNKNOWN": TransientGatewayError,  # the real gateway's answer when its database pool runs dry
    "NOT_FOUND": NotFoundError,
    "INVALID_ARGUMENT": InvalidRequestError,
    "FAILED_PRECONDITION": RejectedError,
    "PERMISSION_DENIED": RejectedError,
    "ALREADY_EXISTS": RejectedError,
    "UNAUTHENTICATED": RejectedError,
    "UNIMPLEMENTED": RejectedError,
    "OUT_OF_RANGE": InvalidRequestError,
    "DATA_LOSS": PermanentGatewayError,
}
HTTP_CLASSES: dict[int, type[GatewayError]] = {
    429: TransientGatewayError,
    500: TransientGatewayError,
    502: TransientGatewayError,
    503: TransientGatewayError,
    504: TransientGatewayError,
    408: TransientGatewayError,
    404: NotFoundError,
    422: InvalidRequestError,
    403: InvalidRequestError,  # duplicate email: INVALID_ARGUMENT over gRPC, the same class here
    400: RejectedError,  # a card on a deposit account: FAILED_PRECONDITION over gRPC
    401: RejectedError,
    405: RejectedError,
    409: RejectedError,
}


def test_every_grpc_status_is_in_the_table() -> None:
    assert set(GRPC_CLASSES) == {code.name for code in grpc.StatusCode if code is not grpc.StatusCode.OK}


@pytest.mark.parametrize(("status", "cls"), sorted(GRPC_CLASSES.items()))
def test_grpc_status_classification(status: str, cls: type[GatewayError]) -> None:
    error = error_for_grpc_status(status, method="GetUser", target="gw:9003", detail="server says no")
    assert type(error) is cls
    assert is_transient(error) is issubclass(cls, TransientGatewayError)
    assert is_transient(error) is not isinstance(error, PermanentGatewayError)
    assert (error.method, error.target, error.status, error.detail) == ("GetUser", "gw:9003", status, "server says no")
    assert str(error) == f"GetUser at gw:9003 failed: {status}: server says no"


@pytest.mark.parametrize(("code", "cls"), sorted(HTTP_CLASSES.items()))
def test_http_status_classification(code: int, cls: type[GatewayError]) -> None:
    method = "POST /api/v1/users"
    error = error_for_http_status(code, method=method, target="http://gw:8003", detail="nope")
    assert type(error) is cls
    assert is_transient(error) is issubclass(cls, TransientGatewayError)
    assert (error.method, error.target, error.status, error.detail) == (method, "http://gw:8003", str(code), "nope")
    assert str(error) == f"POST /api/v1/users at http://gw:8003 failed: {code}: nope"


def test_unreachable_is_transient_and_plain_errors_are_not() -> None:
    unreachable = GatewayUnreachableError(method="GetUser", target="gw:1", status="UNAVAILABLE", detail="refused")
    assert is_transient(unreachable)
    assert not is_transient(ValueError("x"))
    assert not is_transient(NotFoundError(method="m", target="t", status="404", detail="d"))


# --- real faults through our clients --------------------------------------------------------------

INJECTED = {"grpc": "UNAVAILABLE", "http": "503"}


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_injected_faults_are_transient_and_change_nothing(transport: Transport) -> None:
    async with Stand(fail_rate=1.0, seed=3) as stand, connect(transport, stand.target(transport)) as gateway:
        with pytest.raises(TransientGatewayError) as caught:
            await gateway.create_user(email="faulty@example.com", last_name="a", first_name="b", middle_name="c")
        error = caught.value
        assert not isinstance(error, GatewayUnreachableError), "the stand answered: it is reachable"
        assert error.status == INJECTED[transport]
        assert error.target == stand.target(transport)
        assert error.method in ("CreateUser", "POST /api/v1/users")
        assert "injected" in error.detail
        assert stand.faults.total_injected == 1
        await gateway.check_reachable(timeout=2.0)  # a failing gateway is still a reachable one
    async with Stand(seed=3) as clean, connect(transport, clean.target(transport)) as gateway:
        await gateway.create_user(email="faulty@example.com", last_name="a", first_name="b", middle_name="c")


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_a_share_of_faults_only_ever_raises_transient_errors(transport: Transport) -> None:
    async with Stand(fail_rate=0.3, seed=11) as stand, connect(transport, stand.target(transport)) as gateway:
        outcomes: list[str] = []
        for i in range(60):
            try:
                await gateway.create_user(
                    email=f"u{i}@example.com", last_name="a", first_name="b", middle_name="c", phone_number="1"
                )
                outcomes.append("ok")
            except TransientGatewayError as exc:
                assert exc.status == INJECTED[transport]
                outcomes.append("fault")
        assert outcomes.count("fault") == stand.faults.total_injected
        assert 5 < outcomes.count("fault") < 35
        assert len(stand.bank.users) == outcomes.count("ok")


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_a_call_slower_than_the_timeout_is_transient(transport: Transport) -> None:
    async with (
        Stand(latency_ms=1000) as stand,
        connect(transport, stand.target(transport), timeout=0.2) as gateway,
    ):
        with pytest.raises(TransientGatewayError) as caught:
            await gateway.get_accounts("5f0e7c2a-4b1d-4c3e-9a8f-1d2c3b4a5e6f")
        assert not isinstance(caught.value, GatewayUnreachableError)
        assert caught.value.status in ("DEADLINE_EXCEEDED", "SocketTimeoutError", "ReadTimeout")
        assert caught.value.target == stand.target(transport)


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_a_slow_gateway_is_reachable_not_down(transport: Transport) -> None:
    """Connected but answering after the probe's timeout: up and slow, which retries can handle."""
    async with Stand(latency_ms=1000) as slow, connect(transport, slow.target(transport), timeout=0.2) as client:
        await client.check_reachable(timeout=0.3)


Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(serve: Serve) -> AsyncIterator[int]:
    """A TCP server on a free loopback port that runs ``serve`` per connection; yields the port."""
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await serve(reader, writer)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def black_hole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts, reads whatever comes, never answers."""
    while await reader.read(4096):
        pass


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers 200 with a 1000-byte body, one byte every 50 ms: never idle long enough for a read timeout."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n")
    for _ in range(1000):
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("transport", "serve"),
    [("grpc", black_hole), ("http", black_hole), ("http", trickle)],
    ids=["grpc-black-hole", "http-black-hole", "http-trickle"],
)
async def test_a_call_never_outlives_its_timeout(transport: Transport, serve: Serve) -> None:
    """One bound per call, the transport's: whatever the server does, the call ends, transient, in time."""
    async with raw_server(serve) as port:
        target = f"127.0.0.1:{port}" if transport == "grpc" else f"http://127.0.0.1:{port}"
        async with connect(transport, target, timeout=0.5) as gateway:
            started = time.monotonic()
            with pytest.raises(TransientGatewayError) as caught:
                await asyncio.wait_for(gateway.get_accounts("5f0e7c2a-4b1d-4c3e-9a8f-1d2c3b4a5e6f"), 10)
            took = time.monotonic() - started
    assert 0.4 < took < 3.0, took
    assert caught.value.target == target
