"""SqlPgAccountStore: tenants' own Toss accounts, their secrets sealed."""

from __future__ import annotations

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.application.pg_accounts import (
    DEFAULT_PG_ACCOUNT,
    QUARANTINED,
    SealedPgAccount,
    TenantAccount,
)

from .engine import reader
from .tables import pg_accounts, tenants


class SqlPgAccountStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = reader(engine)

    async def get(self, account_id: str) -> SealedPgAccount | None:
        async with self._reader.connect() as conn:
            row = (
                (await conn.execute(select(pg_accounts).where(pg_accounts.c.id == account_id)))
                .mappings()
                .first()
            )
        return None if row is None else _sealed(row)

    async def own_accounts(self) -> list[SealedPgAccount]:
        async with self._reader.connect() as conn:
            rows = (await conn.execute(select(pg_accounts))).mappings().all()
        return [_sealed(row) for row in rows if not str(row["id"]).startswith(QUARANTINED)]

    async def give_tenant_own_account(self, tenant_id: str, account: SealedPgAccount) -> None:
        values = {
            "secret_key_sealed": account.secret_key_sealed,
            "client_key": account.client_key,
            "webhook_secret_sealed": account.webhook_secret_sealed,
            "updated_at": account.updated_at,
        }
        async with self._engine.begin() as conn:
            changed = await conn.execute(
                update(pg_accounts).where(pg_accounts.c.id == account.id).values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(
                    pg_accounts.insert().values(
                        id=account.id, created_at=account.created_at, **values
                    )
                )
            await conn.execute(
                update(tenants).where(tenants.c.id == tenant_id).values(pg_account_id=account.id)
            )

    async def tenants(self) -> list[TenantAccount]:
        stmt = (
            select(
                tenants.c.id,
                tenants.c.name,
                tenants.c.pg_account_id,
                pg_accounts.c.client_key,
                pg_accounts.c.webhook_secret_sealed.is_not(None).label("has_webhook_secret"),
                pg_accounts.c.updated_at,
            )
            .select_from(
                tenants.outerjoin(pg_accounts, pg_accounts.c.id == tenants.c.pg_account_id)
            )
            .order_by(tenants.c.name)
        )
        async with self._reader.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            TenantAccount(
                tenant_id=r["id"],
                tenant_name=r["name"],
                pg_account_id=r["pg_account_id"] or DEFAULT_PG_ACCOUNT,
                client_key=r["client_key"],
                has_webhook_secret=bool(r["has_webhook_secret"]),
                updated_at=r["updated_at"],
            )
            for r in rows
        ]

    async def own_account_of(self, tenant_name: str) -> str | None:
        async with self._reader.connect() as conn:
            found = await conn.scalar(
                select(tenants.c.pg_account_id).where(tenants.c.name == tenant_name)
            )
        return None if found is None else str(found)

    async def tenant_of_account(self, account_id: str) -> str | None:
        async with self._reader.connect() as conn:
            found = await conn.scalar(
                select(tenants.c.name).where(tenants.c.pg_account_id == account_id).limit(1)
            )
        return None if found is None else str(found)


def _sealed(row: RowMapping) -> SealedPgAccount:
    return SealedPgAccount(
        id=row["id"],
        secret_key_sealed=bytes(row["secret_key_sealed"]),
        client_key=row["client_key"],
        webhook_secret_sealed=bytes(row["webhook_secret_sealed"])
        if row["webhook_secret_sealed"] is not None
        else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
