"""The stand under concurrent load: hundreds of calls in flight on both transports without errors,
and no lost balance updates when many operations hit one account at once."""

from __future__ import annotations

import asyncio

import aiohttp
import grpc

from contracts.services.gateway.operations import operations_gateway_service_pb2_grpc, rpc_make_purchase_operation_pb2
from contracts.services.gateway.users import rpc_create_user_pb2, users_gateway_service_pb2_grpc
from contracts.services.operations import operation_pb2
from seeding.gateway import AccountType
from seeding.stand import Stand

PER_TRANSPORT = 150


async def test_300_calls_in_flight_on_both_transports() -> None:
    # The latency keeps every call in flight until the others have arrived.
    async with Stand(latency_ms=2000) as stand:  # 2 s: all 300 are sent even on a loaded machine
        connector = aiohttp.TCPConnector(limit=0)
        async with (
            aiohttp.ClientSession(base_url=stand.http_url, connector=connector) as http,
            grpc.aio.insecure_channel(stand.grpc_target) as channel,
        ):
            stub = users_gateway_service_pb2_grpc.UsersGatewayServiceStub(channel)

            async def over_http(i: int) -> int:
                body = {
                    "email": f"h{i}@example.com",
                    "lastName": "L",
                    "firstName": "F",
                    "middleName": "",
                    "phoneNumber": "",
                }
                async with http.post("/api/v1/users", json=body) as response:
                    return response.status

            async def over_grpc(i: int) -> str:
                response = await stub.CreateUser(
                    rpc_create_user_pb2.CreateUserRequest(email=f"g{i}@example.com"), timeout=20
                )
                return response.user.id

            results = await asyncio.gather(
                *(over_http(i) for i in range(PER_TRANSPORT)), *(over_grpc(i) for i in range(PER_TRANSPORT))
            )
        assert results[:PER_TRANSPORT] == [200] * PER_TRANSPORT
        assert len(set(results[PER_TRANSPORT:])) == PER_TRANSPORT
        assert len(stand.bank.users) == 2 * PER_TRANSPORT
        assert stand.faults.peak_in_flight >= 0.9 * 2 * PER_TRANSPORT  # they really overlapped
        assert stand.faults.in_flight == 0


async def test_concurrent_operations_on_one_account_lose_no_update() -> None:
    async with Stand(latency_ms=20, jitter_ms=30, seed=1) as stand:
        user = stand.bank.create_user(email="c@example.com", first_name="F", last_name="L")
        account = stand.bank.open_account(user.id, AccountType.CREDIT_CARD)
        card_id = account.cards[0].id
        amounts = [0.25 * (i + 1) for i in range(50)]  # exact in float32 and in sums
        async with (
            aiohttp.ClientSession(base_url=stand.http_url) as http,
            grpc.aio.insecure_channel(stand.grpc_target) as channel,
        ):
            stub = operations_gateway_service_pb2_grpc.OperationsGatewayServiceStub(channel)

            async def top_up_over_http(amount: float) -> None:
                body = {"status": "COMPLETED", "amount": amount, "cardId": card_id, "accountId": account.id}
                async with http.post("/api/v1/operations/make-top-up-operation", json=body) as response:
                    assert response.status == 200

            async def purchase_over_grpc(amount: float) -> None:
                request = rpc_make_purchase_operation_pb2.MakePurchaseOperationRequest(
                    status=operation_pb2.OPERATION_STATUS_IN_PROGRESS,
                    amount=amount,
                    card_id=card_id,
                    account_id=account.id,
                    category="shop",
                )
                await stub.MakePurchaseOperation(request, timeout=20)

            await asyncio.gather(
                *(top_up_over_http(a) for a in amounts[::2]), *(purchase_over_grpc(a) for a in amounts[1::2])
            )
        assert stand.faults.peak_in_flight > 10
        assert len(stand.bank.operations) == 50
        assert account.balance == 25000.0 + sum(amounts[::2]) - sum(amounts[1::2])
