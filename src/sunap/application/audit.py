"""Audit rows for one payment (every PG call and every decision that touched it), and for a
billing key or subscription (every change of it), kept under the subject's id."""

from __future__ import annotations

from typing import Any

from sunap.domain.payment import Payment
from sunap.domain.subscription import Subscription

from .audit_kinds import AuditStatus, AuditType, FamilyType, pg_call_type
from .deps import Deps
from .ports.audit import AuditEntry
from .ports.gateway import GatewayExchange, PgOperation
from .ports.unit_of_work import UnitOfWork

# In a PG call's row, the Idempotency-Key the call went out under: a replay under the same key
# is the same request to the PG, and the key is how the PG's own records name it.
IDEMPOTENCY_KEY = "idempotencyKey"


def record(
    uow: UnitOfWork,
    deps: Deps,
    payment: Payment,
    type: AuditType | FamilyType,
    status: AuditStatus,
    *,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    processing_time_ms: int | None = None,
) -> None:
    _add(
        uow,
        deps,
        payment.tenant_id,
        payment.id,
        type,
        status,
        request,
        response,
        processing_time_ms,
    )


def record_subject(
    uow: UnitOfWork,
    deps: Deps,
    tenant_id: str,
    subject_id: str,
    type: AuditType | FamilyType,
    status: AuditStatus,
    *,
    response: dict[str, Any] | None = None,
) -> None:
    """An audit row about a billing key or subscription (kept under its id): never a credential."""
    _add(uow, deps, tenant_id, subject_id, type, status, None, response, None)


def _add(
    uow: UnitOfWork,
    deps: Deps,
    tenant_id: str,
    subject_id: str,
    type: AuditType | FamilyType,
    status: AuditStatus,
    request: dict[str, Any] | None,
    response: dict[str, Any] | None,
    processing_time_ms: int | None,
) -> None:
    uow.audit.add(
        AuditEntry(
            id=deps.ids.new_id("aud"),
            tenant_id=tenant_id,
            payment_id=subject_id,  # the column names a payment; billing subjects share it
            type=type,
            status=status,
            request_data=request,
            response_data=response,
            processing_time_ms=processing_time_ms,
            created_at=deps.clock.now(),
        )
    )


def record_subscription_change(
    uow: UnitOfWork,
    deps: Deps,
    sub: Subscription,
    type: AuditType,
    status: AuditStatus = AuditStatus.OK,
    *,
    payment_id: str | None = None,
) -> None:
    """A change no merchant's call made (a charge's answer, a deleted billing key): what the
    subscription became, and the payment that made it so."""
    outcome = {
        "status": sub.status.value,
        "paymentId": payment_id,
        "failedAttempts": sub.failed_attempts,
        "cancelReason": sub.cancel_reason,
    }
    record_subject(uow, deps, sub.tenant_id, sub.id, type, status, response=outcome)


def record_exchange(
    uow: UnitOfWork,
    deps: Deps,
    payment: Payment,
    exchange: GatewayExchange | None,
    fallback: PgOperation,
) -> None:
    """One PG call as it happened, a row for each attempt it made; `fallback` names it when the
    adapter gave no exchange."""
    if exchange is None:
        record(uow, deps, payment, pg_call_type(fallback), AuditStatus.UNKNOWN)
        return
    for attempt in exchange.earlier:
        record_exchange(uow, deps, payment, attempt, fallback)
    request: dict[str, Any] = {
        "method": exchange.method,
        "path": exchange.path,
        "body": exchange.request_data,
    }
    if exchange.idempotency_key is not None:  # a write: the key the PG knows the call by
        request[IDEMPOTENCY_KEY] = exchange.idempotency_key
    record(
        uow,
        deps,
        payment,
        pg_call_type(exchange.operation),
        AuditStatus.of(exchange.outcome),
        request=request,
        response={
            "status": exchange.status_code,
            "body": exchange.response_data,
            "tossTraceId": exchange.trace_id,
        },
        processing_time_ms=exchange.processing_time_ms,
    )
