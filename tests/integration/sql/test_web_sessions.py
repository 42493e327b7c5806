"""SqlWebSessionStore: sessions read with their key's tenant and current scopes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.api_keys import SqlApiKeyStore
from sunap.adapters.sql.tables import api_keys
from sunap.adapters.sql.web_sessions import SqlWebSessionStore
from sunap.application.web_sessions import NewWebSession
from tests.integration.sql.payments_factory import T0
from tests.support.databases import unique


async def a_key(engine: AsyncEngine, *scopes: str) -> tuple[str, str]:
    keys = SqlApiKeyStore(engine)
    name = unique("shop")
    tenant_id = await keys.ensure_tenant(name, unique("tnt"))
    key_id = unique("key")
    await keys.add_key(
        key_id=key_id, tenant_id=tenant_id, key_hash=unique("h"), scopes=frozenset(scopes), now=T0
    )
    return key_id, name


def new_session(key_id: str, minutes: int = 0) -> NewWebSession:
    at = T0 + timedelta(minutes=minutes)
    return NewWebSession(
        id=unique("s"),
        api_key_id=key_id,
        csrf_token=unique("c"),
        created_at=at,
        expires_at=at + timedelta(hours=12),
    )


async def test_a_session_is_read_with_its_tenant_and_its_keys_current_scopes(
    engine: AsyncEngine,
) -> None:
    key_id, name = await a_key(engine, "payments:read")
    store = SqlWebSessionStore(engine)
    session = new_session(key_id)
    await store.add(session)
    found = await store.find(session.id)
    assert found is not None
    assert (found.tenant_name, found.scopes, found.csrf_token) == (
        name,
        frozenset({"payments:read"}),
        session.csrf_token,
    )
    assert found.pg_account_id == "default"
    assert found.last_seen_at == T0 and found.expires_at == session.expires_at

    async with engine.begin() as conn:
        await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(scopes=["admin"]))
    again = await store.find(session.id)
    assert again is not None and again.scopes == frozenset({"admin"})


async def test_sessions_are_touched_removed_and_expired(engine: AsyncEngine) -> None:
    key_id, _ = await a_key(engine, "admin")
    store = SqlWebSessionStore(engine)
    idle, active, old = new_session(key_id), new_session(key_id), new_session(key_id, -60 * 12)
    for s in (idle, active, old):
        await store.add(s)
    await store.touch(active.id, T0 + timedelta(minutes=40))
    touched = await store.find(active.id)
    assert touched is not None and touched.last_seen_at == T0 + timedelta(minutes=40)

    now = T0 + timedelta(minutes=45)
    await store.remove_expired(now, now - timedelta(minutes=30))
    assert await store.find(idle.id) is None
    assert await store.find(old.id) is None
    assert await store.find(active.id) is not None
    await store.remove(active.id)
    assert await store.find(active.id) is None
