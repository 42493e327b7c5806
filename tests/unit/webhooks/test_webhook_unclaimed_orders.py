"""A PAYMENT_STATUS_CHANGED about an order of ours still waiting for its approval: Toss approved
it without us (confirmed at Toss directly, or our confirm forgotten by a database restore), so
our payment holds no paymentKey yet. The delivery is matched by its orderId on the same Toss
account, Toss is asked about that order, and its answer adopted only when Toss's payment of the
order carries the delivery's paymentKey."""

from __future__ import annotations

from datetime import timedelta

from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, CreatePayment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.expire_unpaid import expire_unpaid
from sunap.application.pg_accounts import PgAccount
from sunap.application.ports.webhook_inbox import DeliveryStatus, WebhookDelivery
from sunap.application.webhook_intake import receive_toss_webhook
from sunap.application.webhook_processing import process_due_webhooks
from sunap.domain.payment import Payment, PaymentMethod, PaymentStatus
from tests.fakes.gateway import LOOKUP, FakeGateway
from tests.fakes.uow import InMemoryStore
from tests.unit.webhooks.inbox import InMemoryWebhookInbox
from tests.unit.webhooks.scenes import TENANT, status_changed

S = PaymentStatus
D = DeliveryStatus
DEFAULT = PgAccount("default", "test_sk_unit")


async def ready(deps: Deps, order_id: str, tenant: str = TENANT) -> Payment:
    return await create_payment(
        CreatePayment(tenant, "default", "책", 12000, order_id=order_id), deps
    )


async def confirmed_at_toss(
    toss: FakeGateway, payment: Payment, method: PaymentMethod = PaymentMethod.CARD
) -> str:
    key = toss.pay_in_window(payment.order_id, payment.amount, method)
    await toss.confirm(
        payment_key=key,
        order_id=payment.order_id,
        amount=payment.amount,
        idempotency_key=f"k-{payment.order_id}",  # a key Toss saw before replays its answer
    )
    return key


async def deliver(
    body: bytes, inbox: InMemoryWebhookInbox, deps: Deps, account: PgAccount = DEFAULT
) -> WebhookDelivery:
    receipt = await receive_toss_webhook(body, {}, inbox, deps, account)
    await process_due_webhooks(inbox, deps)
    found = await inbox.get(receipt.delivery_id or "")
    assert found is not None
    return found


