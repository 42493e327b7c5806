"""`POST /v1/webhooks/toss` before any processing: shapes, dedup, deposit secrets, signatures."""

from __future__ import annotations

import hashlib
import json

import pytest

from sunap.application.commands import CreatePayment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.pg_accounts import PgAccount
from sunap.application.ports.webhook_inbox import DeliveryStatus
from sunap.application.webhook_intake import WebhookRejected, receive_toss_webhook
from sunap.domain.payment import PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore
from tests.support.webhook_signing import sign_toss
from tests.unit.webhooks.inbox import InMemoryWebhookInbox
from tests.unit.webhooks.scenes import (
    TENANT,
    confirmed,
    deposit_callback,
    status_changed,
    waiting_for_deposit,
)

S = PaymentStatus
SECRET = "toss-security-key-0001"


async def receive(
    body: bytes,
    inbox: InMemoryWebhookInbox,
    deps: Deps,
    headers: dict[str, str] | None = None,
    secrets: list[str] | None = None,
) -> bool:
    account = PgAccount("default", "test_sk_unit", None, tuple(secrets or ()))
    receipt = await receive_toss_webhook(body, headers or {}, inbox, deps, account)
    return receipt.duplicate


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"DONE"',
        b"{}",
        b'{"eventType": 42}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED"}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"status": "DONE"}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "pk_1"}}',
        b'{"secret": "s", "status": "DONE"}',
        b'{"secret": 7, "status": "DONE", "orderId": "order-0001"}',
        b'{"eventType": "BILLING_DELETED", "data": {"reason": null}}',
    ],
)
async def test_a_malformed_or_misshapen_body_is_a_400_and_stores_nothing(
    body: bytes, inbox: InMemoryWebhookInbox, deps: Deps
) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        await receive(body, inbox, deps)
    assert (rejected.value.status, rejected.value.code) == (400, "INVALID_REQUEST")
    assert inbox.rows == {}


async def secret_of(deps: Deps, toss: FakeGateway) -> tuple[str, str]:
    payment = await waiting_for_deposit(deps, toss)
    assert payment.payment_key is not None
    secret = toss.deposit_secret(payment.payment_key)
    assert secret is not None
    return payment.order_id, secret


async def test_the_flat_deposit_callback_is_stored_as_a_deposit_callback(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway
) -> None:
    order_id, secret = await secret_of(deps, toss)
    body = deposit_callback(order_id, secret)
    assert await receive(body, inbox, deps, {"content-type": "application/json"}) is False
    stored = inbox.only()
    assert stored.event_type == "DEPOSIT_CALLBACK"
    # As received, but the secret is kept only as its digest: enough to compare, not to forge.
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert json.loads(stored.body) == json.loads(body) | {"secret": f"sha256:{digest}"}
    assert secret.encode() not in stored.body
    assert stored.headers == {"content-type": "application/json"}


async def test_a_deposit_callback_wrapped_in_event_type_and_data_is_understood(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway
) -> None:
    flat = json.loads(deposit_callback(*await secret_of(deps, toss)))
    await receive(json.dumps({"eventType": "DEPOSIT_CALLBACK", "data": flat}).encode(), inbox, deps)
    assert inbox.only().event_type == "DEPOSIT_CALLBACK"


async def test_an_event_type_we_do_not_act_on_is_kept_as_its_type_id_and_size_only(
    inbox: InMemoryWebhookInbox, deps: Deps
) -> None:
    body = (
        b'{"eventType":"METHOD_UPDATED","eventId":"evt_m1","createdAt":"x",'
        b'"data":{"customerKey":"cust-private-1","status":"ENABLED"}}'
    )
    await receive(body, inbox, deps)
    stored = inbox.only()
    assert stored.event_type == "METHOD_UPDATED"
    assert json.loads(stored.body) == {
        "eventType": "METHOD_UPDATED",
        "eventId": "evt_m1",
        "size": len(body),
    }
    assert stored.status is DeliveryStatus.IGNORED and stored.processed_at is not None


async def test_refund_accounts_and_card_numbers_are_masked_at_rest(
    inbox: InMemoryWebhookInbox, deps: Deps
) -> None:
    account = {"bank": "88", "accountNumber": "110123456789", "holderName": "김토스"}
    body = status_changed(
        "pk_masked",
        "CANCELED",
        lastTransactionKey="txk_m",
        cancels=[{"cancelAmount": 1000, "refundReceiveAccount": account}],
        card={"number": "43301234****123*", "cardNumber": "4330123412341234"},
    )
    await receive(body, inbox, deps)
    stored = json.loads(inbox.only().body)
    kept = stored["data"]["cancels"][0]["refundReceiveAccount"]
    assert kept == {"bank": "88", "accountNumber": "********6789", "holderName": "***"}
    assert stored["data"]["card"] == {
        "number": "43301234****123*",
        "cardNumber": "************1234",
    }
    assert b"110123456789" not in inbox.only().body and "김토스".encode() not in inbox.only().body


