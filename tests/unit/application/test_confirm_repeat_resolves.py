"""Confirm rule 6 (docs/api.md, Confirm rules): after a timeout, "a repeated confirm call also resolves it"."""

from __future__ import annotations

import pytest

from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import PgTimeout
from sunap.domain.payment import PaymentStatus
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore


async def test_a_repeated_confirm_after_a_lost_answer_resolves_the_payment(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await create_payment(
        CreatePayment(
            tenant_id="t",
            pg_account_id="default",
            order_name="x",
            amount=15000,
            order_id="order-0001",
        ),
        deps,
    )
    key = toss.pay_in_window("order-0001", 15000)
    cmd = ConfirmPayment(tenant_id="t", payment_key=key, order_id="order-0001", amount=15000)
    toss.apply_then_fail("confirm")
    with pytest.raises(PgTimeout):
        await confirm_payment(cmd, deps)
    again = await confirm_payment(cmd, deps)  # the client retries, as docs/api.md invites it to
    assert again.status is PaymentStatus.DONE
    assert store.payment(payment.id).status is PaymentStatus.DONE
    assert len(toss.applied_of("confirm")) == 1
