"""TossGateway against the sandbox over real HTTP: the happy paths and Toss's refusals."""

from __future__ import annotations

import pytest

from sunap.adapters.toss import RetryPolicy, TossGateway
from sunap.application.ports.gateway import (
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayMisconfigured,
    GatewayNotFound,
)
from sunap.domain.payment import PaymentMethod, PaymentStatus
from tests.integration.toss.conftest import GatewayOpener
from tests.integration.toss.sandbox_control import SandboxControl, new_order_id


async def paid(gateway: TossGateway, sandbox: SandboxControl, amount: int) -> tuple[str, str]:
    """A card payment confirmed at the sandbox: (orderId, paymentKey)."""
    order_id = new_order_id()
    payment_key = await sandbox.pay_in_window(order_id, amount)
    await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=amount, idempotency_key=f"c:{order_id}"
    )
    return order_id, payment_key


async def test_a_card_payment_confirms_to_done(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id = new_order_id()
    payment_key = await sandbox.pay_in_window(order_id, 15000)
    payment = await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=15000, idempotency_key=f"c:{order_id}"
    )
    assert payment.status is PaymentStatus.DONE
    assert payment.method is PaymentMethod.CARD
    assert (payment.payment_key, payment.order_id) == (payment_key, order_id)
    assert (payment.total_amount, payment.balance_amount) == (15000, 15000)
    assert payment.approved_at is not None
    assert payment.card is not None and payment.card.number is not None
    assert "****" in payment.card.number
    assert payment.exchange is not None and payment.exchange.status_code == 200


async def test_a_virtual_account_confirm_waits_for_deposit_with_its_secret(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id = new_order_id()
    payment_key = await sandbox.pay_in_window(order_id, 30000, method="VIRTUAL_ACCOUNT")
    payment = await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=30000, idempotency_key=f"c:{order_id}"
    )
    assert payment.status is PaymentStatus.WAITING_FOR_DEPOSIT
    assert payment.method is PaymentMethod.VIRTUAL_ACCOUNT
    assert payment.deposit_secret
    assert payment.virtual_account is not None and payment.virtual_account.account_number
    assert payment.exchange is not None and payment.exchange.response_data is not None
    assert payment.deposit_secret not in str(payment.exchange.response_data)


