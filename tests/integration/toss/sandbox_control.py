"""The sandbox's control plane, as the Toss adapter's tests use it: the customer's side of the
payment window, injected faults, and the record of calls Toss received."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def new_order_id() -> str:
    return f"order-{uuid.uuid4().hex[:20]}"


class SandboxControl:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def reset(self) -> None:
        (await self._client.post("/sandbox/reset")).raise_for_status()

    async def pay_in_window(
        self,
        order_id: str,
        amount: int,
        method: str = "CARD",
        fail_with: str | None = None,
    ) -> str:
        """What the customer does in Toss's window; returns the paymentKey to confirm."""
        body: dict[str, Any] = {"orderId": order_id, "amount": amount, "method": method}
        if fail_with is not None:
            body["failWith"] = fail_with
        response = await self._client.post("/sandbox/payments", json=body)
        response.raise_for_status()
        payment_key: str = response.json()["paymentKey"]
        return payment_key

    async def register_card(self, customer_key: str) -> str:
        """Card registration in the billing window; returns the one-time authKey."""
        response = await self._client.post(
            "/sandbox/billing/auth", json={"customerKey": customer_key}
        )
        response.raise_for_status()
        auth_key: str = response.json()["authKey"]
        return auth_key

    async def add_fault(self, **spec: Any) -> None:
        response = await self._client.post("/sandbox/faults", json=spec)
        response.raise_for_status()

    async def clear_faults(self) -> None:
        (await self._client.delete("/sandbox/faults")).raise_for_status()

    async def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        response = await self._client.get("/sandbox/calls")
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return [item for item in items if path is None or item["path"] == path]
