"""Take a Toss webhook delivery: check its shape, store it once, answer fast.

Nothing in the body is trusted for money here; the processor re-fetches the payment from the PG
(PAYMENT_STATUS_CHANGED) or checks the VA secret (DEPOSIT_CALLBACK) before applying anything.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .deps import Deps
from .ports import WebhookDelivery, WebhookInbox

DEPOSIT_CALLBACK = "DEPOSIT_CALLBACK"


class WebhookRejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def parse_delivery(body: bytes) -> tuple[str, dict[str, Any]]:
    """(event type, parsed body). The flat DEPOSIT_CALLBACK has no eventType of its own."""
    try:
        parsed = json.loads(body)
    except ValueError as error:
        raise WebhookRejected(400, "INVALID_REQUEST", "The body is not valid JSON.") from error
    if not isinstance(parsed, dict):
        raise WebhookRejected(400, "INVALID_REQUEST", "The body must be a JSON object.")
    event_type = parsed.get("eventType")
    if event_type is None and {"secret", "status", "orderId"} <= parsed.keys():
        return DEPOSIT_CALLBACK, parsed
    if not isinstance(event_type, str) or not event_type:
        raise WebhookRejected(400, "INVALID_REQUEST", "Unknown webhook shape: no eventType.")
    if event_type == "PAYMENT_STATUS_CHANGED":
        data = parsed.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("paymentKey"), str):
            raise WebhookRejected(
                400, "INVALID_REQUEST", "PAYMENT_STATUS_CHANGED needs data.paymentKey."
            )
    return event_type, parsed


def dedup_key(event_type: str, parsed: dict[str, Any], headers: dict[str, str], body: bytes) -> str:
    """The same change delivered twice (a retry, or two registrations) maps to one key."""
    if event_type == "PAYMENT_STATUS_CHANGED":
        data = parsed["data"]
        return f"psc:{data['paymentKey']}:{data.get('status')}:{data.get('lastTransactionKey')}"
    if event_type == DEPOSIT_CALLBACK:
        return f"dc:{parsed.get('orderId')}:{parsed.get('status')}:{parsed.get('transactionKey')}"
    transmission = headers.get("tosspayments-webhook-transmission-id")
    if transmission:
        return f"tx:{transmission}"
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


async def receive_toss_webhook(
    body: bytes,
    headers: dict[str, str],
    inbox: WebhookInbox,
    deps: Deps,
    signing_secrets: list[str],
) -> bool:
    """Store the delivery; True if it is new, False if it was seen before."""
    event_type, parsed = parse_delivery(body)
    kept_headers = {
        k: v
        for k, v in headers.items()
        if k.startswith(("tosspayments-", "webhook-", "content-type"))
    }
    delivery = WebhookDelivery(
        id=deps.ids.new_id("whd"),
        dedup_key=dedup_key(event_type, parsed, headers, body),
        event_type=event_type,
        headers=kept_headers,
        body=body,
        received_at=deps.clock.now(),
    )
    return await inbox.record(delivery)
