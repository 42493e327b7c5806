"""Read-only use cases: one payment, a page of payments, a payment's audit trail."""

from __future__ import annotations

from sunap.domain.errors import PaymentNotFound
from sunap.domain.payment import Payment

from .deps import Deps
from .ports.audit import AuditEntry
from .ports.payments import PaymentPage, PaymentQuery


async def get_payment(tenant_id: str, payment_id: str, deps: Deps) -> Payment:
    async with deps.read_uow() as uow:
        payment = await uow.payments.get(tenant_id, payment_id)
    if payment is None:
        raise PaymentNotFound()
    return payment


async def list_payments(tenant_id: str, query: PaymentQuery, deps: Deps) -> PaymentPage:
    async with deps.read_uow() as uow:
        return await uow.payments.list(tenant_id, query)


async def payment_transactions(tenant_id: str, payment_id: str, deps: Deps) -> list[AuditEntry]:
    async with deps.read_uow() as uow:
        if await uow.payments.get(tenant_id, payment_id) is None:
            raise PaymentNotFound()
        return await uow.audit.list_for_payment(tenant_id, payment_id)
