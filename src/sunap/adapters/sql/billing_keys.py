"""SqlBillingKeyRepository: billing keys read and written inside one unit of work's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_

from sunap.application.ports.billing import BillingKeyPage, BillingQuery
from sunap.domain.billing_key import BillingKey, BillingKeyStatus
from sunap.domain.payment import CardDetails

from .aggregate_rows import Row, SqlAggregateRepository
from .direct import SqlConnection
from .tables import billing_keys


def billing_key_to_row(key: BillingKey) -> Row:
    card = key.card
    return {
        "id": key.id,
        "tenant_id": key.tenant_id,
        "pg_account_id": key.pg_account_id,
        "customer_key": key.customer_key,
        "method": key.method,
        "card_company": card.company if card else None,
        "card_number": card.number if card else None,
        "card_type": card.card_type if card else None,
        "card_owner_type": card.owner_type if card else None,
        "status": key.status.value,
        "credential_sealed": key.sealed_credential,
        "credential_digest": key.credential_digest,
        "created_at": key.created_at,
        "updated_at": key.updated_at,
        "deleted_at": key.deleted_at,
        "event_sequence": key.event_sequence,
    }


def billing_key_from_row(row: Mapping[str, Any]) -> BillingKey:
    has_card = any(row[c] is not None for c in ("card_company", "card_number", "card_type"))
    card = (
        CardDetails(
            company=row["card_company"],
            number=row["card_number"],
            card_type=row["card_type"],
            owner_type=row["card_owner_type"],
            installment_plan_months=None,
            approve_no=None,
        )
        if has_card
        else None
    )
    return BillingKey(
        id=row["id"],
        tenant_id=row["tenant_id"],
        pg_account_id=row["pg_account_id"],
        customer_key=row["customer_key"],
        method=row["method"],
        card=card,
        status=BillingKeyStatus(row["status"]),
        sealed_credential=bytes(row["credential_sealed"]),
        credential_digest=row["credential_digest"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
        version=row["version"],
        event_sequence=row["event_sequence"],
    )


class SqlBillingKeyRepository(SqlAggregateRepository[BillingKey]):
    def __init__(self, session: SqlConnection, *, row_locks: bool) -> None:
        super().__init__(
            session, billing_keys, billing_key_to_row, billing_key_from_row, row_locks=row_locks
        )

    async def get(
        self, tenant_id: str, key_id: str, *, for_update: bool = False
    ) -> BillingKey | None:
        c = billing_keys.c
        return await self.one(and_(c.tenant_id == tenant_id, c.id == key_id), for_update)

    async def get_any_tenant(self, key_id: str, *, for_update: bool = False) -> BillingKey | None:
        return await self.one(billing_keys.c.id == key_id, for_update)

    async def get_by_digest(
        self, pg_account_id: str, digest: str, *, for_update: bool = False
    ) -> BillingKey | None:
        c = billing_keys.c
        where = and_(c.pg_account_id == pg_account_id, c.credential_digest == digest)
        return await self.one(where, for_update)

    async def list(self, tenant_id: str, query: BillingQuery) -> BillingKeyPage:
        items, cursor = await self.page(tenant_id, query)
        return BillingKeyPage(items=items, next_cursor=cursor)
