"""The audit trail: one row per call to the PG, webhook and change of hands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..audit_kinds import AuditStatus, AuditType


@dataclass(frozen=True)
class AuditEntry:
    id: str
    tenant_id: str
    payment_id: str
    # Written as audit_kinds.py names them. Read back, a value with no member stays the stored
    # string: a pg./webhook. type, or whatever an older version wrote.
    type: AuditType | str
    status: AuditStatus | str
    request_data: dict[str, Any] | None
    response_data: dict[str, Any] | None
    processing_time_ms: int | None
    created_at: datetime


class AuditLog(Protocol):
    def add(self, entry: AuditEntry) -> None: ...

    async def list_for_payment(self, tenant_id: str, payment_id: str) -> list[AuditEntry]: ...
