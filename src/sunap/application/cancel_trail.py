"""What a payment's trail shows of its cancels' calls to the PG.

A cancel's calls all go out under its own Idempotency-Key: the first, each same-key resend of
the request and each replay by the reconciler. The cancel.requested row, committed before the
first call, names that key, and so does the row of every call that came back (audit.py). A
process that dies with the call at the PG (kill -9) leaves the cancel.requested row alone: the
PG may have refunded, and nothing says a call went out. Before the cancel is resolved (the
reconciler's replay, or the same request sent again), one cancel.answer_unrecorded row says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sunap.domain.payment import Cancel, CancelStatus, Payment

from . import audit
from .audit_kinds import AuditStatus, AuditType, pg_call_type
from .deps import Deps
from .ports.audit import AuditEntry
from .ports.gateway import PgOperation
from .ports.unit_of_work import UnitOfWork

# In a cancel's own rows (cancel.requested, cancel.answer_unrecorded), the Idempotency-Key its
# PG calls go out under; not the merchant's Idempotency-Key of the request that asked for it.
PG_IDEMPOTENCY_KEY = "pgIdempotencyKey"


def requested(cancel: Cancel) -> dict[str, Any]:
    """What the cancel.requested row says of the cancel it reserved."""
    return {
        "cancelId": cancel.id,
        "amount": cancel.amount,
        PG_IDEMPOTENCY_KEY: cancel.gateway_idempotency_key,
    }


async def note_unrecorded_cancel_calls(
    uow: UnitOfWork, deps: Deps, payment: Payment, cancels: Iterable[Cancel]
) -> None:
    """Before a pending cancel is sent again: if its call left no row since its cancel.requested
    row, say so, once. The process that sent it stopped before recording the answer, or,
    rarely, the answer is still on its way and its own row follows this one."""
    pending = [c for c in cancels if c.status is CancelStatus.PENDING]
    if not pending:
        return
    trail = await uow.audit.list_for_payment(payment.tenant_id, payment.id)
    for cancel in pending:
        if not _call_unrecorded(trail, cancel.gateway_idempotency_key):
            continue
        audit.record(
            uow,
            deps,
            payment,
            AuditType.CANCEL_ANSWER_UNRECORDED,
            AuditStatus.UNKNOWN,
            request={
                "cancelId": cancel.id,
                PG_IDEMPOTENCY_KEY: cancel.gateway_idempotency_key,
                "amount": cancel.amount,
            },
            response={
                "note": "The cancel call sent under this Idempotency-Key has no recorded "
                "answer: the process that sent it stopped before writing one, or, rarely, the "
                "answer is still on its way and its own row follows. The PG may have received "
                "the call and refunded; the rows that follow show what it made of it."
            },
        )


def _call_unrecorded(trail: Sequence[AuditEntry], key: str) -> bool:
    """Whether the trail has the cancel.requested row naming `key` and, since, no row of a call
    under it and no note. A cancel.requested row written before keys were named names none:
    nothing is said then. A call row naming no key (its call gave no record) may be this
    cancel's: nothing is said then either."""
    named = [
        n
        for n, entry in enumerate(trail)
        if entry.type == AuditType.CANCEL_REQUESTED
        and (entry.response_data or {}).get(PG_IDEMPOTENCY_KEY) == key
    ]
    if not named:
        return False
    own_call = pg_call_type(PgOperation.CANCEL)
    for entry in trail[named[-1] + 1 :]:
        if (
            entry.type == own_call
            and (entry.request_data or {}).get(audit.IDEMPOTENCY_KEY, key) == key
        ):
            return False
        if (
            entry.type == AuditType.CANCEL_ANSWER_UNRECORDED
            and (entry.request_data or {}).get(PG_IDEMPOTENCY_KEY) == key
        ):
            return False
    return True
