"""A refund made in Toss's console that Sunap has not heard of (no webhook yet), then a cancel
asked of Sunap: on each real database, with the Toss client talking to the sandbox over HTTP.

A full cancel is sent without an amount, so Toss cancels what it has left, which is less than
Sunap believes; a partial cancel above what Toss has left is refused. Either way Sunap's books
must afterwards be Toss's: its balance, its cancels (the console's booked as made elsewhere),
and its events, one per Toss cancel in Toss's order; no refund amount is ever assumed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.tables import outbox
from sunap.adapters.toss import RetryPolicy
from sunap.application.cancel_payment import cancel_payment
from sunap.application.cancel_turns import CANCEL_SPACING
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import PaymentRejected, PgUnavailable
from sunap.application.reconcile import ReconcileOutcome, reconcile_payment
from sunap.domain.payment import CancelStatus, Payment, PaymentStatus
from tests.support.sandbox_fixtures import deps_on_sandbox

TENANT = "tenant_console"
CANCEL_PATH = "/v1/payments/*/cancel"


@pytest.fixture
async def deps(fresh_engine: AsyncEngine, sandbox_url: str) -> AsyncIterator[Deps]:
    # One attempt per call: a lost answer stays lost (a retry would get it from Toss's key).
    retries = RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.02, max_elapsed=5.0)
    async with deps_on_sandbox(fresh_engine, sandbox_url, retry_policy=retries) as deps:
        yield deps


async def paid(deps: Deps, toss: httpx.AsyncClient, amount: int) -> Payment:
    order_id = f"order-{uuid.uuid4().hex[:16]}"
    await create_payment(CreatePayment(TENANT, "default", "책", amount, order_id=order_id), deps)
    window = await toss.post("/sandbox/payments", json={"orderId": order_id, "amount": amount})
    key = window.json()["paymentKey"]
    payment = await confirm_payment(ConfirmPayment(TENANT, key, order_id, amount), deps)
    assert payment.status is PaymentStatus.DONE
    return payment


async def refund_in_console(toss: httpx.AsyncClient, payment: Payment, amount: int) -> None:
    """A person refunds part of the payment in Toss's console: nobody tells Sunap."""
    answer = await toss.post(
        f"/v1/payments/{payment.payment_key}/cancel",
        json={"cancelReason": "콘솔 환불", "cancelAmount": amount},
        headers={"Idempotency-Key": f"console-{uuid.uuid4().hex}"},
    )
    assert answer.status_code == 200, answer.text


