"""Resolve the review of a flagged payment: a person looked, settled it, and says how."""

from __future__ import annotations

from sunap.domain.errors import PaymentNotFound
from sunap.domain.payment import Payment

from . import audit
from .audit_kinds import AuditStatus, AuditType
from .commands import ResolveReview
from .deps import Deps
from .errors import ConcurrentUpdate, StaleAggregate


async def resolve_review(cmd: ResolveReview, deps: Deps) -> Payment:
    async with deps.uow() as uow:
        payment = await uow.payments.get(cmd.tenant_id, cmd.payment_id, for_update=True)
        if payment is None:
            raise PaymentNotFound()
        note = cmd.note.strip()
        reason = payment.resolve_review(note, deps.clock.now())
        audit.record(
            uow,
            deps,
            payment,
            AuditType.REVIEW_RESOLVED,
            AuditStatus.OK,
            request={"note": note, "resolvedBy": cmd.resolved_by},
            response={"reviewReason": reason},
        )
        try:
            await uow.commit()
        except StaleAggregate as conflict:
            raise ConcurrentUpdate("The payment changed meanwhile; look again.") from conflict
        return payment
