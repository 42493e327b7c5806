"""Apply stored webhook deliveries: never from the body, always from the PG's own answer."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from . import audit
from .deps import Deps
from .gateway import GatewayError, GatewayNotFound
from .outcomes import adopt_or_flag
from .ports import DeliveryStatus, WebhookDelivery, WebhookInbox
from .webhook_intake import DEPOSIT_CALLBACK

log = logging.getLogger("sunap.webhooks")

LEASE = timedelta(seconds=60)
RETRY_AFTER = timedelta(seconds=10)
PAYMENT_EVENTS = frozenset({"PAYMENT_STATUS_CHANGED", DEPOSIT_CALLBACK})


async def process_due_webhooks(inbox: WebhookInbox, deps: Deps, limit: int = 20) -> int:
    now = deps.clock.now()
    deliveries = await inbox.claim_due(now, now + LEASE, limit)
    for delivery in deliveries:
        await process_delivery(delivery, inbox, deps)
    return len(deliveries)


async def process_delivery(delivery: WebhookDelivery, inbox: WebhookInbox, deps: Deps) -> None:
    now = deps.clock.now()
    if delivery.event_type not in PAYMENT_EVENTS:
        await inbox.settle(delivery.id, status=DeliveryStatus.IGNORED, now=now)
        return
    body = json.loads(delivery.body)
    try:
        if delivery.event_type == DEPOSIT_CALLBACK:
            truth = await deps.gateway.lookup_by_order_id(str(body.get("orderId")))
        else:
            truth = await deps.gateway.lookup_by_payment_key(str(body["data"]["paymentKey"]))
    except GatewayNotFound:
        await inbox.settle(delivery.id, status=DeliveryStatus.UNMATCHED, now=now)
        return
    except GatewayError as error:
        await inbox.settle(
            delivery.id,
            status=DeliveryStatus.RECEIVED,
            now=now,
            error=f"{type(error).__name__} {error.code}",
            retry_at=now + RETRY_AFTER,
        )
        return
    # On SQLite a unit of work holds the write lock: settle the delivery only after it ends.
    payment_id: str | None = None
    async with deps.uow() as uow:
        payment = await uow.payments.get_by_payment_key(truth.payment_key, for_update=True)
        if payment is not None:
            audit.record(
                uow,
                deps,
                payment,
                f"webhook.{delivery.event_type}",
                "received",
                request={"deliveryId": delivery.id, "reportedStatus": _reported_status(body)},
                response={"pgStatus": truth.status.value},
            )
            adopt_or_flag(payment, truth, deps)
            await uow.commit()
            payment_id = payment.id
    status = DeliveryStatus.UNMATCHED if payment_id is None else DeliveryStatus.APPLIED
    await inbox.settle(delivery.id, status=status, now=now, payment_id=payment_id)


def _reported_status(body: dict[str, object]) -> object:
    data = body.get("data")
    if isinstance(data, dict):
        return data.get("status")
    return body.get("status")
