"""Create a payment for an order: READY, waiting for the customer."""

from __future__ import annotations

import secrets

from sunap.domain.errors import InvalidRequest
from sunap.domain.payment import Payment
from sunap.domain.subscription import is_charge_order_id

from . import audit
from .audit_kinds import AuditStatus, AuditType
from .commands import CreatePayment
from .deps import Deps


def new_order_id() -> str:
    """A fresh orderId within Toss's rule (6–64 of A-Z a-z 0-9 - _ =)."""
    return f"order_{secrets.token_urlsafe(18).replace('-', '_')}"


RESERVED_ORDER_ID = (
    "orderId {} has the shape of a subscription charge's (sub_…-p…-a…), which only Sunap's "
    "billing gives; choose another."
)


def refuse_reserved_order_id(order_id: str | None) -> None:
    """A caller's orderId may not be one a subscription's charge will take: on a shared PG account
    another tenant could otherwise hold it first and stop that subscription's renewals."""
    if order_id is not None and is_charge_order_id(order_id):
        raise InvalidRequest(RESERVED_ORDER_ID.format(order_id))


async def create_payment(cmd: CreatePayment, deps: Deps) -> Payment:
    refuse_reserved_order_id(cmd.order_id)
    now = deps.clock.now()
    payment = Payment.create(
        id=deps.ids.new_id("pay"),
        tenant_id=cmd.tenant_id,
        pg_account_id=cmd.pg_account_id,
        order_id=cmd.order_id or new_order_id(),
        order_name=cmd.order_name,
        amount=cmd.amount,
        currency=cmd.currency,
        now=now,
        method=cmd.method,
        customer_key=cmd.customer_key,
        metadata=cmd.metadata,
        success_url=cmd.success_url,
        fail_url=cmd.fail_url,
    )
    async with deps.uow() as uow:
        uow.payments.add(payment)
        audit.record(
            uow,
            deps,
            payment,
            AuditType.PAYMENT_CREATED,
            AuditStatus.OK,
            request={"orderId": payment.order_id, "amount": payment.amount},
        )
        await uow.commit()  # DuplicateOrderId if the tenant or the account holds the orderId
    return payment
