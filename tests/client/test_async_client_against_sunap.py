"""The asyncio client against a real `sunap serve`: the same calls, awaited."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from sunap_client import AsyncSunapClient, NotFound
from tests.support.service import RunningService


async def test_the_async_client_creates_confirms_lists_and_cancels(
    service: RunningService, api_key: str, pay: Callable[..., str]
) -> None:
    customer = f"cust-{uuid.uuid4().hex[:12]}"
    async with AsyncSunapClient(service.base_url, api_key, timeout=120) as sunap:
        created = await asyncio.gather(
            *(sunap.payments.create(order_name="생수", amount=7000, customer_key=customer)
              for _ in range(3))
        )  # fmt: skip
        first = created[0]
        payment_key = await asyncio.to_thread(pay, first.order_id, 7000)
        paid = await sunap.payments.confirm(
            payment_key=payment_key, order_id=first.order_id, amount=7000
        )
        assert paid.status == "DONE"

        listed = [p.id async for p in sunap.payments.iterate(customer_key=customer, page_size=2)]
        assert sorted(listed) == sorted(p.id for p in created) and len(listed) == 3

        canceled = await sunap.payments.cancel(first.id, cancel_reason="changed my mind")
        assert (canceled.status, canceled.balance_amount) == ("CANCELED", 0)
        assert (await sunap.payments.get(first.id)).status == "CANCELED"
        assert len(await sunap.payments.transactions(first.id)) >= 2
        with pytest.raises(NotFound):
            await sunap.payments.get("pay_nobody_has_this")
