"""The webhook processor: it believes the PG, not the body, and never moves a payment backwards."""

from __future__ import annotations

import json
import logging

import pytest

from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import PgTimeout, PgUnavailable
from sunap.application.pg_accounts import PgAccount
from sunap.application.ports.gateway import GatewayUnknown
from sunap.application.ports.webhook_inbox import DeliveryStatus, WebhookDelivery
from sunap.application.reconcile import reconcile_due
from sunap.application.webhook_intake import WebhookRejected, receive_toss_webhook
from sunap.application.webhook_lookups import PgLookups
from sunap.application.webhook_processing import MAX_ATTEMPTS, process_due_webhooks
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import CONFIRM, FakeGateway
from tests.fakes.uow import InMemoryStore
from tests.unit.webhooks.inbox import InMemoryWebhookInbox
from tests.unit.webhooks.scenes import (
    confirmed,
    deposit_callback,
    status_changed,
    waiting_for_deposit,
)

S = PaymentStatus
D = DeliveryStatus

ACCOUNT = PgAccount("default", "test_sk_unit")


async def deliver(body: bytes, inbox: InMemoryWebhookInbox, deps: Deps) -> WebhookDelivery:
    receipt = await receive_toss_webhook(body, {}, inbox, deps, ACCOUNT)
    await process_due_webhooks(inbox, deps)
    assert receipt.delivery_id is not None
    found = await inbox.get(receipt.delivery_id)
    assert found is not None
    return found


def event_types(store: InMemoryStore, payment: Payment) -> list[str]:
    return [e.type for e in store.events_of(payment.id)]


