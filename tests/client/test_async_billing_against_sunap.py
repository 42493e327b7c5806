"""The asyncio client's billing calls against a real `sunap serve`: the same calls, awaited."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from sunap_client import AsyncSunapClient, NotFound
from tests.support.service import RunningService


async def test_the_async_client_registers_charges_and_runs_a_subscription(
    service: RunningService, billing_api_key: str, register_card: Callable[[str], str]
) -> None:
    buyer = f"cust-{uuid.uuid4().hex[:12]}"
    auth_key = await asyncio.to_thread(register_card, buyer)
    async with AsyncSunapClient(service.base_url, billing_api_key, timeout=120) as sunap:
        key = await sunap.billing_keys.issue(auth_key=auth_key, customer_key=buyer)
        assert (await sunap.billing_keys.get(key.id)) == key
        assert [k.id async for k in sunap.billing_keys.iterate(customer_key=buyer)] == [key.id]
        paid = await sunap.billing_keys.charge(key.id, order_name="추가 저장공간", amount=3300)
        assert (paid.status, paid.billing_key_id) == ("DONE", key.id)

        subs = await asyncio.gather(
            *(sunap.subscriptions.create(
                customer_key=buyer, billing_key_id=key.id, plan=f"plan {n}",
                order_name="베이직 플랜", amount=9900, interval="week", interval_count=2)
              for n in range(3))
        )  # fmt: skip
        assert {s.status for s in subs} == {"ACTIVE"}
        listed = [s.id async for s in sunap.subscriptions.iterate(customer_key=buyer, page_size=2)]
        assert sorted(listed) == sorted(s.id for s in subs) and len(listed) == 3

        first = subs[0]
        assert (await sunap.subscriptions.change(first.id, amount=4900)).amount == 4900
        assert (await sunap.subscriptions.pause(first.id)).status == "PAUSED"
        assert (await sunap.subscriptions.resume(first.id)).status == "ACTIVE"
        charges = [p.amount async for p in sunap.subscriptions.iterate_payments(first.id)]
        assert charges == [4900, 9900]
        assert (await sunap.subscriptions.payments(first.id, limit=1)).next_cursor is not None
        canceled = await sunap.subscriptions.cancel(first.id, at_period_end=False)
        assert canceled.status == "CANCELED"

        deleted = await sunap.billing_keys.delete(key.id)
        assert deleted.status == "DELETED"
        for sub in subs[1:]:  # a deleted key's live subscriptions end with it
            ended = await sunap.subscriptions.get(sub.id)
            assert (ended.status, ended.cancel_reason) == ("CANCELED", "BILLING_KEY_DELETED")
        with pytest.raises(NotFound) as missing:
            await sunap.subscriptions.get("sub_nobody_has_this")
        assert missing.value.code == "SUBSCRIPTION_NOT_FOUND"
