"""Toss's webhook shapes read into notices, as they arrive and as they are kept at rest."""

from __future__ import annotations

import json

import pytest

from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.adopt import secret_digest
from sunap.application.ports.webhook_format import NoticeKind, WebhookMalformed, WebhookNotice
from tests.unit.webhooks.scenes import deposit_callback, status_changed

toss = TossWebhooks()
SECRET = "va-secret-of-the-payment"


def kept_and_read_back(body: bytes) -> tuple[bytes, WebhookNotice]:
    arrived = toss.read(body, {})
    kept = toss.kept_body(arrived, len(body))
    return kept, toss.read_kept(kept)


def test_a_deposit_callback_reads_the_same_from_what_is_kept_without_its_secret() -> None:
    body = deposit_callback("order-va-01", SECRET, transaction_key="txk_1")
    arrived = toss.read(body, {})
    kept, again = kept_and_read_back(body)

    assert SECRET.encode() not in kept
    assert again == arrived
    assert arrived.kind is NoticeKind.DEPOSIT
    assert arrived.secret_digest == secret_digest(SECRET)
    assert (arrived.order_id, arrived.reported_status, arrived.transaction_key) == (
        "order-va-01",
        "DONE",
        "txk_1",
    )


def test_a_secret_sent_in_the_shape_of_a_kept_digest_is_digested_as_it_came() -> None:
    """Whoever knows a secret's digest (not the secret) must not pass it off as the secret."""
    posing = "sha256:" + secret_digest(SECRET)
    arrived = toss.read(deposit_callback("order-va-01", posing), {})
    _, again = kept_and_read_back(deposit_callback("order-va-01", posing))

    assert arrived.secret_digest == secret_digest(posing)
    assert again.secret_digest == secret_digest(posing)
    assert again.secret_digest != secret_digest(SECRET)


def test_a_deleted_billing_key_is_kept_and_read_back_as_its_digest_only() -> None:
    body = json.dumps(
        {"eventType": "BILLING_DELETED", "data": {"billingKey": "bk_live_secret"}}
    ).encode()
    arrived = toss.read(body, {})
    kept, again = kept_and_read_back(body)

    assert b"bk_live_secret" not in kept
    assert arrived.billing_key_digest == secret_digest("bk_live_secret")
    assert (again.kind, again.billing_key_digest) == (arrived.kind, arrived.billing_key_digest)


def test_a_status_change_is_keyed_by_payment_status_and_last_transaction() -> None:
    one = toss.read(status_changed("tpk_1", "DONE", lastTransactionKey="txk_a"), {})
    same = toss.read(status_changed("tpk_1", "DONE", lastTransactionKey="txk_a"), {})
    later = toss.read(status_changed("tpk_1", "CANCELED", lastTransactionKey="txk_b"), {})

    assert one.kind is NoticeKind.PAYMENT_CHANGED
    assert one.content_key == same.content_key != later.content_key
    assert (one.payment_key, one.reported_status, one.transaction_key) == ("tpk_1", "DONE", "txk_a")


def test_an_event_not_acted_on_keeps_only_its_type_id_and_size() -> None:
    body = json.dumps(
        {"eventType": "payout.changed", "eventId": "evt_9", "data": {"accountNumber": "1234"}}
    ).encode()
    notice = toss.read(body, {})

    assert notice.kind is NoticeKind.OTHER and notice.signed_by_pg
    assert json.loads(toss.kept_body(notice, len(body))) == {
        "eventType": "payout.changed",
        "eventId": "evt_9",
        "size": len(body),
    }
    assert notice.content_key == "evt:evt_9"


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"status": "DONE"}}',
        b'{"eventType": "BILLING_DELETED", "data": {}}',
        b'{"eventType": "DEPOSIT_CALLBACK"}',
        b'{"secret": "s", "status": "DONE"}',
    ],
)
def test_a_misshapen_body_is_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(WebhookMalformed) as refused:
        toss.read(body, {})
    assert str(refused.value)