async def toss_view(toss: httpx.AsyncClient, payment: Payment) -> dict[str, Any]:
    answer = await toss.get(f"/v1/payments/{payment.payment_key}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def stored(deps: Deps, payment: Payment) -> Payment:
    async with deps.uow() as uow:
        found = await uow.payments.get(TENANT, payment.id)
    assert found is not None
    return found


async def cancel_events(engine: AsyncEngine, payment: Payment) -> list[tuple[str, int]]:
    """(type, balanceAmount the event left) of each cancel event, in the order written."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(outbox.c.type, outbox.c.payload)
            .where(outbox.c.aggregateid == payment.id)
            .order_by(outbox.c.seq)
        )
    return [
        (kind, int(payload["data"]["balanceAmount"]))
        for kind, payload in rows
        if "canceled" in kind
    ]


async def trail(deps: Deps, payment: Payment) -> list[str]:
    async with deps.uow() as uow:
        entries = await uow.audit.list_for_payment(TENANT, payment.id)
    return [entry.type for entry in entries]


def books_of(payment: Payment) -> list[tuple[int, str | None]]:
    return [(c.amount, c.transaction_key) for c in payment.cancels if c.status is CancelStatus.DONE]


def tosss_books(view: dict[str, Any]) -> list[tuple[int, str | None]]:
    return [(c["cancelAmount"], c["transactionKey"]) for c in view["cancels"]]


def tosss_events(view: dict[str, Any]) -> list[tuple[str, int]]:
    """The event Sunap owes for each of Toss's cancels, in Toss's order."""
    return [
        (
            "payment.canceled" if c["refundableAmount"] == 0 else "payment.partially_canceled",
            c["refundableAmount"],
        )
        for c in view["cancels"]
    ]


async def assert_books_agree(
    deps: Deps, engine: AsyncEngine, toss: httpx.AsyncClient, payment: Payment
) -> Payment:
    view = await toss_view(toss, payment)
    after = await stored(deps, payment)
    assert after.balance_amount == view["balanceAmount"]
    assert after.pending_cancel_amount == 0
    assert sorted(books_of(after)) == sorted(tosss_books(view))
    assert await cancel_events(engine, payment) == tosss_events(view)
    assert (await trail(deps, payment)).count("cancel.external") == 1  # the console's refund
    return after


async def test_a_full_cancel_books_what_toss_refunded_and_the_consoles_refund(
    deps: Deps, toss: httpx.AsyncClient, fresh_engine: AsyncEngine
) -> None:
    payment = await paid(deps, toss, 10000)
    await refund_in_console(toss, payment, 3000)

    answer = await cancel_payment(
        CancelPayment(TENANT, payment.id, "고객 변심", request_key="full-1"), deps
    )

    assert (answer.status, answer.balance_amount) == (PaymentStatus.CANCELED, 0)
    ours = answer.find_cancel("cxl_full-1")
    assert ours is not None and (ours.amount, ours.status) == (7000, CancelStatus.DONE)
    after = await assert_books_agree(deps, fresh_engine, toss, payment)
    assert after.status is PaymentStatus.CANCELED


async def test_a_full_cancel_whose_answer_was_lost_books_what_toss_refunded_when_sent_again(
    deps: Deps, toss: httpx.AsyncClient, fresh_engine: AsyncEngine
) -> None:
    """Toss ran the full cancel (7,000: all it had left) but its answer never came back; the
    merchant sends the request again, and Toss's answer to the same key names the refund."""
    payment = await paid(deps, toss, 10000)
    await refund_in_console(toss, payment, 3000)
    fault = {"path": CANCEL_PATH, "status": 500, "afterApply": True, "times": 1}
    (await toss.post("/sandbox/faults", json=fault)).raise_for_status()
    request = CancelPayment(TENANT, payment.id, "고객 변심", request_key="full-2")
    with pytest.raises(PgUnavailable):
        await cancel_payment(request, deps)
    (await toss.delete("/sandbox/faults")).raise_for_status()

    answer = await cancel_payment(request, deps)

    ours = answer.find_cancel("cxl_full-2")
    assert ours is not None and (ours.amount, ours.status) == (7000, CancelStatus.DONE)
    await assert_books_agree(deps, fresh_engine, toss, payment)


async def test_a_partial_cancel_above_what_toss_has_left_is_refused_and_learns_the_console(
    deps: Deps, toss: httpx.AsyncClient, fresh_engine: AsyncEngine
) -> None:
    payment = await paid(deps, toss, 10000)
    await refund_in_console(toss, payment, 3000)

    with pytest.raises(PaymentRejected) as refused:
        await cancel_payment(CancelPayment(TENANT, payment.id, "부분 환불", amount=8000), deps)

    assert refused.value.pg_code == "NOT_CANCELABLE_AMOUNT"
    told = refused.value.payment
    assert (told.status, told.balance_amount) == (PaymentStatus.PARTIAL_CANCELED, 7000)
    after = await assert_books_agree(deps, fresh_engine, toss, payment)
    assert [(c.amount, c.status) for c in after.cancels if c.status is CancelStatus.FAILED] == [
        (8000, CancelStatus.FAILED)
    ]


async def test_a_console_refund_after_two_lost_cancels_of_its_amount_is_booked_by_the_reconciler(
    deps: Deps, toss: httpx.AsyncClient, fresh_engine: AsyncEngine
) -> None:
    """Two partial cancels of 3,000 ran at Toss with their answers lost; then 3,000 was refunded
    in Toss's console. The reconciler's replays are answered with each key's first answer,
    which predates the console's refund: Sunap's books must still end as Toss's, the console's
    refund included (no webhook would book it: it cannot tell which 3,000 is whose)."""
    deps = replace(deps, reconcile_delays=(timedelta(0), timedelta(minutes=5)))
    payment = await paid(deps, toss, 10000)
    fault = {"path": CANCEL_PATH, "status": 500, "afterApply": True, "times": 2}
    (await toss.post("/sandbox/faults", json=fault)).raise_for_status()
    for n in range(2):
        with pytest.raises(PgUnavailable):
            await cancel_payment(
                CancelPayment(TENANT, payment.id, "부분 환불", amount=3000, request_key=f"p-{n}"),
                deps,
            )
    (await toss.delete("/sandbox/faults")).raise_for_status()
    await refund_in_console(toss, payment, 3000)
    await asyncio.sleep(CANCEL_SPACING.total_seconds())  # the last cancel's turn, let go

    assert await reconcile_payment(payment.id, deps) is ReconcileOutcome.SETTLED

    after = await assert_books_agree(deps, fresh_engine, toss, payment)
    assert after.balance_amount == 1000