async def test_the_same_status_change_delivered_twice_is_stored_once_and_audited_as_duplicate(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await waiting_for_deposit(deps, toss)
    assert payment.payment_key is not None
    body = status_changed(payment.payment_key, "DONE", lastTransactionKey="txk_9")
    retry = status_changed(payment.payment_key, "DONE", lastTransactionKey="txk_9", extra=1)
    assert await receive(body, inbox, deps) is False
    assert await receive(retry, inbox, deps) is True
    for _ in range(50):  # however often it comes again, the trail says so once
        assert await receive(retry, inbox, deps) is True
    assert len(inbox.rows) == 1
    duplicates = [a for a in store.audit_of(payment.id) if a.status == "duplicate"]
    assert [a.type for a in duplicates] == ["webhook.PAYMENT_STATUS_CHANGED"]


async def test_a_repeat_is_answered_and_audited_with_the_id_of_the_delivery_kept(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await waiting_for_deposit(deps, toss)
    assert payment.payment_key is not None
    body = status_changed(payment.payment_key, "DONE", lastTransactionKey="txk_9")
    account = PgAccount("default", "test_sk_unit", None, ())
    first = await receive_toss_webhook(body, {}, inbox, deps, account)
    again = await receive_toss_webhook(body, {}, inbox, deps, account)
    assert (again.duplicate, again.delivery_id) == (True, first.delivery_id)
    [duplicate] = [a for a in store.audit_of(payment.id) if a.status == "duplicate"]
    assert (duplicate.request_data or {})["deliveryId"] == first.delivery_id


async def test_a_repeated_event_we_do_not_act_on_writes_nothing_on_the_payment_it_names(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """Unsigned and never looked up, it could otherwise put rows on any payment's trail."""
    payment = await waiting_for_deposit(deps, toss)
    body = json.dumps(
        {"eventType": "METHOD_UPDATED", "data": {"paymentKey": payment.payment_key}}
    ).encode()
    trail = len(store.audit_of(payment.id))
    assert await receive(body, inbox, deps) is False
    assert await receive(body, inbox, deps) is True
    assert len(store.audit_of(payment.id)) == trail


async def test_status_changes_with_different_transactions_are_different_deliveries(
    inbox: InMemoryWebhookInbox, deps: Deps
) -> None:
    await receive(status_changed("pk_1", "DONE", lastTransactionKey="txk_1"), inbox, deps)
    await receive(status_changed("pk_1", "CANCELED", lastTransactionKey="txk_2"), inbox, deps)
    assert len(inbox.rows) == 2


async def test_a_deposit_callback_with_the_wrong_secret_is_401_and_changes_nothing(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await waiting_for_deposit(deps, toss)
    events_before = len(store.events_of(payment.id))
    with pytest.raises(WebhookRejected) as rejected:
        await receive(deposit_callback(payment.order_id, "guessed-secret"), inbox, deps)
    assert rejected.value.status == 401
    assert inbox.rows == {}
    after = store.payment(payment.id)
    assert after.status is S.WAITING_FOR_DEPOSIT
    assert len(store.events_of(payment.id)) == events_before
    trail = store.audit_of(payment.id)
    assert trail[-1].type == "webhook.DEPOSIT_CALLBACK" and trail[-1].status == "rejected"
    assert "guessed-secret" not in json.dumps([a.request_data for a in trail])


async def test_a_deposit_callback_with_the_right_secret_is_stored(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway
) -> None:
    payment = await waiting_for_deposit(deps, toss)
    assert payment.payment_key is not None
    secret = toss.deposit_secret(payment.payment_key)
    assert secret is not None
    await receive(deposit_callback(payment.order_id, secret), inbox, deps)
    assert inbox.only().event_type == "DEPOSIT_CALLBACK"


async def test_a_deposit_callback_for_an_order_we_do_not_know_is_401_like_a_wrong_secret(
    inbox: InMemoryWebhookInbox, deps: Deps
) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        await receive(deposit_callback("order-nobody", "whatever"), inbox, deps)
    assert rejected.value.status == 401
    assert inbox.rows == {}


@pytest.mark.parametrize("state", ["paid by card", "never sent to Toss"])
async def test_a_deposit_callback_for_an_order_that_takes_no_deposit_is_401_like_an_unknown_one(
    state: str, inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """No secret can match such an order's callback: answering 200 while an unknown orderId gets
    401 would tell anyone, with no key, which orderIds exist on the account."""
    if state == "paid by card":
        payment = await confirmed(deps, toss, order_id="order-card-01")
    else:
        payment = await create_payment(
            CreatePayment(
                tenant_id=TENANT,
                pg_account_id="default",
                order_name="socks",
                amount=9000,
                order_id="order-ready-01",
            ),
            deps,
        )
    trail_before = len(store.audit_of(payment.id))
    with pytest.raises(WebhookRejected) as rejected:
        await receive(deposit_callback(payment.order_id, "forged-secret"), inbox, deps)
    assert (rejected.value.status, rejected.value.code) == (401, "INVALID_SIGNATURE")
    assert inbox.rows == {}
    assert len(store.audit_of(payment.id)) == trail_before


async def test_a_toss_signed_delivery_that_verifies_is_stored_once_by_event_id(
    inbox: InMemoryWebhookInbox, deps: Deps, clock: FakeClock
) -> None:
    body = b'{"eventType":"payout.changed","eventId":"evt_77","entityBody":{"status":"COMPLETED"}}'
    sent_at = clock.now().isoformat()
    headers = {
        "tosspayments-webhook-transmission-time": sent_at,
        "tosspayments-webhook-signature": sign_toss(body, sent_at, SECRET),
    }
    assert await receive(body, inbox, deps, headers, [SECRET]) is False
    assert await receive(body, inbox, deps, headers, [SECRET]) is True
    assert inbox.only().dedup_key == "default:evt:evt_77"  # the account's, never another's


async def test_a_signed_delivery_with_a_bad_signature_is_401_and_stores_nothing(
    inbox: InMemoryWebhookInbox, deps: Deps, clock: FakeClock
) -> None:
    body = b'{"eventType":"payout.changed","eventId":"evt_78"}'
    sent_at = clock.now().isoformat()
    headers = {
        "tosspayments-webhook-transmission-time": sent_at,
        "tosspayments-webhook-signature": sign_toss(body, sent_at, "not-our-key"),
    }
    with pytest.raises(WebhookRejected) as rejected:
        await receive(body, inbox, deps, headers, [SECRET])
    assert (rejected.value.status, rejected.value.code) == (401, "INVALID_SIGNATURE")
    assert inbox.rows == {}


@pytest.mark.parametrize(
    ("account_id", "hint"),
    [
        ("default", "TOSS_WEBHOOK_SECRET"),
        ("ten_own", "sunap tenants set-toss --webhook-secret-file"),
    ],
)
async def test_a_signed_delivery_at_an_account_with_no_secret_is_401_and_says_what_to_set(
    inbox: InMemoryWebhookInbox,
    deps: Deps,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    account_id: str,
    hint: str,
) -> None:
    """A signature nothing here can verify is not taken on trust (it was stored, 200)."""
    body = b'{"eventType":"payout.changed","eventId":"evt_79"}'
    sent_at = clock.now().isoformat()
    headers = {
        "tosspayments-webhook-transmission-time": sent_at,
        "tosspayments-webhook-signature": sign_toss(body, sent_at, SECRET),
    }
    account = PgAccount(account_id, "test_sk_unit", None, ())
    with pytest.raises(WebhookRejected) as rejected:
        await receive_toss_webhook(body, headers, inbox, deps, account)
    assert (rejected.value.status, rejected.value.code) == (401, "INVALID_SIGNATURE")
    assert inbox.rows == {}
    assert any(account_id in r.message and hint in r.message for r in caplog.records)


async def test_an_unsigned_payout_event_is_refused_once_a_secret_is_configured(
    inbox: InMemoryWebhookInbox, deps: Deps
) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        await receive(b'{"eventType":"payout.changed","eventId":"e"}', inbox, deps, {}, [SECRET])
    assert rejected.value.status == 401


async def test_unsigned_payment_webhooks_are_accepted_with_a_secret_configured(
    inbox: InMemoryWebhookInbox, deps: Deps
) -> None:
    """Toss does not sign payment webhooks: they are verified by re-fetching the payment."""
    await receive(status_changed("pk_1", "DONE"), inbox, deps, {}, [SECRET])
    assert len(inbox.rows) == 1
