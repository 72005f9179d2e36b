"""A run's gateway calls reach the service's metrics through its client's call log, attempt by attempt.

Real clients of both transports against the embedded stand over loopback: an answer, a transient
failure (the stand's injected fault) and a permanent one (an email the gateway refuses) each land in their own
counter, and the call log keeps its own record for the report as it always did.
"""

from __future__ import annotations

import pytest

from seeding._exceptions import GatewayError, TransientGatewayError
from seeding.contract import AccountType, open_account_rpc
from seeding.gateway import Transport, connect
from seeding.service import Metrics
from seeding.service._metrics import CountingCallLog
from seeding.stand import Stand


def _value(text: str, sample: str) -> float:
    """The value of one exported sample (``name{labels}``); 0 when the registry has not got it."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_each_attempt_is_counted_by_rpc_and_outcome(transport: Transport) -> None:
    metrics = Metrics(dict, dict)
    opened = open_account_rpc(AccountType.DEPOSIT)
    async with Stand(seed=7) as stand:
        client = connect(transport, stand.target(transport), timeout=5.0)
        client.call_log = log = CountingCallLog(metrics, "svc")
        async with client:
            user = await client.lean.create_user(email="metrics@example.com")
            stand.faults.fail_rate = 1.0
            with pytest.raises(TransientGatewayError) as transient:
                await client.lean.open_account(user.id, AccountType.DEPOSIT)
            stand.faults.fail_rate = 0.0
            with pytest.raises(GatewayError) as refused:
                await client.lean.create_user(email="not an email")
            assert not isinstance(refused.value, TransientGatewayError)
            await client.lean.open_account(user.id, AccountType.DEPOSIT)

    text = metrics.render().decode()
    calls = "seeding_service_calls_total"
    assert _value(text, f'{calls}{{rpc="CreateUser",status="OK"}}') == 1.0
    assert _value(text, f'{calls}{{rpc="{opened}",status="{transient.value.status}"}}') == 1.0
    assert _value(text, f'{calls}{{rpc="CreateUser",status="{refused.value.status}"}}') == 1.0
    assert _value(text, f'{calls}{{rpc="{opened}",status="OK"}}') == 1.0
    assert _value(text, f'seeding_service_retries_total{{rpc="{opened}"}}') == 1.0  # the transient one only
    assert _value(text, 'seeding_service_retries_total{rpc="CreateUser"}') == 0.0
    assert _value(text, 'seeding_service_entities_done_total{scenario="svc"}') == 2.0  # the answers: a user, an account
    # The same attempts in the call log the report reads.
    assert log.rpcs["CreateUser"].calls == 2
    assert log.rpcs[opened].calls == 2
    assert log.rpcs[opened].retried == 1
    assert log.rpcs[opened].statuses["OK"] == 1
