"""Fault injection: latency is applied, fail-rate answers 503 / UNAVAILABLE without applying the
change, and the same seed gives the same faults."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import grpc
import pytest

from contracts.services.gateway.users import rpc_create_user_pb2, rpc_get_user_pb2, users_gateway_service_pb2_grpc
from seeding.gateway import AccountType, OperationStatus, OperationType
from seeding.stand import Faults, Stand
from seeding.stand._errors import InjectedFaultError

USER = {"lastName": "L", "firstName": "F", "middleName": "M", "phoneNumber": "1"}


async def create_users_http(stand: Stand, emails: list[str]) -> list[int]:
    """POST each email in turn; the status codes."""
    statuses = []
    async with aiohttp.ClientSession(base_url=stand.http_url) as http:
        for email in emails:
            async with http.post("/api/v1/users", json={"email": email, **USER}) as response:
                statuses.append(response.status)
                if response.status == 503:
                    assert (await response.json())["detail"]
    return statuses


async def create_users_grpc(stand: Stand, emails: list[str]) -> list[grpc.StatusCode]:
    codes = []
    async with grpc.aio.insecure_channel(stand.grpc_target) as channel:
        stub = users_gateway_service_pb2_grpc.UsersGatewayServiceStub(channel)
        for email in emails:
            try:
                await stub.CreateUser(rpc_create_user_pb2.CreateUserRequest(email=email), timeout=5)
                codes.append(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as exc:
                codes.append(exc.code())
    return codes


async def test_latency_delays_every_call_on_both_transports() -> None:
    async with Stand(latency_ms=150, jitter_ms=20) as stand:
        async with aiohttp.ClientSession(base_url=stand.http_url) as http:
            started = time.perf_counter()
            async with http.get(f"/api/v1/users/{uuid.uuid4()}") as response:
                assert response.status == 404
            assert time.perf_counter() - started >= 0.15
        async with grpc.aio.insecure_channel(stand.grpc_target) as channel:
            await channel.channel_ready()
            stub = users_gateway_service_pb2_grpc.UsersGatewayServiceStub(channel)
            started = time.perf_counter()
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.GetUser(rpc_get_user_pb2.GetUserRequest(id=str(uuid.uuid4())))
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            assert time.perf_counter() - started >= 0.15
        assert stand.faults.calls == {"GetUser": 2}


async def test_fail_rate_http_answers_503_and_changes_nothing() -> None:
    emails = [f"http{i}@example.com" for i in range(200)]
    async with Stand(fail_rate=0.3, seed=7) as stand:
        statuses = await create_users_http(stand, emails)
        failed = [email for email, status in zip(emails, statuses, strict=True) if status == 503]
        assert set(statuses) == {200, 503}
        assert 0.2 <= len(failed) / len(emails) <= 0.4
        assert stand.faults.injected == {"CreateUser": len(failed)}
        # a failed create left nothing behind: the user count says so, and the email is still free
        assert len(stand.bank.users) == len(emails) - len(failed)
        stored = {u.email for u in stand.bank.users.values()}
        assert stored.isdisjoint(failed)
        retried = await create_users_http(stand, failed[:5] * 10)  # injected faults are random: retry
        assert retried.count(200) == 5 and 403 in retried


async def test_fail_rate_grpc_answers_unavailable_and_changes_nothing() -> None:
    emails = [f"grpc{i}@example.com" for i in range(200)]
    async with Stand(fail_rate=0.3, seed=11) as stand:
        codes = await create_users_grpc(stand, emails)
        failures = codes.count(grpc.StatusCode.UNAVAILABLE)
        assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}
        assert 0.2 <= failures / len(emails) <= 0.4
        assert len(stand.bank.users) == len(emails) - failures == codes.count(grpc.StatusCode.OK)


async def test_faulted_operations_do_not_move_the_balance() -> None:
    async with Stand(fail_rate=0.5, seed=3) as stand:
        user = stand.bank.create_user(email="x@example.com", first_name="F", last_name="L")
        account = stand.bank.open_account(user.id, AccountType.DEBIT_CARD)
        body = {"status": "COMPLETED", "cardId": account.cards[0].id, "accountId": account.id}
        booked = 0.0
        async with aiohttp.ClientSession(base_url=stand.http_url) as http:
            for amount in range(1, 41):
                async with http.post("/api/v1/operations/make-top-up-operation", json={**body, "amount": amount}) as r:
                    assert r.status in (200, 503)
                    booked += amount if r.status == 200 else 0
        assert 0 < booked < sum(range(1, 41))
        assert account.balance == booked
        assert len(stand.bank.operations) == 40 - stand.faults.total_injected


async def test_same_seed_same_faults_other_seed_other_faults() -> None:
    async def pattern(seed: int) -> list[int]:
        async with Stand(fail_rate=0.3, seed=seed) as stand:
            return await create_users_http(stand, [f"p{i}@example.com" for i in range(100)])

    first, again, other = await pattern(42), await pattern(42), await pattern(43)
    assert first == again
    assert first != other


async def test_a_late_call_is_made_then_answered_past_the_clients_timeout() -> None:
    async with (
        Stand(late_rate=0.5, late_ms=400, seed=5) as stand,
        aiohttp.ClientSession(base_url=stand.http_url) as http,
    ):
        timeout = aiohttp.ClientTimeout(total=0.2)
        answered = unanswered = 0
        for i in range(20):
            body = {"email": f"late{i}@example.com", "lastName": "L", "firstName": "F", "middleName": "M",
                    "phoneNumber": "+70000000000"}  # fmt: skip
            try:
                async with http.post("/api/v1/users", json=body, timeout=timeout) as answer:
                    assert answer.status == 200
                    answered += 1
            except TimeoutError:
                unanswered += 1
        assert unanswered == stand.faults.late["CreateUser"] and 0 < unanswered < 20
        assert len(stand.bank.users) == 20  # every call was made, answered or not
        assert answered + unanswered == 20


def test_faults_refuse_nonsense() -> None:
    for kwargs in (
        {"latency_ms": -1}, {"jitter_ms": -0.5}, {"fail_rate": 1.01}, {"fail_rate": -0.1}, {"late_rate": 1.2},
        {"late_ms": -1},
    ):  # fmt: skip
        with pytest.raises(ValueError):
            Faults(**kwargs)
    with pytest.raises(ValueError):
        Stand(fail_rate=2)


async def test_missing_receipt_delay_is_applied() -> None:
    async with Stand(missing_receipt_delay_s=0.3) as stand:
        user = stand.bank.create_user(email="r@example.com")
        account = stand.bank.open_account(user.id, AccountType.DEBIT_CARD)
        operation = stand.bank.make_operation(
            OperationType.FEE,
            status=OperationStatus.FAILED,
            amount=1.0,
            card_id=account.cards[0].id,
            account_id=account.id,
        )
        async with aiohttp.ClientSession(base_url=stand.http_url) as http:
            started = time.perf_counter()
            async with http.get(f"/api/v1/operations/operation-receipt/{operation.id}") as response:
                assert response.status == 500
            assert time.perf_counter() - started >= 0.3


async def test_call_and_run_admit_count_and_fail_alike() -> None:
    """``Faults.run`` (the servers' cheaper path) and the ``Faults.call`` context manager are one call each."""

    async def handler(request: str) -> str:
        return request.upper()

    via_call, via_run = Faults(fail_rate=0.5, seed=4, max_in_flight=2), Faults(fail_rate=0.5, seed=4, max_in_flight=2)
    outcomes: dict[str, list[str]] = {"call": [], "run": []}
    for _ in range(40):
        try:
            async with via_call.call("GetUser"):
                outcomes["call"].append(await handler("ok"))
        except InjectedFaultError:
            outcomes["call"].append("fault")
        try:
            outcomes["run"].append(await via_run.run("GetUser", handler, "ok"))
        except InjectedFaultError:
            outcomes["run"].append("fault")
    assert outcomes["call"] == outcomes["run"] and {"OK", "fault"} <= set(outcomes["run"])
    for faults in (via_call, via_run):
        assert faults.calls == {"GetUser": 40} and faults.injected["GetUser"] == outcomes["run"].count("fault")
        assert faults.in_flight == 0 and faults.queued == 0 and faults.peak_in_flight == 1

    async def slow(request: str) -> str:
        await asyncio.sleep(0.01)
        return request

    faults = Faults(max_in_flight=2)
    async with asyncio.timeout(5):  # a worker not given back would leave a call queued for ever
        assert await asyncio.gather(*(faults.run("GetUser", slow, "ok") for _ in range(3))) == ["ok"] * 3
    assert faults.peak_in_flight == 2 and faults.peak_queued >= 1 and faults.in_flight == faults.queued == 0