async def test_an_approval_at_toss_of_a_ready_payment_is_adopted_from_toss(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    other_tenant = await ready(deps, "order-b-01", tenant="tenant_b")  # shares the account
    payment = await ready(deps, "order-a-01")
    key = await confirmed_at_toss(toss, payment)

    delivery = await deliver(status_changed(key, "DONE", orderId=payment.order_id), inbox, deps)

    assert delivery.status is D.APPLIED and delivery.payment_id == payment.id
    after = store.payment(payment.id)
    assert after.status is S.DONE and after.payment_key == key and after.approved_at is not None
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created", "payment.completed"]
    trail = store.audit_of(payment.id)
    assert [(a.type, a.status) for a in trail[-2:]] == [
        ("pg.lookup", "ok"),
        ("webhook.PAYMENT_STATUS_CHANGED", "applied"),
    ]
    assert [c.order_id for c in toss.calls_of(LOOKUP)] == [payment.order_id]  # asked by order
    assert store.payment(other_tenant.id).status is S.READY


async def test_a_virtual_account_issued_at_toss_is_adopted_waiting_for_its_deposit(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps, "order-a-02")
    key = await confirmed_at_toss(toss, payment, PaymentMethod.VIRTUAL_ACCOUNT)

    delivery = await deliver(
        status_changed(key, "WAITING_FOR_DEPOSIT", orderId=payment.order_id), inbox, deps
    )

    assert delivery.status is D.APPLIED
    after = store.payment(payment.id)
    assert after.status is S.WAITING_FOR_DEPOSIT and after.deposit_secret_digest is not None


async def test_a_delivery_whose_key_is_not_tosss_payment_of_the_order_changes_nothing(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps, "order-a-03")
    await confirmed_at_toss(toss, payment)

    forged = await deliver(
        status_changed("tpk_forged", "DONE", orderId=payment.order_id), inbox, deps
    )

    assert forged.status is D.REJECTED
    assert store.payment(payment.id).status is S.READY
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created"]


async def test_an_order_toss_does_not_know_is_unmatched_and_changes_nothing(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps, "order-a-04")

    delivery = await deliver(
        status_changed("tpk_made_up", "DONE", orderId=payment.order_id), inbox, deps
    )

    assert delivery.status is D.UNMATCHED
    assert store.payment(payment.id).status is S.READY


async def test_an_order_of_ours_on_another_account_is_not_matched_and_toss_not_asked(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps, "order-a-05")  # on the default account
    key = await confirmed_at_toss(toss, payment)

    delivery = await deliver(
        status_changed(key, "DONE", orderId=payment.order_id),
        inbox,
        deps,
        PgAccount("acct_shop_b", "test_sk_shop_b"),
    )

    assert delivery.status is D.UNMATCHED
    assert toss.calls_of(LOOKUP) == []
    assert store.payment(payment.id).status is S.READY


async def expired(deps: Deps, order_id: str) -> Payment:
    """Expired at its TTL: Toss did not know the order then (the customer came later)."""
    payment = await ready(deps, order_id)
    assert await expire_unpaid(deps, timedelta(0)) == 1
    return payment


async def canceled_unpaid(deps: Deps, order_id: str) -> Payment:
    """Canceled by the merchant while READY: no call to Toss, nothing paid."""
    payment = await ready(deps, order_id)
    return await cancel_payment(CancelPayment(TENANT, payment.id, "고객 변심"), deps)


async def test_an_expired_order_tosss_look_up_says_was_never_paid_stays_expired(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """Matched by its orderId whatever its status, so Toss is asked; Toss knows no payment of
    the order (a made-up notice), so nothing changes."""
    payment = await expired(deps, "order-a-06")

    delivery = await deliver(
        status_changed("tpk_late", "DONE", orderId=payment.order_id), inbox, deps
    )

    assert delivery.status is D.UNMATCHED and delivery.last_error == (
        "the PG does not know this order"
    )
    assert store.payment(payment.id).status is S.EXPIRED
    assert not store.payment(payment.id).needs_review


async def test_an_approval_at_toss_after_we_expired_or_canceled_it_is_adopted_for_review(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """Toss's record of the money wins: the customer paid, so the payment is paid, the
    merchant hears `payment.completed`, and a person is asked to look (ship or refund)."""
    was_expired = await expired(deps, "order-a-07")
    was_canceled = await canceled_unpaid(deps, "order-a-08")
    for payment, closing_event in (
        (was_expired, "payment.expired"),
        (was_canceled, "payment.canceled"),
    ):
        key = await confirmed_at_toss(toss, payment)

        delivery = await deliver(status_changed(key, "DONE", orderId=payment.order_id), inbox, deps)

        assert delivery.status is D.APPLIED and delivery.payment_id == payment.id
        after = store.payment(payment.id)
        assert after.status is S.DONE and after.payment_key == key
        assert after.balance_amount == after.amount == 12000
        assert after.needs_review and after.review_reason is not None
        assert "approved at Toss after it was" in after.review_reason
        assert "refund" in after.review_reason
        assert [e.type for e in store.events_of(payment.id)] == [
            "payment.created",
            closing_event,
            "payment.completed",
        ]
        trail = store.audit_of(payment.id)
        assert [(a.type, a.status) for a in trail[-2:]] == [
            ("pg.lookup", "ok"),
            ("webhook.PAYMENT_STATUS_CHANGED", "applied"),
        ]

    # Once paid, the merchant refunds it through the normal cancel.
    refunded = await cancel_payment(CancelPayment(TENANT, was_expired.id, "환불"), deps)
    assert refunded.status is S.CANCELED and refunded.balance_amount == 0
    assert toss.payment(refunded.payment_key or "").status is S.CANCELED


async def test_an_approval_at_toss_of_another_amount_is_flagged_never_adopted(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await expired(deps, "order-a-09")
    key = toss.pay_in_window(payment.order_id, 99000)
    await toss.confirm(
        payment_key=key, order_id=payment.order_id, amount=99000, idempotency_key="k"
    )

    delivery = await deliver(status_changed(key, "DONE", orderId=payment.order_id), inbox, deps)

    after = store.payment(payment.id)
    assert delivery.status is D.APPLIED
    assert after.status is S.EXPIRED and after.needs_review and after.payment_key is None
    assert "99000" in (after.review_reason or "")
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created", "payment.expired"]


async def test_a_window_opened_for_another_amount_that_expired_flags_nothing(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """The customer opened the window for 100 (the page's script is theirs to edit), left it,
    and Toss expired it and said so: Toss's record of the order is of another amount, but
    nothing was approved on either side. It used to flag the READY payment for a person (the
    review queue, its alert), and the flag stayed on the honest payment that followed."""
    payment = await ready(deps, "order-a-10")
    abandoned = toss.pay_in_window(payment.order_id, 100)
    toss.expire(abandoned)

    delivery = await deliver(
        status_changed(abandoned, "EXPIRED", orderId=payment.order_id), inbox, deps
    )

    assert delivery.status is D.APPLIED and delivery.payment_id == payment.id
    after = store.payment(payment.id)
    assert after.status is S.READY and after.payment_key is None
    assert not after.needs_review and after.review_reason is None
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created"]

    key = await confirmed_at_toss(toss, payment)  # then paid, for its own amount
    await deliver(status_changed(key, "DONE", orderId=payment.order_id), inbox, deps)
    paid = store.payment(payment.id)
    assert paid.status is S.DONE and paid.payment_key == key and not paid.needs_review
