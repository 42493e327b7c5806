"""Create a payment for an order: READY, waiting for the customer."""

from __future__ import annotations

import secrets

from sunap.domain.errors import DuplicateOrderId, InvalidRequest, PaymentIdTaken
from sunap.domain.payment import Payment
from sunap.domain.subscription import is_charge_order_id

from . import audit
from .audit_kinds import AuditStatus, AuditType
from .commands import CreatePayment
from .deps import Deps
from .errors import IdempotencyKeyReused

# What a create asks for, as IdempotentCall.request_key names it: the same from either door.
REQUEST_SUBJECT = "create"


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


def payment_id_for(cmd: CreatePayment, deps: Deps) -> str:
    """A payment asked for with an Idempotency-Key is named after the request, so that the same
    request again finds it once its key let go of it (its answer was lost with the database);
    any other gets a fresh id. The name hashes the tenant's id with the key, so it tells a
    customer who sees it nothing of the key. A generated orderId stays random: the payment
    found by its id answers with its own, and Toss sees nothing derived from the key."""
    return f"pay_{cmd.request_key}" if cmd.request_key else deps.ids.new_id("pay")


async def create_payment(cmd: CreatePayment, deps: Deps) -> Payment:
    refuse_reserved_order_id(cmd.order_id)
    payment = Payment.create(
        id=payment_id_for(cmd, deps),
        tenant_id=cmd.tenant_id,
        pg_account_id=cmd.pg_account_id,
        order_id=cmd.order_id or new_order_id(),
        order_name=cmd.order_name,
        amount=cmd.amount,
        currency=cmd.currency,
        now=deps.clock.now(),
        method=cmd.method,
        customer_key=cmd.customer_key,
        metadata=cmd.metadata,
        success_url=cmd.success_url,
        fail_url=cmd.fail_url,
    )
    try:
        earlier = await _add_unless_made(payment, cmd, deps)
    except (PaymentIdTaken, DuplicateOrderId):
        if cmd.request_key is None:
            raise
        # The same request ran at once beside this one (its key's holder lapsed while it ran)
        # and made it first: answered with that payment too.
        earlier = await _made_before(cmd, payment.id, deps)
        if earlier is None:
            raise
    if earlier is None:
        return payment
    _require_same_payment(earlier, cmd)
    return earlier


async def _add_unless_made(payment: Payment, cmd: CreatePayment, deps: Deps) -> Payment | None:
    """Add `payment`, unless the request made it before its key let go of it (the answer lost
    with the database): that payment then, never a second one."""
    async with deps.uow() as uow:
        earlier = await uow.payments.get(cmd.tenant_id, payment.id) if cmd.request_key else None
        if earlier is not None:
            return earlier
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
    return None


async def _made_before(cmd: CreatePayment, payment_id: str, deps: Deps) -> Payment | None:
    async with deps.read_uow() as uow:
        return await uow.payments.get(cmd.tenant_id, payment_id)


def _require_same_payment(earlier: Payment, cmd: CreatePayment) -> None:
    """What the request asks for is what the payment it made was made with (an orderId only when
    the caller gave one: without, any orderId is the one asked for)."""
    asked = (
        cmd.order_id or earlier.order_id,
        cmd.order_name,
        cmd.amount,
        cmd.currency,
        cmd.method,
        cmd.customer_key,
        cmd.success_url,
        cmd.fail_url,
        cmd.metadata or None,
    )
    made = (
        earlier.order_id,
        earlier.order_name,
        earlier.amount,
        earlier.currency,
        earlier.method,
        earlier.customer_key,
        earlier.success_url,
        earlier.fail_url,
        earlier.metadata or None,
    )
    if asked != made:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another payment; use a new key for a new request."
        )
