"""Take a Toss webhook delivery: check its shape and signature, store it once, answer fast.

Nothing in the body is trusted for money here; the processor re-fetches the payment from the PG
before applying anything. Two checks happen before storing because they need no PG call: a signed
delivery must verify, and a DEPOSIT_CALLBACK must carry the `secret` Toss gave us for its payment.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import audit
from .adopt import secret_digest
from .audit_kinds import AuditStatus, webhook_type
from .deps import Deps
from .pg_accounts import PgAccount
from .ports import DeliveryStatus, WebhookDelivery, WebhookInbox
from .strict_json import RefusedJson, loads_strict
from .webhook_signatures import (
    STANDARD_ID,
    SignatureInvalid,
    is_signed,
    verify_signature,
)
from .webhook_storage import masked_body, summary_body

PAYMENT_STATUS_CHANGED = "PAYMENT_STATUS_CHANGED"
DEPOSIT_CALLBACK = "DEPOSIT_CALLBACK"
CANCEL_STATUS_CHANGED = "CANCEL_STATUS_CHANGED"
BILLING_DELETED = "BILLING_DELETED"
# Toss signs these (and only these); with a secret configured an unsigned one is refused.
SIGNED_BY_TOSS = frozenset({"payout.changed", "seller.changed"})
# What the processor acts on; anything else is acknowledged and kept as type, id and size only.
ACTED_ON = frozenset(
    {PAYMENT_STATUS_CHANGED, DEPOSIT_CALLBACK, CANCEL_STATUS_CHANGED, BILLING_DELETED}
)
KEPT_HEADERS = ("tosspayments-", "webhook-", "content-type")


class WebhookRejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.event_type: str | None = None  # when the body said it before it was refused


def _malformed(message: str) -> WebhookRejected:
    return WebhookRejected(400, "INVALID_REQUEST", message)


@dataclass(frozen=True)
class ParsedDelivery:
    """A delivery whose shape we checked. `fields` is the event's own object: `data`, or the
    whole body for the flat DEPOSIT_CALLBACK."""

    event_type: str
    body: dict[str, Any]
    fields: dict[str, Any]

    @property
    def payment_key(self) -> str | None:
        value = self.fields.get("paymentKey")
        return value if isinstance(value, str) and value else None

    @property
    def order_id(self) -> str | None:
        value = self.fields.get("orderId")
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class WebhookReceipt:
    delivery_id: str | None  # None for a duplicate: the delivery stored first is the one kept
    duplicate: bool
    event_type: str = ""
    ignored: bool = False  # an event type we record but do not act on: settled as it came in


def parse_delivery(body: bytes) -> ParsedDelivery:
    """Toss's real shapes: `{eventType, createdAt, data}`, and the flat DEPOSIT_CALLBACK
    `{createdAt, secret, status, transactionKey, orderId}` with no eventType (docs/toss.md, Webhooks)."""
    try:
        parsed = loads_strict(body)
    except RefusedJson as refused:
        raise _malformed(str(refused)) from refused
    if not isinstance(parsed, dict):
        raise _malformed("The body must be a JSON object.")
    event_type = parsed.get("eventType")
    if event_type is None and "secret" in parsed:
        return _deposit_callback(parsed, parsed)
    if not isinstance(event_type, str) or not event_type:
        raise _malformed("Unknown webhook shape: no eventType.")
    data = parsed.get("data")
    if event_type == DEPOSIT_CALLBACK and isinstance(data, dict):
        return _deposit_callback(parsed, data)  # the nested shape some senders use
    if event_type in (PAYMENT_STATUS_CHANGED, CANCEL_STATUS_CHANGED, BILLING_DELETED):
        if not isinstance(data, dict):
            raise _malformed(f"{event_type} needs a data object.")
        delivery = ParsedDelivery(event_type, parsed, data)
        _check_fields(delivery)
        return delivery
    return ParsedDelivery(event_type, parsed, data if isinstance(data, dict) else {})


def _deposit_callback(body: dict[str, Any], fields: dict[str, Any]) -> ParsedDelivery:
    for name in ("secret", "status", "orderId"):
        if not isinstance(fields.get(name), str) or not fields[name]:
            raise _malformed(f"DEPOSIT_CALLBACK needs a string {name}.")
    if fields.get("transactionKey") is not None and not isinstance(fields["transactionKey"], str):
        raise _malformed("DEPOSIT_CALLBACK transactionKey must be a string.")
    return ParsedDelivery(DEPOSIT_CALLBACK, body, fields)


def _check_fields(delivery: ParsedDelivery) -> None:
    fields = delivery.fields
    if delivery.event_type == PAYMENT_STATUS_CHANGED:
        if delivery.payment_key is None or not isinstance(fields.get("status"), str):
            raise _malformed("PAYMENT_STATUS_CHANGED needs data.paymentKey and data.status.")
    elif delivery.event_type == BILLING_DELETED and not isinstance(fields.get("billingKey"), str):
        raise _malformed("BILLING_DELETED needs data.billingKey.")


# Room for the account id in front of the key; a longer key is stored as its digest.
MAX_DEDUP_KEY = 400


def dedup_key(
    delivery: ParsedDelivery, headers: Mapping[str, str], body: bytes, pg_account_id: str
) -> str:
    """The same change delivered twice (a retry, or two registrations) to one account maps to
    one key; the same change on two accounts never does."""
    key = _content_key(delivery, headers, body)
    if len(key) > MAX_DEDUP_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"{pg_account_id}:{key}"


def _content_key(delivery: ParsedDelivery, headers: Mapping[str, str], body: bytes) -> str:
    fields = delivery.fields
    if delivery.event_type == PAYMENT_STATUS_CHANGED:
        return (
            f"psc:{delivery.payment_key}:{fields.get('status')}:{fields.get('lastTransactionKey')}"
        )
    if delivery.event_type == DEPOSIT_CALLBACK:
        return f"dc:{delivery.order_id}:{fields.get('status')}:{fields.get('transactionKey')}"
    event_id = delivery.body.get("eventId")
    if isinstance(event_id, str) and event_id:
        return f"evt:{event_id}"
    if headers.get(STANDARD_ID):
        return f"wh:{headers[STANDARD_ID]}"
    transmission = headers.get("tosspayments-webhook-transmission-id")
    if transmission:
        return f"tx:{transmission}"
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


async def receive_toss_webhook(
    body: bytes,
    headers: Mapping[str, str],
    inbox: WebhookInbox,
    deps: Deps,
    account: PgAccount,
) -> WebhookReceipt:
    """Check and store one delivery that arrived at `account`'s webhook URL (header names
    lower-case). Raises WebhookRejected for what must change nothing: malformed bodies (400),
    bad signatures or deposit secrets (401)."""
    signing_secrets = list(account.webhook_secrets)
    signed = is_signed(headers)
    if signed and signing_secrets:
        try:
            verify_signature(body, headers, signing_secrets, deps.clock.now())
        except SignatureInvalid as invalid:
            raise WebhookRejected(401, "INVALID_SIGNATURE", str(invalid)) from invalid
    delivery = parse_delivery(body)
    try:
        if delivery.event_type in SIGNED_BY_TOSS and signing_secrets and not signed:
            raise WebhookRejected(
                401, "INVALID_SIGNATURE", f"{delivery.event_type} must be signed."
            )
        if delivery.event_type == DEPOSIT_CALLBACK:
            await _check_deposit_secret(delivery, account.id, deps)
    except WebhookRejected as rejected:
        rejected.event_type = delivery.event_type
        raise
    stored = _stored(delivery, headers, body, account.id, deps)
    repeats = await inbox.record(stored)
    if repeats == 0:
        ignored = stored.status is DeliveryStatus.IGNORED
        return WebhookReceipt(
            stored.id, duplicate=False, event_type=delivery.event_type, ignored=ignored
        )
    if repeats == 1:  # a repeated identical delivery is audited once, however often it comes
        await _audit_duplicate(delivery, stored.dedup_key, account.id, deps)
    return WebhookReceipt(None, duplicate=True, event_type=delivery.event_type)


def _stored(
    delivery: ParsedDelivery,
    headers: Mapping[str, str],
    body: bytes,
    pg_account_id: str,
    deps: Deps,
) -> WebhookDelivery:
    """The delivery as it is kept (webhook_storage.py): secrets digested, accounts masked, and
    an event we do not act on reduced to its type, id and size, settled at once."""
    now = deps.clock.now()
    acted_on = delivery.event_type in ACTED_ON
    return WebhookDelivery(
        id=deps.ids.new_id("whd"),
        dedup_key=dedup_key(delivery, headers, body, pg_account_id),
        pg_account_id=pg_account_id,
        event_type=delivery.event_type,
        headers={k: v for k, v in headers.items() if k.startswith(KEPT_HEADERS)},
        body=masked_body(delivery.body)
        if acted_on
        else summary_body(delivery.event_type, delivery.body, len(body)),
        received_at=now,
        status=DeliveryStatus.RECEIVED if acted_on else DeliveryStatus.IGNORED,
        processed_at=None if acted_on else now,
        last_error=None if acted_on else f"{delivery.event_type} is recorded, not acted on",
    )


async def _check_deposit_secret(delivery: ParsedDelivery, pg_account_id: str, deps: Deps) -> None:
    """Refuse a deposit callback whose secret is not the one Toss gave for its payment, and one
    for an order we do not have (no secret can match it; answering otherwise would tell a
    forger which orders exist). A payment whose secret we do not hold yet (its confirm answer is
    still on its way) is checked by the processor against the secret the PG reports instead."""
    assert delivery.order_id is not None
    offered = secret_digest(str(delivery.fields["secret"]))
    mismatch = WebhookRejected(
        401, "INVALID_SIGNATURE", "The deposit callback's secret does not match the payment's."
    )
    async with deps.uow() as uow:
        payment = await uow.payments.get_by_account_order(pg_account_id, delivery.order_id)
        if payment is None:
            raise mismatch
        if payment.deposit_secret_digest is None:
            return
        if hmac.compare_digest(offered, payment.deposit_secret_digest):
            return
        audit.record(
            uow,
            deps,
            payment,
            webhook_type(DEPOSIT_CALLBACK),
            AuditStatus.REJECTED,
            request={"orderId": delivery.order_id, "reportedStatus": delivery.fields["status"]},
            response={"reason": "the secret does not match"},
        )
        await uow.commit()
    raise mismatch


async def _audit_duplicate(
    delivery: ParsedDelivery, key: str, pg_account_id: str, deps: Deps
) -> None:
    """A delivery seen before changes nothing, but the payment's trail shows it arrived."""
    async with deps.uow() as uow:
        if delivery.payment_key is not None:
            found = await uow.payments.get_by_payment_key(pg_account_id, delivery.payment_key)
            payments = [] if found is None else [found]
        elif delivery.event_type == DEPOSIT_CALLBACK and delivery.order_id is not None:
            offered = secret_digest(str(delivery.fields["secret"]))
            found = await uow.payments.get_by_account_order(pg_account_id, delivery.order_id)
            payments = [
                p
                for p in ([] if found is None else [found])
                if p.deposit_secret_digest is not None
                and hmac.compare_digest(offered, p.deposit_secret_digest)
            ]
        else:
            return
        for payment in payments:
            audit.record(
                uow,
                deps,
                payment,
                webhook_type(delivery.event_type),
                AuditStatus.DUPLICATE,
                request={"dedupKey": key, "reportedStatus": delivery.fields.get("status")},
            )
        if payments:
            await uow.commit()
