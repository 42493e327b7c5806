"""A cancel whose process dies with its call at Toss, on each real database, with Sunap's Toss
client talking to the sandbox over HTTP: the reconciler settles it by a replay under the
cancel's own key, and every cancel request Toss received is in the payment's trail under the
key it came with, the dead call noted before the replay (docs/reliability.md, Crash points).
tests/e2e/test_crash_points.py kills a real `sunap serve` the same way."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.toss import RetryPolicy
from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.ports.audit import AuditEntry
from sunap.application.reconcile import ReconcileOutcome, reconcile_payment
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.support.sandbox_fixtures import deps_on_sandbox

TENANT = "tenant_killed"
T = TypeVar("T")


@pytest.fixture
def clock() -> FakeClock:
    """Sunap's time, moved by the test: the dead process's hold on the cancel turn and the
    reconciler's first delay pass at once. Toss's sandbox keeps its own."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
async def deps(
    fresh_engine: AsyncEngine, sandbox_url: str, clock: FakeClock
) -> AsyncIterator[Deps]:
    never = RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.02, max_elapsed=5.0)
    async with deps_on_sandbox(fresh_engine, sandbox_url, clock=clock, retry_policy=never) as d:
        yield d


async def paid(deps: Deps, toss: httpx.AsyncClient, amount: int) -> Payment:
    order_id = f"order-{uuid.uuid4().hex[:16]}"
    await create_payment(CreatePayment(TENANT, "default", "책", amount, order_id=order_id), deps)
    window = await toss.post("/sandbox/payments", json={"orderId": order_id, "amount": amount})
    key = window.json()["paymentKey"]
    payment = await confirm_payment(ConfirmPayment(TENANT, key, order_id, amount), deps)
    assert payment.status is PaymentStatus.DONE
    return payment


async def eventually(check: Callable[[], Awaitable[T | None]], tries: int = 200) -> T:
    """What `check` finds once it finds something (the sandbox works on its own time)."""
    for _ in range(tries):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("never came")


async def toss_balance(toss: httpx.AsyncClient, payment: Payment) -> int:
    view = (await toss.get(f"/v1/payments/{payment.payment_key}")).json()
    return int(view["balanceAmount"])


async def cancel_calls(toss: httpx.AsyncClient, payment: Payment) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = (await toss.get("/sandbox/calls")).json()["items"]
    return [c for c in calls if c["path"] == f"/v1/payments/{payment.payment_key}/cancel"]


def key_of(entry: AuditEntry) -> str | None:
    if entry.type == "cancel.requested":
        return (entry.response_data or {}).get("pgIdempotencyKey")
    if entry.type == "cancel.answer_unrecorded":
        return (entry.request_data or {}).get("pgIdempotencyKey")
    return (entry.request_data or {}).get("idempotencyKey")


async def test_a_cancel_killed_with_its_call_at_toss_is_in_the_trail_and_refunds_once(
    deps: Deps, toss: httpx.AsyncClient, clock: FakeClock
) -> None:
    payment = await paid(deps, toss, 10000)
    # Toss refunds at once and holds its answer: the process dies before it comes.
    fault = {"path": "/v1/payments/*/cancel", "delayMs": 1500, "afterApply": True}
    (await toss.post("/sandbox/faults", json=fault)).raise_for_status()
    process = asyncio.create_task(
        cancel_payment(CancelPayment(TENANT, payment.id, "고객 변심", amount=4000), deps)
    )
    await eventually(lambda: _refunded(toss, payment, 6000))
    process.cancel()  # kill -9: nothing more is written
    with contextlib.suppress(asyncio.CancelledError):
        await process
    await eventually(lambda: cancel_calls(toss, payment))  # Toss logged the call it answered

    clock.advance(seconds=60)
    assert await reconcile_payment(payment.id, deps) is ReconcileOutcome.SETTLED

    async with deps.uow() as uow:
        settled = await uow.payments.get(TENANT, payment.id)
        trail = await uow.audit.list_for_payment(TENANT, payment.id)
    assert settled is not None
    assert (settled.status, settled.balance_amount, settled.pending_cancel_amount) == (
        PaymentStatus.PARTIAL_CANCELED,
        6000,
        0,
    )
    assert await toss_balance(toss, payment) == 6000  # one refund: the replay ran nothing new
    sent = {c["idempotencyKey"] for c in await cancel_calls(toss, payment)}
    assert len(sent) == 1
    types = [str(e.type) for e in trail]
    requested = types.index("cancel.requested")
    assert key_of(trail[requested]) in sent
    [note] = [n for n, t in enumerate(types) if t == "cancel.answer_unrecorded"]
    assert (str(trail[note].status), key_of(trail[note])) == ("unknown", *sent)
    replays = [n for n, t in enumerate(types) if t == "pg.cancel"]
    assert replays and all(requested < note < n for n in replays), types
    assert {key_of(trail[n]) for n in replays} == sent
    assert note < types.index("reconcile.settled")


async def _refunded(toss: httpx.AsyncClient, payment: Payment, balance: int) -> bool:
    return await toss_balance(toss, payment) == balance