async def test_a_forged_done_changes_nothing_because_the_pg_says_otherwise(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await waiting_for_deposit(deps, toss)
    assert payment.payment_key is not None
    forged = status_changed(payment.payment_key, "DONE", totalAmount=1, balanceAmount=1)
    delivery = await deliver(forged, inbox, deps)
    after = store.payment(payment.id)
    assert after.status is S.WAITING_FOR_DEPOSIT and after.amount == 15000
    assert delivery.status is D.APPLIED
    assert store.audit_of(payment.id)[-1].status == "unchanged"


async def test_a_deposit_callback_with_the_right_secret_completes_the_payment_once(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await waiting_for_deposit(deps, toss)
    assert payment.payment_key is not None
    toss.deposit(payment.payment_key)
    secret = toss.deposit_secret(payment.payment_key)
    assert secret is not None
    delivery = await deliver(deposit_callback(payment.order_id, secret), inbox, deps)
    assert delivery.status is D.APPLIED and delivery.payment_id == payment.id
    # The same change again (Toss retries, and PAYMENT_STATUS_CHANGED reports it too).
    await receive_toss_webhook(deposit_callback(payment.order_id, secret), {}, inbox, deps, ACCOUNT)
    await deliver(status_changed(payment.payment_key, "DONE", lastTransactionKey="t"), inbox, deps)
    assert store.payment(payment.id).status is S.DONE
    assert event_types(store, payment).count("payment.completed") == 1
    trail = store.audit_of(payment.id)
    assert {"webhook.DEPOSIT_CALLBACK", "webhook.PAYMENT_STATUS_CHANGED"} <= {a.type for a in trail}
    assert secret not in json.dumps([(a.request_data, a.response_data) for a in trail])


async def test_a_deposit_toss_takes_back_flags_the_paid_payment_for_a_person(
    inbox: InMemoryWebhookInbox,
    deps: Deps,
    toss: FakeGateway,
    store: InMemoryStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Toss's deposit error moves a paid virtual account back to WAITING_FOR_DEPOSIT. Payments
    never move backwards here; the merchant must not go on shipping an order nobody paid for."""
    payment = await waiting_for_deposit(deps, toss)
    assert payment.payment_key is not None
    secret = toss.deposit_secret(payment.payment_key)
    assert secret is not None
    toss.deposit(payment.payment_key)
    await deliver(deposit_callback(payment.order_id, secret), inbox, deps)
    assert store.payment(payment.id).status is S.DONE and not store.payment(payment.id).needs_review

    audited = len(store.audit_of(payment.id))
    toss.deposit_error(payment.payment_key)
    reverted = await deliver(
        deposit_callback(payment.order_id, secret, "WAITING_FOR_DEPOSIT", "tx-error"), inbox, deps
    )

    assert reverted.status is D.APPLIED
    after = store.payment(payment.id)
    assert after.needs_review and "deposit" in (after.review_reason or "")
    assert any(r.levelname == "ERROR" and payment.id in r.getMessage() for r in caplog.records)
    # A consumer that shipped on payment.completed learns it too, in the flag's transaction.
    assert event_types(store, payment)[-2:] == ["payment.completed", "payment.review_required"]
    last = store.outbox[-1]
    assert last.event.type == "payment.review_required" and last.payment.needs_review
    assert last.payment.status is S.DONE and last.payment.review_reason == after.review_reason
    assert "webhook.DEPOSIT_CALLBACK" in {a.type for a in store.audit_of(payment.id)[audited:]}


async def test_a_deposit_callback_before_we_hold_the_secret_is_401_and_its_resend_applied(
    inbox: InMemoryWebhookInbox,
    deps: Deps,
    toss: FakeGateway,
    store: InMemoryStore,
    clock: FakeClock,
) -> None:
    """Toss issued the virtual account, but its answer to our confirm never reached us: the
    payment waits IN_PROGRESS for the reconciler, with no secret to check a callback against.
    Every callback is 401 then, the genuine one too: a 200 for an order mid-confirm, where a
    made-up order gets 401, told anyone without a key which orders those are. Toss sends the
    genuine one again (after 1, 4, 16 … minutes); by then the reconciler has read Toss's record
    of the order, and the secret with it."""
    toss.apply_then_fail("confirm")
    with pytest.raises((PgTimeout, PgUnavailable)):
        await waiting_for_deposit(deps, toss)
    payment = store.by_order_id("tenant_a", "order-va-01")
    assert payment is not None and payment.status is S.IN_PROGRESS
    assert payment.payment_key is not None and payment.deposit_secret_digest is None
    secret = toss.deposit_secret(payment.payment_key)
    assert secret is not None
    issued = deposit_callback(payment.order_id, secret, "WAITING_FOR_DEPOSIT", "tx2")
    forged = deposit_callback(payment.order_id, "guess", "WAITING_FOR_DEPOSIT")
    for body in (forged, issued, deposit_callback("order-nobody-has", "guess")):
        with pytest.raises(WebhookRejected) as refused:
            await receive_toss_webhook(body, {}, inbox, deps, ACCOUNT)
        assert (refused.value.status, refused.value.code) == (401, "INVALID_SIGNATURE")
    assert inbox.rows == {} and store.payment(payment.id).status is S.IN_PROGRESS

    clock.advance(max(deps.reconcile_delays))
    await reconcile_due(deps)
    settled = store.payment(payment.id)
    assert settled.status is S.WAITING_FOR_DEPOSIT and settled.deposit_secret_digest is not None
    with pytest.raises(WebhookRejected):
        await deliver(forged, inbox, deps)
    resent = await deliver(issued, inbox, deps)  # Toss's retry of the genuine one
    assert resent.status is D.APPLIED


async def test_a_cancel_that_arrives_before_the_approval_ends_canceled(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await confirmed(deps, toss)
    assert payment.payment_key is not None
    await toss.cancel(
        payment_key=payment.payment_key, reason="console", amount=None, idempotency_key="k1"
    )
    await deliver(
        status_changed(payment.payment_key, "CANCELED", lastTransactionKey="t2"), inbox, deps
    )
    await deliver(status_changed(payment.payment_key, "DONE", lastTransactionKey="t1"), inbox, deps)
    after = store.payment(payment.id)
    assert after.status is S.CANCELED and after.balance_amount == 0
    assert event_types(store, payment).count("payment.canceled") == 1


async def test_a_webhook_for_a_payment_nobody_knows_is_recorded_as_unmatched(
    inbox: InMemoryWebhookInbox, deps: Deps, store: InMemoryStore
) -> None:
    delivery = await deliver(status_changed("pk_nobody", "DONE"), inbox, deps)
    assert delivery.status is D.UNMATCHED
    assert store.payments == {}


async def test_a_payment_the_pg_knows_but_we_do_not_is_unmatched(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway
) -> None:
    key = toss.pay_in_window("order-elsewhere", 1000)
    delivery = await deliver(status_changed(key, "IN_PROGRESS"), inbox, deps)
    assert delivery.status is D.UNMATCHED


async def test_an_unreachable_pg_leaves_the_delivery_for_a_later_retry(
    inbox: InMemoryWebhookInbox,
    deps: Deps,
    toss: FakeGateway,
    clock: FakeClock,
    store: InMemoryStore,
) -> None:
    payment = await confirmed(deps, toss)
    assert payment.payment_key is not None
    await toss.cancel(
        payment_key=payment.payment_key, reason="console", amount=None, idempotency_key="k1"
    )
    toss.fail_next("lookup", GatewayUnknown("PROVIDER_ERROR", "down"))
    delivery = await deliver(status_changed(payment.payment_key, "CANCELED"), inbox, deps)
    assert delivery.status is D.RECEIVED and delivery.last_error
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at > clock.now()
    assert await process_due_webhooks(inbox, deps) == 0  # not due yet
    clock.advance(seconds=60)
    assert await process_due_webhooks(inbox, deps) == 1
    assert (await inbox.get(delivery.id)).status is D.APPLIED  # type: ignore[union-attr]
    assert store.payment(payment.id).status is S.CANCELED


async def test_an_approval_whose_key_another_orders_claim_holds_waits_without_an_error(
    inbox: InMemoryWebhookInbox,
    deps: Deps,
    toss: FakeGateway,
    store: InMemoryStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Shop B's claim holds shop A's paymentKey (B confirmed its order with it; Toss's answer
    was lost), and Toss then approves A's order under that key. The webhook's record goes to A's
    payment, which cannot take the key while B's claim holds it: that was logged as a bug with a
    traceback, and after ten tries the delivery ended FAILED and paged. It waits instead."""
    for tenant, order, amount in (("tenant_a", "order-x", 15000), ("tenant_b", "order-y", 1000)):
        await create_payment(
            CreatePayment(
                tenant_id=tenant,
                pg_account_id="default",
                order_name="n",
                amount=amount,
                order_id=order,
            ),
            deps,
        )
    key = toss.pay_in_window("order-x", 15000)
    toss.fail_next(CONFIRM, GatewayUnknown("READ_TIMEOUT", "lost", timed_out=True))
    with pytest.raises(PgTimeout):
        await confirm_payment(
            ConfirmPayment(tenant_id="tenant_b", payment_key=key, order_id="order-y", amount=1000),
            deps,
        )
    await toss.confirm(payment_key=key, order_id="order-x", amount=15000, idempotency_key="direct")

    with caplog.at_level(logging.ERROR):
        delivery = await deliver(status_changed(key, "DONE"), inbox, deps)

    assert delivery.status is D.RECEIVED and "held by another order" in (delivery.last_error or "")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert store.by_order_id("tenant_a", "order-x").status is S.READY


async def test_a_delivery_that_keeps_failing_is_failed_and_an_operator_can_replay_it(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, clock: FakeClock
) -> None:
    payment = await confirmed(deps, toss)
    assert payment.payment_key is not None
    toss.fail_next("lookup", GatewayUnknown("PROVIDER_ERROR", "down"), times=MAX_ATTEMPTS)
    delivery = await deliver(status_changed(payment.payment_key, "DONE"), inbox, deps)
    for _ in range(MAX_ATTEMPTS):
        clock.advance(seconds=3600)
        await process_due_webhooks(inbox, deps)
    failed = await inbox.get(delivery.id)
    assert failed is not None and failed.status is D.FAILED and failed.attempts == MAX_ATTEMPTS
    assert "PROVIDER_ERROR" in (failed.last_error or "")
    assert await inbox.requeue(delivery.id, clock.now())
    await process_due_webhooks(inbox, deps)
    assert (await inbox.get(delivery.id)).status is D.APPLIED  # type: ignore[union-attr]


async def test_events_we_do_not_act_on_are_ignored_after_being_recorded(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway
) -> None:
    method = b'{"eventType":"METHOD_UPDATED","createdAt":"x","data":{"customerKey":"c"}}'
    delivery = await deliver(method, inbox, deps)
    assert delivery.status is D.IGNORED
    assert toss.calls_of("lookup") == []


async def test_a_billing_key_deletion_for_a_key_we_never_issued_is_unmatched(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway
) -> None:
    billing = (
        b'{"eventType":"BILLING_DELETED","createdAt":"x","data":{"billingKey":"bk","reason":null}}'
    )
    delivery = await deliver(billing, inbox, deps)
    assert delivery.status is D.UNMATCHED
    assert toss.calls_of("lookup") == []


async def test_a_status_change_settles_a_confirm_whose_answer_was_lost(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    toss.apply_then_fail("confirm")
    with pytest.raises((PgTimeout, PgUnavailable)):
        await confirmed(deps, toss)
    payment = store.by_order_id("tenant_a", "order-0001")
    assert payment is not None and payment.status is S.IN_PROGRESS
    assert payment.payment_key is not None
    await deliver(status_changed(payment.payment_key, "DONE"), inbox, deps)
    after = store.payment(payment.id)
    assert after.status is S.DONE and after.next_reconcile_at is None
    assert event_types(store, payment).count("payment.completed") == 1


async def test_two_hundred_forged_webhooks_make_one_pg_lookup_and_two_audit_rows(
    inbox: InMemoryWebhookInbox,
    deps: Deps,
    toss: FakeGateway,
    store: InMemoryStore,
    clock: FakeClock,
) -> None:
    payment = await confirmed(deps, toss)
    assert payment.payment_key is not None
    lookups, trail = len(toss.calls_of("lookup")), len(store.audit_of(payment.id))
    for n in range(200):
        forged = status_changed(payment.payment_key, "CANCELED", lastTransactionKey=f"f{n}")
        await receive_toss_webhook(forged, {}, inbox, deps, ACCOUNT)
    clock.advance(seconds=1)
    coalesced = PgLookups(clock.now)
    while await process_due_webhooks(inbox, deps, coalesced, limit=50):
        pass

    assert len(toss.calls_of("lookup")) - lookups == 1
    assert len(store.audit_of(payment.id)) - trail == 2  # the look-up and one webhook row
    assert store.payment(payment.id).status is S.DONE
    assert {d.status for d in inbox.rows.values()} == {D.APPLIED}


async def test_a_real_change_right_after_a_flood_is_delayed_never_missed(
    inbox: InMemoryWebhookInbox,
    deps: Deps,
    toss: FakeGateway,
    store: InMemoryStore,
    clock: FakeClock,
) -> None:
    payment = await confirmed(deps, toss)
    assert payment.payment_key is not None
    coalesced = PgLookups(clock.now)
    await receive_toss_webhook(
        status_changed(payment.payment_key, "CANCELED", lastTransactionKey="forged"),
        {},
        inbox,
        deps,
        ACCOUNT,
    )
    clock.advance(seconds=1)
    await process_due_webhooks(inbox, deps, coalesced)  # asks: the PG says DONE

    # Canceled in Toss's console two seconds later; its webhook arrives at once.
    clock.advance(seconds=2)
    await toss.cancel(
        payment_key=payment.payment_key, reason="console", amount=None, idempotency_key="c1"
    )
    real = status_changed(payment.payment_key, "CANCELED", lastTransactionKey="real")
    receipt = await receive_toss_webhook(real, {}, inbox, deps, ACCOUNT)
    await process_due_webhooks(inbox, deps, coalesced)
    assert store.payment(payment.id).status is S.DONE  # within 10 s of the last look-up: waits
    waiting = inbox.rows[receipt.delivery_id or ""]
    assert waiting.status is D.RECEIVED and waiting.next_attempt_at is not None

    clock.advance(seconds=10)
    await process_due_webhooks(inbox, deps, coalesced)
    assert store.payment(payment.id).status is S.CANCELED


async def test_a_second_partial_cancel_within_a_minute_is_applied_not_hidden_by_the_first(
    inbox: InMemoryWebhookInbox,
    deps: Deps,
    toss: FakeGateway,
    store: InMemoryStore,
    clock: FakeClock,
) -> None:
    # Two refunds in Toss's console seconds apart: both webhooks claim PARTIAL_CANCELED, and
    # the look-up made for the first must not settle the second.
    payment = await confirmed(deps, toss)
    assert payment.payment_key is not None
    coalesced = PgLookups(clock.now)

    async def console_cancel(amount: int, key: str) -> None:
        assert payment.payment_key is not None
        refunded = await toss.cancel(
            payment_key=payment.payment_key, reason="console", amount=amount, idempotency_key=key
        )
        notice = status_changed(
            payment.payment_key,
            refunded.status.value,
            lastTransactionKey=refunded.last_transaction_key,
        )
        await receive_toss_webhook(notice, {}, inbox, deps, ACCOUNT)
        clock.advance(seconds=1)
        await process_due_webhooks(inbox, deps, coalesced)

    await console_cancel(2000, "c1")
    assert store.payment(payment.id).balance_amount == 13000
    clock.advance(seconds=4)
    await console_cancel(3000, "c2")
    clock.advance(seconds=10)  # the second waits out the look-ups' pace, then asks again
    await process_due_webhooks(inbox, deps, coalesced)

    after = store.payment(payment.id)
    assert after.status is S.PARTIAL_CANCELED and after.balance_amount == 10000
    assert [c.amount for c in after.cancels] == [2000, 3000]
    assert {d.status for d in inbox.rows.values()} == {D.APPLIED}


async def test_a_delivery_naming_nothing_of_ours_is_kept_cut_down_to_what_is_read_of_it(
    inbox: InMemoryWebhookInbox, deps: Deps
) -> None:
    """Anyone may send one, with no key, near the 256 KiB limit: kept whole for 90 days, a flood
    of them fills the disk. Cut down, it still reads as the same delivery (a replay works)."""
    padded = status_changed("pk_nobody", "DONE", orderId="order-x", padding="가" * 60_000)

    delivery = await deliver(padded, inbox, deps)

    assert delivery.status is D.UNMATCHED
    assert len(delivery.body) < 400
    kept = json.loads(delivery.body)
    assert kept["trimmedFrom"] > 60_000 and "padding" not in kept["data"]
    notice = deps.webhook_format.read_kept(delivery.body)
    assert (notice.payment_key, notice.reported_status, notice.order_id) == (
        "pk_nobody",
        "DONE",
        "order-x",
    )


async def test_a_delivery_applied_to_a_payment_of_ours_is_kept_whole(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway
) -> None:
    payment = await waiting_for_deposit(deps, toss)
    assert payment.payment_key is not None
    body = status_changed(payment.payment_key, "WAITING_FOR_DEPOSIT", orderName="생수 외 1건")

    delivery = await deliver(body, inbox, deps)

    assert delivery.status is D.APPLIED
    assert json.loads(delivery.body)["data"]["orderName"] == "생수 외 1건"
