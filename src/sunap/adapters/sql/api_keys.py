"""SqlApiKeyStore: tenants and the hashes of their API keys (the keys themselves are never stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.application.authentication import key_fingerprint
from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT
from sunap.application.ports.api_keys import ApiKeyRecord, TenantRef

from . import direct
from .engine import reader
from .tables import api_keys, tenants, web_sessions


@dataclass(frozen=True)
class ApiKeyListing:
    """What an operator may see of a key: never the key, never its whole hash; its fingerprint
    (the hash's first characters) tells which row a leaked key is."""

    key_id: str
    fingerprint: str
    tenant_name: str
    scopes: tuple[str, ...]
    created_at: datetime


class SqlApiKeyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = reader(engine)

    async def ensure_tenant(self, name: str, new_id: str) -> str:
        existing = await self.tenant_id_by_name(name)
        if existing is not None:
            return existing
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(tenants).values(id=new_id, name=name))
            return new_id
        except IntegrityError:  # created by someone else just now
            existing = await self.tenant_id_by_name(name)
            if existing is None:
                raise
            return existing

    async def add_key(
        self, *, key_id: str, tenant_id: str, key_hash: str, scopes: frozenset[str], now: datetime
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    tenant_id=tenant_id,
                    key_hash=key_hash,
                    scopes=sorted(scopes),
                    created_at=now,
                )
            )

    async def find_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        async with direct.connect(self._reader, single=True) as conn:
            row = (await conn.execute(_BY_HASH, {"key_hash": key_hash})).mappings().first()
        if row is None:
            return None
        return ApiKeyRecord(
            key_id=row["id"],
            tenant_id=row["tenant_id"],
            tenant_name=row["name"],
            scopes=frozenset(row["scopes"]),
        )

    async def account_of(self, tenant_id: str) -> str:
        async with direct.connect(self._reader, single=True) as conn:
            found = await conn.scalar(_ACCOUNT_OF, {"tenant_id": tenant_id})
        return str(found) if found is not None else DEFAULT_PG_ACCOUNT

    async def find_tenant(self, name: str) -> TenantRef | None:
        stmt = select(tenants.c.id, tenants.c.pg_account_id).where(tenants.c.name == name)
        async with self._reader.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return TenantRef(id=row.id, pg_account_id=row.pg_account_id or DEFAULT_PG_ACCOUNT)

    async def tenant_id_by_name(self, name: str) -> str | None:
        async with self._reader.connect() as conn:
            found = await conn.scalar(select(tenants.c.id).where(tenants.c.name == name))
        return None if found is None else str(found)

    async def revoke(self, key_id: str) -> bool:
        """Delete the key and the dashboard sessions signed in with it; False if there is no
        such key. Processes that remembered it stop taking it within REMEMBER_SECONDS."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(web_sessions).where(web_sessions.c.api_key_id == key_id))
            deleted = await conn.execute(delete(api_keys).where(api_keys.c.id == key_id))
        return bool(deleted.rowcount)

    async def listing(self, tenant_name: str | None = None) -> list[ApiKeyListing]:
        """Every key (or one tenant's), by tenant then oldest first."""
        stmt = (
            select(
                api_keys.c.id,
                api_keys.c.key_hash,
                api_keys.c.scopes,
                api_keys.c.created_at,
                tenants.c.name,
            )
            .join(tenants, tenants.c.id == api_keys.c.tenant_id)
            .order_by(tenants.c.name, api_keys.c.created_at, api_keys.c.id)
        )
        if tenant_name is not None:
            stmt = stmt.where(tenants.c.name == tenant_name)
        async with self._reader.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            ApiKeyListing(
                key_id=r["id"],
                fingerprint=key_fingerprint(r["key_hash"]),
                tenant_name=r["name"],
                scopes=tuple(sorted(r["scopes"])),
                created_at=r["created_at"],
            )
            for r in rows
        ]


# Built once, as every request runs it: SQLAlchemy then reuses its cache key and compiled form.
_BY_HASH = (
    select(
        api_keys.c.id,
        api_keys.c.tenant_id,
        api_keys.c.scopes,
        tenants.c.name,
    )
    .join(tenants, tenants.c.id == api_keys.c.tenant_id)
    .where(api_keys.c.key_hash == bindparam("key_hash"))
)
_ACCOUNT_OF = select(tenants.c.pg_account_id).where(tenants.c.id == bindparam("tenant_id"))
