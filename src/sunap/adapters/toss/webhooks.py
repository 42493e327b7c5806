"""Toss's webhooks read into our notices: their JSON shapes, headers and signatures.

Toss sends `{eventType, createdAt, data}`, and the flat DEPOSIT_CALLBACK
`{createdAt, secret, status, transactionKey, orderId}` with no eventType (docs/toss.md,
Webhooks). Only PAYMENT_STATUS_CHANGED, CANCEL_STATUS_CHANGED, DEPOSIT_CALLBACK and
BILLING_DELETED are acted on; any other event type is acknowledged and kept as its type, id and
size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sunap.application.adopt import secret_digest
from sunap.application.ports.webhook_format import NoticeKind, WebhookMalformed, WebhookNotice
from sunap.application.strict_json import RefusedJson, loads_strict
from sunap.domain.payment import PaymentStatus

from .webhook_signatures import STANDARD_ID, is_signed, verify_signature
from .webhook_storage import masked_body, stored_secret_digest, summary_body, trimmed_body

PAYMENT_STATUS_CHANGED = "PAYMENT_STATUS_CHANGED"
DEPOSIT_CALLBACK = "DEPOSIT_CALLBACK"
CANCEL_STATUS_CHANGED = "CANCEL_STATUS_CHANGED"
BILLING_DELETED = "BILLING_DELETED"
KINDS = {
    PAYMENT_STATUS_CHANGED: NoticeKind.PAYMENT_CHANGED,
    CANCEL_STATUS_CHANGED: NoticeKind.CANCEL_CHANGED,
    DEPOSIT_CALLBACK: NoticeKind.DEPOSIT,
    BILLING_DELETED: NoticeKind.BILLING_KEY_DELETED,
}
# Toss signs these (and only these); with a secret configured an unsigned one is refused.
SIGNED_BY_TOSS = frozenset({"payout.changed", "seller.changed"})
KEPT_HEADERS = ("tosspayments-", "webhook-", "content-type")
TRANSMISSION_ID = "tosspayments-webhook-transmission-id"
# A `secret` or `billingKey` as it stands in a body, to its digest.
Digest = Callable[[str], str]
# What Toss's own fields can hold: a notice outside these is not Toss's, and costs no look-up.
PAYMENT_STATUSES = frozenset(s.value for s in PaymentStatus)
PAYMENT_KEY_LIMIT = 200
MAX_EVENT_TYPE = 100  # the inbox's column; Toss's own are a few words
ORDER_ID_LIMIT = 64


class TossWebhooks:
    """The WebhookFormat of Toss."""

    def is_signed(self, headers: Mapping[str, str]) -> bool:
        return is_signed(headers)

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: datetime
    ) -> None:
        verify_signature(body, headers, secrets, now)

    def read(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        return _notice(body, headers, secret_digest)

    def read_kept(self, body: bytes) -> WebhookNotice:
        return _notice(body, {}, stored_secret_digest)

    def kept_body(self, notice: WebhookNotice, size: int) -> bytes:
        if notice.kind is NoticeKind.OTHER:
            return summary_body(notice.event_type, notice.parsed, size)
        return masked_body(notice.parsed)

    def trimmed_body(self, kept: bytes) -> bytes:
        parsed = json.loads(kept)
        if not isinstance(parsed, dict):
            raise ValueError("a kept delivery is a JSON object")
        return trimmed_body(parsed, len(kept))

    def kept_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in headers.items() if k.startswith(KEPT_HEADERS)}


def _notice(body: bytes, headers: Mapping[str, str], digest: Digest) -> WebhookNotice:
    try:
        parsed = loads_strict(body)
    except RefusedJson as refused:
        raise WebhookMalformed(str(refused)) from refused
    if not isinstance(parsed, dict):
        raise WebhookMalformed("The body must be a JSON object.")
    created_at = parsed.get("createdAt")  # never read for money: its shape only is checked
    if created_at is not None and (not isinstance(created_at, str) or len(created_at) > 64):
        raise WebhookMalformed("createdAt must be a time, as a string.")
    event_type = parsed.get("eventType")
    if event_type is None and "secret" in parsed:
        return _deposit_callback(parsed, parsed, digest)
    if not isinstance(event_type, str) or not event_type:
        raise WebhookMalformed("Unknown webhook shape: no eventType.")
    if len(event_type) > MAX_EVENT_TYPE:  # kept with every delivery, for 90 days
        raise WebhookMalformed(f"eventType is longer than {MAX_EVENT_TYPE} characters.")
    data = parsed.get("data")
    if event_type == DEPOSIT_CALLBACK and isinstance(data, dict):
        return _deposit_callback(parsed, data, digest)  # the nested shape some senders use
    kind = KINDS.get(event_type, NoticeKind.OTHER)
    if kind is NoticeKind.OTHER:
        return WebhookNotice(
            event_type,
            kind,
            _other_key(parsed, headers, body),
            signed_by_pg=event_type in SIGNED_BY_TOSS,
            parsed=parsed,
        )
    if not isinstance(data, dict):
        raise WebhookMalformed(f"{event_type} needs a data object.")
    if kind is NoticeKind.BILLING_KEY_DELETED:
        billing_key = data.get("billingKey")
        if not isinstance(billing_key, str):
            raise WebhookMalformed("BILLING_DELETED needs data.billingKey.")
        key = _other_key(parsed, headers, body)
        return WebhookNotice(
            event_type, kind, key, billing_key_digest=digest(billing_key), parsed=parsed
        )
    payment_key = _text(data, "paymentKey")
    status = data.get("status")
    if kind is NoticeKind.PAYMENT_CHANGED and (payment_key is None or not isinstance(status, str)):
        raise WebhookMalformed("PAYMENT_STATUS_CHANGED needs data.paymentKey and data.status.")
    _check_fields(payment_key, _text(data, "orderId"))
    if kind is NoticeKind.PAYMENT_CHANGED:
        _check_status(status)
        key = f"psc:{payment_key}:{status}:{data.get('lastTransactionKey')}"
    else:
        key = _other_key(parsed, headers, body)
    return WebhookNotice(
        event_type,
        kind,
        key,
        payment_key=payment_key,
        order_id=_text(data, "orderId"),
        reported_status=status if isinstance(status, str) else None,
        transaction_key=_text(data, "transactionKey") or _text(data, "lastTransactionKey"),
        parsed=parsed,
    )


def _deposit_callback(
    body: dict[str, Any], fields: dict[str, Any], digest: Digest
) -> WebhookNotice:
    for name in ("secret", "status", "orderId"):
        if not isinstance(fields.get(name), str) or not fields[name]:
            raise WebhookMalformed(f"DEPOSIT_CALLBACK needs a string {name}.")
    transaction_key = fields.get("transactionKey")
    if transaction_key is not None and not isinstance(transaction_key, str):
        raise WebhookMalformed("DEPOSIT_CALLBACK transactionKey must be a string.")
    order_id, status = fields["orderId"], fields["status"]
    _check_fields(_text(fields, "paymentKey"), order_id)
    _check_status(status)
    return WebhookNotice(
        DEPOSIT_CALLBACK,
        NoticeKind.DEPOSIT,
        f"dc:{order_id}:{status}:{transaction_key}",
        payment_key=_text(fields, "paymentKey"),
        order_id=order_id,
        reported_status=status,
        transaction_key=transaction_key or _text(fields, "lastTransactionKey"),
        secret_digest=digest(fields["secret"]),
        parsed=body,
    )


def _other_key(body: dict[str, Any], headers: Mapping[str, str], raw: bytes) -> str:
    """An event named by no payment key and status: by its id, else by the sender's, else by
    its bytes."""
    event_id = body.get("eventId")
    if isinstance(event_id, str) and event_id:
        return f"evt:{event_id}"
    if headers.get(STANDARD_ID):
        return f"wh:{headers[STANDARD_ID]}"
    transmission = headers.get(TRANSMISSION_ID)
    if transmission:
        return f"tx:{transmission}"
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def _check_fields(payment_key: str | None, order_id: str | None) -> None:
    if payment_key is not None and len(payment_key) > PAYMENT_KEY_LIMIT:
        raise WebhookMalformed(f"paymentKey is longer than Toss's {PAYMENT_KEY_LIMIT} characters.")
    if order_id is not None and len(order_id) > ORDER_ID_LIMIT:
        raise WebhookMalformed(f"orderId is longer than Toss's {ORDER_ID_LIMIT} characters.")


def _check_status(status: object) -> None:
    if status not in PAYMENT_STATUSES:
        raise WebhookMalformed("status is not one of Toss's payment statuses.")


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) and value else None
