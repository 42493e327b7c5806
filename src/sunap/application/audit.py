"""Audit rows for one payment: every PG call and every decision that touched it."""

from __future__ import annotations

from typing import Any

from sunap.domain.payment import Payment

from .audit_kinds import AuditStatus, AuditType, FamilyType, pg_call_type
from .deps import Deps
from .ports.audit import AuditEntry
from .ports.gateway import GatewayExchange, PgOperation
from .ports.unit_of_work import UnitOfWork


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
    uow.audit.add(
        AuditEntry(
            id=deps.ids.new_id("aud"),
            tenant_id=payment.tenant_id,
            payment_id=payment.id,
            type=type,
            status=status,
            request_data=request,
            response_data=response,
            processing_time_ms=processing_time_ms,
            created_at=deps.clock.now(),
        )
    )


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
    record(
        uow,
        deps,
        payment,
        pg_call_type(exchange.operation),
        AuditStatus.of(exchange.outcome),
        request={"method": exchange.method, "path": exchange.path, "body": exchange.request_data},
        response={
            "status": exchange.status_code,
            "body": exchange.response_data,
            "tossTraceId": exchange.trace_id,
        },
        processing_time_ms=exchange.processing_time_ms,
    )