async def test_look_ups_by_order_id_and_by_payment_key_agree(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id, payment_key = await paid(gateway, sandbox, 5000)
    by_order = await gateway.lookup_by_order_id(order_id)
    by_key = await gateway.lookup_by_payment_key(payment_key)
    assert by_order == by_key
    assert by_order.status is PaymentStatus.DONE


async def test_looking_up_an_unknown_order_is_not_found(gateway: TossGateway) -> None:
    with pytest.raises(GatewayNotFound) as caught:
        await gateway.lookup_by_order_id(new_order_id())
    assert caught.value.code == "NOT_FOUND_PAYMENT"


async def test_partial_cancels_lower_the_balance_until_the_last_one_cancels_it(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id, payment_key = await paid(gateway, sandbox, 10000)
    partial = await gateway.cancel(
        payment_key=payment_key, reason="부분 취소", amount=3000, idempotency_key=f"x1:{order_id}"
    )
    assert partial.status is PaymentStatus.PARTIAL_CANCELED
    assert partial.balance_amount == 7000
    assert [c.amount for c in partial.cancels] == [3000]
    assert partial.last_transaction_key == partial.cancels[0].transaction_key

    rest = await gateway.cancel(
        payment_key=payment_key, reason="나머지 취소", amount=None, idempotency_key=f"x2:{order_id}"
    )
    assert rest.status is PaymentStatus.CANCELED
    assert rest.balance_amount == 0
    assert [c.amount for c in rest.cancels] == [3000, 7000]


async def test_cancelling_more_than_the_balance_is_declined(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id, payment_key = await paid(gateway, sandbox, 10000)
    with pytest.raises(GatewayDeclined) as caught:
        await gateway.cancel(
            payment_key=payment_key,
            reason="too much",
            amount=20000,
            idempotency_key=f"x:{order_id}",
        )
    assert caught.value.code == "NOT_CANCELABLE_AMOUNT"


async def test_cancelling_a_cancelled_payment_again_says_already_processed(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id, payment_key = await paid(gateway, sandbox, 10000)
    await gateway.cancel(
        payment_key=payment_key, reason="all", amount=None, idempotency_key=f"x1:{order_id}"
    )
    with pytest.raises(GatewayAlreadyProcessed):
        await gateway.cancel(
            payment_key=payment_key, reason="again", amount=None, idempotency_key=f"x2:{order_id}"
        )


async def test_a_card_the_issuer_refuses_is_declined_with_tosss_code(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id = new_order_id()
    payment_key = await sandbox.pay_in_window(order_id, 15000, fail_with="REJECT_CARD_PAYMENT")
    with pytest.raises(GatewayDeclined) as caught:
        await gateway.confirm(
            payment_key=payment_key,
            order_id=order_id,
            amount=15000,
            idempotency_key=f"c:{order_id}",
        )
    assert caught.value.code == "REJECT_CARD_PAYMENT"
    assert caught.value.message
    assert caught.value.exchange is not None and caught.value.exchange.status_code == 403


async def test_a_second_confirm_with_a_new_key_is_already_processed(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id = new_order_id()
    payment_key = await sandbox.pay_in_window(order_id, 15000)
    await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=15000, idempotency_key=f"c1:{order_id}"
    )
    with pytest.raises(GatewayAlreadyProcessed):
        await gateway.confirm(
            payment_key=payment_key,
            order_id=order_id,
            amount=15000,
            idempotency_key=f"c2:{order_id}",
        )


async def test_a_second_confirm_with_the_same_key_replays_the_first_result(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    order_id = new_order_id()
    payment_key = await sandbox.pay_in_window(order_id, 15000)
    first = await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=15000, idempotency_key=f"c:{order_id}"
    )
    second = await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=15000, idempotency_key=f"c:{order_id}"
    )
    assert second == first


async def test_a_key_toss_does_not_know_is_misconfigured_and_never_retried(
    open_gateway: GatewayOpener, sandbox: SandboxControl
) -> None:
    gateway = open_gateway(secret_key="live_sk_not_a_test_key", retry_policy=RetryPolicy())
    with pytest.raises(GatewayMisconfigured) as caught:
        await gateway.lookup_by_order_id(new_order_id())
    assert caught.value.code == "UNAUTHORIZED_KEY"
    assert len(await sandbox.calls()) == 1


async def test_a_billing_key_is_issued_charged_and_deleted(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    customer_key = f"cust-{new_order_id()}"
    auth_key = await sandbox.register_card(customer_key)
    billing = await gateway.issue_billing_key(
        auth_key=auth_key, customer_key=customer_key, idempotency_key=f"i:{customer_key}"
    )
    assert billing.customer_key == customer_key
    assert billing.billing_key
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
    assert payment.total_amount == 9900
    assert payment.exchange is not None
    assert billing.billing_key not in str(payment.exchange)

    with pytest.raises(GatewayDeclined) as caught:
        await gateway.charge_billing_key(
            billing_key=billing.billing_key,
            customer_key="cust-someone-else",
            order_id=new_order_id(),
            order_name="정기결제",
            amount=9900,
            idempotency_key=f"b2:{order_id}",
        )
    assert caught.value.code == "NOT_MATCHES_CUSTOMER_KEY"

    await gateway.delete_billing_key(billing.billing_key)
    with pytest.raises(GatewayNotFound):
        await gateway.delete_billing_key(billing.billing_key)


async def test_charging_the_same_order_twice_says_already_processed(
    gateway: TossGateway, sandbox: SandboxControl
) -> None:
    customer_key = f"cust-{new_order_id()}"
    auth_key = await sandbox.register_card(customer_key)
    billing = await gateway.issue_billing_key(
        auth_key=auth_key, customer_key=customer_key, idempotency_key=f"i:{customer_key}"
    )
    order_id = new_order_id()
    for attempt in ("first", "second"):
        call = gateway.charge_billing_key(
            billing_key=billing.billing_key,
            customer_key=customer_key,
            order_id=order_id,
            order_name="정기결제",
            amount=9900,
            idempotency_key=f"{attempt}:{order_id}",
        )
        if attempt == "first":
            await call
        else:
            with pytest.raises(GatewayAlreadyProcessed):
                await call
