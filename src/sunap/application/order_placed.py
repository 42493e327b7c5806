"""`commerce.order.placed` → one READY payment per (tenant, orderId), however often it arrives.

The payment table's unique (tenant, orderId) is what makes it exactly once, even for concurrent
deliveries; a malformed event is recorded and acknowledged so it never blocks the stream.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from sunap.domain.errors import DuplicateOrderId, SunapError
from sunap.domain.money import require_amount, require_currency
from sunap.domain.subscription import is_charge_order_id

from .commands import CreatePayment
from .create_payment import RESERVED_ORDER_ID, create_payment
from .deps import Deps
from .ports.api_keys import ApiKeyStore
from .ports.consumed_messages import ConsumedMessages
from .ports.messaging import InboundMessage
from .strict_json import RefusedJson, loads_strict

log = logging.getLogger("sunap.orders")

SUBSCRIBER = "order-placed"
# What handling one message can come to (handle_order_placed).
ORDER_OUTCOMES = ("created", "duplicate", "rejected")
ORDER_ID = re.compile(r"^[A-Za-z0-9\-_=]{6,64}$")
CUSTOMER_KEY = re.compile(r"^[A-Za-z0-9\-_=.@]{2,300}$")


class MalformedOrder(Exception):
    pass


@dataclass(frozen=True)
class PlacedOrder:
    tenant: str
    order_id: str
    order_name: str
    amount: int
    currency: str
    customer_key: str | None
    event_id: str | None


def parse_order_placed(body: bytes) -> PlacedOrder:
    try:
        message = loads_strict(body)
    except RefusedJson as refused:
        raise MalformedOrder(str(refused)) from refused
    if not isinstance(message, dict):
        raise MalformedOrder("not a JSON object")
    event_id = message.get("id") if "specversion" in message else None
    data: Any = message.get("data") if "specversion" in message else message
    if not isinstance(data, dict):
        raise MalformedOrder("no order in the event")
    order_id, tenant, name = data.get("orderId"), data.get("tenant"), data.get("orderName")
    if not isinstance(order_id, str) or not ORDER_ID.fullmatch(order_id):
        raise MalformedOrder("orderId must be 6–64 of A-Z a-z 0-9 - _ =")
    if is_charge_order_id(order_id):
        raise MalformedOrder(RESERVED_ORDER_ID.format(order_id))
    if not isinstance(tenant, str) or not tenant:
        raise MalformedOrder("tenant is required")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise MalformedOrder("orderName must be 1–100 characters")
    customer_key = data.get("customerKey")
    if customer_key is not None and (
        not isinstance(customer_key, str) or not CUSTOMER_KEY.fullmatch(customer_key)
    ):
        raise MalformedOrder("customerKey must be 2–300 of A-Z a-z 0-9 - _ = . @")
    try:
        amount = require_amount(data.get("amount"))
        currency = require_currency(data.get("currency", "KRW"))
    except SunapError as error:
        raise MalformedOrder(error.message) from error
    return PlacedOrder(tenant, order_id, name, amount, currency, customer_key, event_id)


async def handle_order_placed(
    message: InboundMessage, deps: Deps, tenants: ApiKeyStore, consumed: ConsumedMessages
) -> str:
    """Create the order's payment; returns what happened ("created", "duplicate", "rejected")."""
    now = deps.clock.now()
    key = message.message_id or _body_key(message.body)
    try:
        order = parse_order_placed(message.body)
        tenant = await tenants.find_tenant(order.tenant)
        if tenant is None:
            raise MalformedOrder(f"unknown tenant {order.tenant!r}")
    except MalformedOrder as bad:
        log.warning("order.placed %s rejected: %s", key, bad)
        await consumed.first_time(SUBSCRIBER, key, "rejected", str(bad), now)
        return "rejected"
    command = CreatePayment(
        tenant_id=tenant.id,
        pg_account_id=tenant.pg_account_id,
        order_name=order.order_name,
        amount=order.amount,
        currency=order.currency,
        order_id=order.order_id,
        customer_key=order.customer_key,
    )
    try:
        await create_payment(command, deps)
    except DuplicateOrderId as taken:
        async with deps.uow() as uow:
            ours = await uow.payments.get_by_order_id(tenant.id, order.order_id)
        if ours is not None:
            return "duplicate"
        # Another tenant on the same PG account holds this orderId: not ours to pay.
        log.warning("order.placed %s rejected: %s", key, taken.message)
        await consumed.first_time(SUBSCRIBER, key, "rejected", taken.message, now)
        return "rejected"
    await consumed.first_time(SUBSCRIBER, f"{order.tenant}:{order.order_id}", "created", None, now)
    return "created"


def _body_key(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()
