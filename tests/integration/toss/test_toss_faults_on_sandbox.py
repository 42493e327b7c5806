"""TossGateway against a misbehaving sandbox: forced codes, lost answers, slowness, retries
with one key, and the breaker."""

from __future__ import annotations

import time

import pytest

from sunap.adapters.toss import (
    CircuitBreaker,
    RetryPolicy,
    TossGateway,
    TossTimeouts,
    build_toss_gateway,
)
from sunap.application.ports.gateway import (
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayError,
    GatewayMisconfigured,
    GatewayPayment,
    GatewayUnknown,
)
from sunap.domain.payment import PaymentStatus
from tests.integration.toss.conftest import FAST_TIMEOUTS, GatewayOpener
from tests.integration.toss.sandbox_control import SandboxControl, new_order_id

CONFIRM = "/v1/payments/confirm"


async def _confirm(gateway: TossGateway, order_id: str, payment_key: str) -> GatewayPayment:
    """Our confirm of the ₩15,000 window payment, with its one idempotency key."""
    return await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=15000, idempotency_key=f"c:{order_id}"
    )


async def _paid_window(sandbox: SandboxControl, amount: int = 15000) -> tuple[str, str]:
    order_id = new_order_id()
    return order_id, await sandbox.pay_in_window(order_id, amount)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (403, "REJECT_CARD_COMPANY", GatewayDeclined),
        (400, "INVALID_CARD_EXPIRATION", GatewayDeclined),
        (403, "FDS_ERROR", GatewayDeclined),
        (400, "ALREADY_PROCESSED_PAYMENT", GatewayAlreadyProcessed),
        (401, "UNAUTHORIZED_KEY", GatewayMisconfigured),
        (400, "PROVIDER_ERROR", GatewayUnknown),
        (400, "CARD_PROCESSING_ERROR", GatewayUnknown),
        (500, "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING", GatewayUnknown),
        (500, "UNKNOWN_PAYMENT_ERROR", GatewayUnknown),
        (409, "IDEMPOTENT_REQUEST_PROCESSING", GatewayUnknown),
    ],
)
async def test_a_code_forced_on_confirm_is_classified_by_the_table(
    open_gateway: GatewayOpener,
    sandbox: SandboxControl,
    status: int,
    code: str,
    expected: type[GatewayError],
) -> None:
    gateway = open_gateway(retry_policy=RetryPolicy.never())
    order_id, payment_key = await _paid_window(sandbox)
    await sandbox.add_fault(method="POST", path=CONFIRM, status=status, code=code)
    with pytest.raises(GatewayError) as caught:
        await _confirm(gateway, order_id, payment_key)
    assert type(caught.value) is expected
    assert caught.value.code == code
    assert caught.value.exchange is not None and caught.value.exchange.status_code == status


async def test_an_approval_whose_answer_was_lost_is_unknown_and_a_look_up_shows_it_done(
    open_gateway: GatewayOpener, sandbox: SandboxControl
) -> None:
    gateway = open_gateway(retry_policy=RetryPolicy.never())
    order_id, payment_key = await _paid_window(sandbox)
    await sandbox.add_fault(method="POST", path=CONFIRM, dropConnection=True, afterApply=True)
    with pytest.raises(GatewayUnknown) as caught:
        await _confirm(gateway, order_id, payment_key)
    assert caught.value.code == "CONNECTION_DROPPED"
    assert caught.value.timed_out is False
    assert (await gateway.lookup_by_order_id(order_id)).status is PaymentStatus.DONE


