"""SqlApiKeyStore and SqlConsumedMessages."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.api_keys import SqlApiKeyStore
from sunap.adapters.sql.consumed_messages import SqlConsumedMessages
from sunap.application.ports.api_keys import ApiKeyRecord
from tests.integration.sql.payments_factory import T0, later
from tests.support.databases import unique


async def test_a_tenant_is_created_once_and_found_by_name(engine: AsyncEngine) -> None:
    store = SqlApiKeyStore(engine)
    name = unique("shop")
    ids = await asyncio.gather(*(store.ensure_tenant(name, unique("tnt")) for _ in range(4)))
    assert len(set(ids)) == 1
    assert await store.ensure_tenant(name, unique("tnt")) == ids[0]
    assert await store.tenant_id_by_name(name) == ids[0]
    assert await store.tenant_id_by_name(unique("nobody")) is None


async def test_an_api_key_is_found_by_its_hash_with_tenant_and_scopes(engine: AsyncEngine) -> None:
    store = SqlApiKeyStore(engine)
    name = unique("shop")
    tenant_id = await store.ensure_tenant(name, unique("tnt"))
    key_id, key_hash = unique("key"), unique("sha256")
    scopes = frozenset({"payments:write", "payments:read"})
    await store.add_key(
        key_id=key_id, tenant_id=tenant_id, key_hash=key_hash, scopes=scopes, now=T0
    )

    assert await store.find_by_hash(key_hash) == ApiKeyRecord(key_id, tenant_id, name, scopes)
    assert await store.account_of(tenant_id) == "default"
    assert await store.find_by_hash(key_hash.upper()) is None
    assert await store.find_by_hash(unique("sha256")) is None


async def test_a_message_is_consumed_the_first_time_only(engine: AsyncEngine) -> None:
    consumed = SqlConsumedMessages(engine)
    subscriber, message = unique("orders"), unique("evt")
    firsts = await asyncio.gather(
        *(consumed.first_time(subscriber, message, "created", None, T0) for _ in range(5))
    )
    assert sorted(firsts) == [False] * 4 + [True]
    # Another subscriber sees the same message for the first time.
    assert await consumed.first_time(unique("audit"), message, "created", "pay_1", later(1))


async def test_recent_consumed_messages_come_newest_first(engine: AsyncEngine) -> None:
    consumed = SqlConsumedMessages(engine)
    subscriber = unique("orders")
    far_future = later(10**9)  # newer than anything other tests record
    await consumed.first_time(subscriber, "m1", "created", None, far_future)
    await consumed.first_time(subscriber, "m2", "duplicate", "pay_1", later(10**9 + 1))
    newest = await consumed.recent(2)
    assert [(m.message_key, m.outcome, m.detail) for m in newest] == [
        ("m2", "duplicate", "pay_1"),
        ("m1", "created", None),
    ]
    assert newest[0].subscriber == subscriber and newest[0].received_at == later(10**9 + 1)
