"""`commerce.order.placed` → one READY payment per (tenant, orderId), however often and however
concurrently the event arrives; a malformed event is recorded and skipped."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from sunap.application.order_placed import handle_order_placed
from sunap.application.ports.messaging import InboundMessage
from tests.integration.orders.order_desk import OrderDesk, give_own_account, open_order_desk
from tests.support.databases import unique


async def handle(desk: OrderDesk, message: InboundMessage) -> str:
    return await handle_order_placed(message, desk.deps, desk.tenants, desk.consumed)


async def test_an_order_creates_a_ready_payment_with_its_created_event(desk: OrderDesk) -> None:
    order = desk.order(amount=32000, orderName="Tea set")

    assert await handle(desk, desk.message(order)) == "created"

    [payment] = await desk.payments_for(order["orderId"])
    assert payment["status"] == "READY"
    assert payment["amount"] == 32000 and payment["balance_amount"] == 32000
    assert payment["order_name"] == "Tea set"
    assert payment["customer_key"] == "cust-1"
    assert await desk.events_for(payment["id"]) == ["payment.created"]


async def test_an_order_delivered_five_times_creates_one_payment(desk: OrderDesk) -> None:
    order = desk.order()
    same_message = desk.message(order)

    outcomes = [await handle(desk, same_message) for _ in range(5)]

    assert outcomes == ["created"] + ["duplicate"] * 4
    [payment] = await desk.payments_for(order["orderId"])
    assert await desk.events_for(payment["id"]) == ["payment.created"]


async def test_ten_concurrent_deliveries_of_one_order_create_one_payment(desk: OrderDesk) -> None:
    order = desk.order()
    # Redelivered copies and copies re-sent upstream under new message ids, all at once.
    copies = [desk.message(order, message_id=f"evt-{n % 3}") for n in range(10)]

    outcomes = await asyncio.gather(*(handle(desk, copy) for copy in copies))

    assert sorted(outcomes) == ["created"] + ["duplicate"] * 9
    assert len(await desk.payments_for(order["orderId"])) == 1


async def test_bare_and_cloudevents_wrapped_orders_are_both_accepted(desk: OrderDesk) -> None:
    bare = desk.order()
    wrapped = desk.order()
    envelope = {
        "specversion": "1.0",
        "id": "evt-wrapped-1",
        "source": "shop",
        "type": "order.placed",
        "datacontenttype": "application/json",
        "data": wrapped,
    }

    assert await handle(desk, desk.message(bare)) == "created"
    assert await handle(desk, desk.message(envelope)) == "created"
    assert await handle(desk, desk.message(envelope, message_id="evt-wrapped-1")) == "duplicate"

    assert len(await desk.payments_for(bare["orderId"])) == 1
    assert len(await desk.payments_for(wrapped["orderId"])) == 1


async def test_an_order_id_another_tenant_holds_on_the_shared_account_is_rejected(
    desk: OrderDesk,
) -> None:
    other = await open_order_desk(desk.engine)
    order_id = desk.order()["orderId"]
    message = other.message(other.order(order_id), message_id=unique("evt"))

    assert await handle(desk, desk.message(desk.order(order_id))) == "created"
    assert await handle(other, message) == "rejected"

    assert len(await desk.payments_for(order_id)) == 1
    assert await other.payments_for(order_id) == []
    recorded = await other.recorded(message.message_id or "")
    assert recorded is not None and recorded["outcome"] == "rejected"


async def test_one_order_id_used_by_tenants_on_their_own_accounts_makes_two_payments(
    desk: OrderDesk,
) -> None:
    other = await open_order_desk(desk.engine)
    await give_own_account(other)
    order_id = desk.order()["orderId"]

    assert await handle(desk, desk.message(desk.order(order_id))) == "created"
    assert await handle(other, other.message(other.order(order_id))) == "created"

    assert len(await desk.payments_for(order_id)) == 1
    [theirs] = await other.payments_for(order_id)
    assert theirs["pg_account_id"] == other.tenant_id


MALFORMED = {
    "not JSON": b"{orderId: nope",
    "a JSON array": b"[1, 2]",
    "no orderId": {"orderId": None},
    "a too short orderId": {"orderId": "abc"},
    "a subscription charge's orderId": {"orderId": "sub_0192a3b4c5d6e7f8a9b0c1d2-p1-a1"},
    "a float amount": {"amount": 15000.0},
    "a string amount": {"amount": "15000"},
    "a boolean amount": {"amount": True},
    "a zero amount": {"amount": 0},
    "an amount beyond BIGINT": {"amount": 2**63},
    "an unknown currency": {"currency": "XYZ"},
    "no orderName": {"orderName": ""},
    "an unknown tenant": {"tenant": "no-such-shop-anywhere"},
    "an envelope without data": {"specversion": "1.0", "id": "evt-x"},
}


@pytest.mark.parametrize("flaw", sorted(MALFORMED))
async def test_a_malformed_order_is_recorded_and_skipped_and_the_next_one_goes_through(
    desk: OrderDesk, flaw: str
) -> None:
    spec = MALFORMED[flaw]
    body = spec if isinstance(spec, bytes) else json.dumps(_malformed(desk, spec)).encode()
    bad = desk.message(body)

    assert await handle(desk, bad) == "rejected"
    assert await handle(desk, bad) == "rejected"  # redelivered: still acknowledged

    assert bad.message_id is not None
    record = await desk.recorded(bad.message_id)
    assert record is not None and record["outcome"] == "rejected" and record["detail"]
    assert await desk.payment_count() == 0
    good = desk.order()
    assert await handle(desk, desk.message(good)) == "created"
    assert await desk.payment_count() == 1


def _malformed(desk: OrderDesk, spec: dict[str, object]) -> dict[str, object]:
    if "specversion" in spec:
        return spec
    order = desk.order()
    order.update(spec)
    return {k: v for k, v in order.items() if v is not None}


async def test_a_malformed_order_without_a_message_id_is_recorded_by_its_content(
    desk: OrderDesk,
) -> None:
    bad = InboundMessage("commerce.order.placed", b"not json at all", None)

    assert await handle(desk, bad) == "rejected"

    key = "sha256:" + hashlib.sha256(b"not json at all").hexdigest()
    record = await desk.recorded(key)
    assert record is not None and record["outcome"] == "rejected"
