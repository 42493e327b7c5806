"""A webhook body goes through the same strict parser as the API: a NUL, a repeated key or a
control character in any field is a 400 that stores nothing; a garbage timestamp is a 401."""

from __future__ import annotations

import pytest

from sunap.adapters.toss.webhook_signatures import verify_signature
from sunap.application.deps import Deps
from sunap.application.pg_accounts import PgAccount
from sunap.application.ports.webhook_format import SignatureInvalid
from sunap.application.webhook_intake import WebhookRejected, receive_toss_webhook
from tests.fakes.clock import FakeClock
from tests.unit.webhooks.inbox import InMemoryWebhookInbox

SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
ACCOUNT = PgAccount("default", "test_sk_unit")
SIGNING_ACCOUNT = PgAccount("default", "test_sk_unit", None, (SECRET,))


@pytest.mark.parametrize(
    "body",
    [
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "pk\\u0000", "status": "DONE"}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "pk", "status": "DO\\u0000NE"}}',
        b'{"secret": "s\\u0000", "status": "DONE", "orderId": "order-0001"}',
        b'{"secret": "s", "status": "DONE", "orderId": "order-0001\\u001b"}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "eventType": "SOMETHING_NEW", "data": {}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "a", "paymentKey": "b", "status": "DONE"}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "\\ud800", "status": "DONE"}}',
        b'{"eventType": "SOMETHING_NEW", "data": {"note": "\\u0085"}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "pk", "status": NaN}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": {}, "data": {"paymentKey": "p", "status": "DONE"}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": [null], "data": {"paymentKey": "p", "status": "DONE"}}',
        b'{"eventType": "SOMETHING_NEW", "createdAt": "' + b"9" * 65 + b'"}',
        b'{"eventType": "SOMETHING_NEW_' + b"X" * 200 + b'"}',
    ],
    ids=[
        "nul-in-paymentKey",
        "nul-in-status",
        "nul-in-secret",
        "escape-in-orderId",
        "repeated-eventType",
        "repeated-paymentKey",
        "lone-surrogate",
        "c1-in-an-unknown-event",
        "nan",
        "createdAt-object",
        "createdAt-array",
        "createdAt-too-long",
        "eventType-too-long",
    ],
)
async def test_a_body_the_strict_parser_refuses_is_a_400_and_stores_nothing(
    body: bytes, inbox: InMemoryWebhookInbox, deps: Deps
) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        await receive_toss_webhook(body, {}, inbox, deps, ACCOUNT)
    assert (rejected.value.status, rejected.value.code) == (400, "INVALID_REQUEST")
    assert rejected.value.message
    assert inbox.rows == {}


@pytest.mark.parametrize(
    "timestamp",
    ["9" * 400, "99999999999999999", "1" * 5000, "١٧٠٠٠٠٠٠٠٠", "²", "-1", " 1700000000", "1e9"],
    ids=[
        "400-digits",
        "past-year-9999",
        "past-int-digits",
        "arabic-digits",
        "superscript",
        "negative",
        "leading-space",
        "exponent",
    ],
)
def test_a_garbage_or_huge_webhook_timestamp_is_an_invalid_signature(
    timestamp: str, clock: FakeClock
) -> None:
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1,AA==",
    }
    with pytest.raises(SignatureInvalid, match="webhook-timestamp"):
        verify_signature(b"{}", headers, [SECRET], clock.now())


async def test_a_garbage_timestamp_on_a_signed_delivery_is_a_401(
    inbox: InMemoryWebhookInbox, deps: Deps
) -> None:
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "9" * 400,
        "webhook-signature": "v1,AA==",
    }
    with pytest.raises(WebhookRejected) as rejected:
        await receive_toss_webhook(b"{}", headers, inbox, deps, SIGNING_ACCOUNT)
    assert (rejected.value.status, rejected.value.code) == (401, "INVALID_SIGNATURE")
    assert inbox.rows == {}
