"""SqlAuditLog: audit entries written in the unit of work's transaction, read oldest first."""

from __future__ import annotations

from sqlalchemy import select

from sunap.application.audit_kinds import AuditStatus, AuditType, read_back
from sunap.application.ports.audit import AuditEntry

from .direct import SqlConnection, insert_soon
from .tables import audit_entries


class SqlAuditLog:
    def __init__(self, session: SqlConnection) -> None:
        self._session = session
        self._pending: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        # The port's add() is synchronous: entries wait here until the next flush or commit.
        self._pending.append(entry)

    async def list_for_payment(self, tenant_id: str, payment_id: str) -> list[AuditEntry]:
        await self.flush()
        stmt = (
            select(audit_entries)
            .where(audit_entries.c.tenant_id == tenant_id, audit_entries.c.payment_id == payment_id)
            .order_by(audit_entries.c.seq)
        )
        return [
            AuditEntry(
                id=r["id"],
                tenant_id=r["tenant_id"],
                payment_id=r["payment_id"],
                type=read_back(AuditType, r["type"]),
                status=read_back(AuditStatus, r["status"]),
                request_data=r["request_data"],
                response_data=r["response_data"],
                processing_time_ms=r["processing_time_ms"],
                created_at=r["created_at"],
            )
            for r in (await self._session.execute(stmt)).mappings()
        ]

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        for entry in pending:  # one by one, so that seq follows the order of add()
            await insert_soon(
                self._session,
                audit_entries,
                dict(
                    id=entry.id,
                    tenant_id=entry.tenant_id,
                    payment_id=entry.payment_id,
                    type=entry.type,
                    status=entry.status,
                    request_data=entry.request_data,
                    response_data=entry.response_data,
                    processing_time_ms=entry.processing_time_ms,
                    created_at=entry.created_at,
                ),
            )

    def discard(self) -> None:
        self._pending.clear()