async def test_a_retry_with_the_same_key_recovers_a_lost_answer(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id, payment_key = await _paid_window(sandbox)
    await sandbox.add_fault(method="POST", path=CONFIRM, dropConnection=True, afterApply=True)
    payment = await _confirm(gateway, order_id, payment_key)
    assert payment.status is PaymentStatus.DONE
    calls = await sandbox.calls(CONFIRM)
    assert [c["idempotencyKey"] for c in calls] == [f"c:{order_id}"] * 2
    assert [c["status"] for c in calls] == [None, 200]


async def test_retries_of_one_confirm_reach_toss_with_one_identical_key(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id, payment_key = await _paid_window(sandbox)
    await sandbox.add_fault(method="POST", path=CONFIRM, status=500, times=1)
    await sandbox.add_fault(method="POST", path=CONFIRM, status=409, times=1)
    payment = await _confirm(gateway, order_id, payment_key)
    assert payment.status is PaymentStatus.DONE
    calls = await sandbox.calls(CONFIRM)
    assert [c["status"] for c in calls] == [500, 409, 200]
    assert {c["idempotencyKey"] for c in calls} == {f"c:{order_id}"}


async def test_retries_stop_at_max_attempts_and_the_answer_is_unknown(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id, payment_key = await _paid_window(sandbox)
    await sandbox.add_fault(method="POST", path=CONFIRM, status=503, times=5)
    with pytest.raises(GatewayUnknown):
        await _confirm(gateway, order_id, payment_key)
    assert len(await sandbox.calls(CONFIRM)) == 3


async def test_a_refusal_is_sent_once(gateway: TossGateway, sandbox: SandboxControl) -> None:
    order_id, payment_key = await _paid_window(sandbox)
    await sandbox.add_fault(method="POST", path=CONFIRM, status=403, code="REJECT_CARD_PAYMENT")
    with pytest.raises(GatewayDeclined):
        await _confirm(gateway, order_id, payment_key)
    assert len(await sandbox.calls(CONFIRM)) == 1


async def test_toss_answering_later_than_the_read_timeout_is_an_unknown_timeout_within_budget(
    open_gateway: GatewayOpener, sandbox: SandboxControl
) -> None:
    gateway = open_gateway(
        retry_policy=RetryPolicy.never(),
        timeouts=TossTimeouts(connect=1.0, read=0.3, write=1.0, pool=1.0),
    )
    order_id, payment_key = await _paid_window(sandbox)
    await sandbox.add_fault(method="POST", path=CONFIRM, delayMs=1500)
    started = time.monotonic()
    with pytest.raises(GatewayUnknown) as caught:
        await _confirm(gateway, order_id, payment_key)
    waited = time.monotonic() - started
    assert caught.value.timed_out is True
    assert caught.value.code == "TIMEOUT"
    assert waited < 1.2  # gave up on our 0.3 s read timeout, not on Toss's 1.5 s answer


async def test_a_slow_billing_charge_gets_its_own_longer_read_timeout(
    open_gateway: GatewayOpener, sandbox: SandboxControl
) -> None:
    gateway = open_gateway(
        retry_policy=RetryPolicy.never(),
        timeouts=TossTimeouts(connect=1.0, read=0.2, write=1.0, pool=1.0, billing_read=5.0),
    )
    customer_key = f"cust-{new_order_id()}"
    auth_key = await sandbox.register_card(customer_key)
    billing = await gateway.issue_billing_key(
        auth_key=auth_key, customer_key=customer_key, idempotency_key=f"i:{customer_key}"
    )
    await sandbox.add_fault(method="POST", path="/v1/billing/*", delayMs=500)
    order_id = new_order_id()
    payment = await gateway.charge_billing_key(
        billing_key=billing.billing_key,
        customer_key=customer_key,
        order_id=order_id,
        order_name="정기결제",
        amount=9900,
        idempotency_key=f"b:{order_id}",
    )
    assert payment.status is PaymentStatus.DONE


async def test_the_breaker_opens_on_a_sandbox_that_drops_connections_and_stops_calling_it(
    open_gateway: GatewayOpener, sandbox: SandboxControl
) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, cool_off=10.0, clock=lambda: now[0])
    gateway = open_gateway(retry_policy=RetryPolicy.never(), breaker=breaker)
    await sandbox.add_fault(path="/v1/payments/", dropConnection=True, times=10)
    for _ in range(3):
        with pytest.raises(GatewayUnknown) as caught:
            await gateway.lookup_by_order_id(new_order_id())
        assert caught.value.code == "CONNECTION_DROPPED"
    assert breaker.is_open

    order_id, payment_key = await _paid_window(sandbox)
    with pytest.raises(GatewayUnknown) as caught:
        await _confirm(gateway, order_id, payment_key)
    assert caught.value.code == "CIRCUIT_OPEN"
    assert len(await sandbox.calls()) == 3  # the refused confirm never reached Toss

    await sandbox.clear_faults()
    now[0] += 10.0
    payment = await _confirm(gateway, order_id, payment_key)
    assert payment.status is PaymentStatus.DONE
    assert not breaker.is_open


async def test_an_unreachable_toss_is_unknown_and_not_a_timeout() -> None:
    # Nothing listens on port 9 of the loopback: the connection is refused before sending.
    gateway, client = build_toss_gateway(
        "test_sk_x",
        "http://127.0.0.1:9",
        retry_policy=RetryPolicy(base_delay=0.01, max_delay=0.02),
        timeouts=FAST_TIMEOUTS,
    )
    async with client:
        with pytest.raises(GatewayUnknown) as caught:
            await gateway.lookup_by_order_id(new_order_id())
    assert caught.value.code == "CONNECTION_FAILED"
    assert caught.value.timed_out is False
