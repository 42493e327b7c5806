"""SqlWebSessionStore: dashboard sessions, read together with their API key's tenant and scopes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT
from sunap.application.web_sessions import NewWebSession, WebSession

from .engine import reader
from .tables import api_keys, tenants, web_sessions


class SqlWebSessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = reader(engine)

    async def add(self, session: NewWebSession) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(web_sessions).values(
                    id=session.id,
                    api_key_id=session.api_key_id,
                    csrf_token=session.csrf_token,
                    created_at=session.created_at,
                    last_seen_at=session.created_at,
                    expires_at=session.expires_at,
                )
            )

    async def find(self, session_id: str) -> WebSession | None:
        stmt = (
            select(
                web_sessions,
                api_keys.c.tenant_id,
                api_keys.c.scopes,
                tenants.c.name.label("tenant_name"),
                tenants.c.pg_account_id,
            )
            .join(api_keys, api_keys.c.id == web_sessions.c.api_key_id)
            .join(tenants, tenants.c.id == api_keys.c.tenant_id)
            .where(web_sessions.c.id == session_id)
        )
        async with self._reader.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            return None
        return WebSession(
            id=row["id"],
            api_key_id=row["api_key_id"],
            tenant_id=row["tenant_id"],
            tenant_name=row["tenant_name"],
            pg_account_id=row["pg_account_id"] or DEFAULT_PG_ACCOUNT,
            scopes=frozenset(row["scopes"]),
            csrf_token=row["csrf_token"],
            created_at=row["created_at"],
            last_seen_at=row["last_seen_at"],
            expires_at=row["expires_at"],
        )

    async def touch(self, session_id: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(web_sessions).where(web_sessions.c.id == session_id).values(last_seen_at=now)
            )

    async def remove(self, session_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(web_sessions).where(web_sessions.c.id == session_id))

    async def remove_expired(self, now: datetime, idle_since: datetime) -> int:
        stmt = delete(web_sessions).where(
            or_(web_sessions.c.expires_at <= now, web_sessions.c.last_seen_at <= idle_since)
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount)
