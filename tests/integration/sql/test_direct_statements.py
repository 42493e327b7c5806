"""Statements sent through the driver directly (adapters/sql/direct.py: asyncpg, aiosqlite,
aiomysql) must behave as SQLAlchemy's own path does where money depends on it: what reaches the
database, what comes back, the errors and what they hide, and that no transaction outlives its
unit of work."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql import direct
from sunap.adapters.sql import engine as engine_module
from sunap.adapters.sql.direct import DirectConnection, _Asyncpg, carries_inserts, takes_direct_path
from sunap.adapters.sql.engine import create_engine, is_outage, one_statement, reader
from sunap.adapters.sql.tables import api_keys, idempotency_keys, tenants
from tests.support.databases import (
    create_database,
    drop_database,
    migrate,
    selected_backends,
    unique,
)
from tests.support.thread_proxy import ThreadedTcpProxy

SECRET = "sk_sunap_" + "direct-path-bound-parameter"
DIRECT = selected_backends()
ON_POSTGRESQL = [b for b in DIRECT if b == "postgresql"]
ON_MARIADB = [b for b in DIRECT if b == "mariadb"]


def _migrated(backend: str, tmp: Path) -> Iterator[str]:
    url = create_database(backend, tmp)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(url)


def _migrated_database(name: str, backends: list[str]) -> Any:
    """A module's fixture `name`: the URL of a migrated database, once per backend given."""

    @pytest.fixture(scope="module", params=backends, name=name)
    def fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[str]:
        yield from _migrated(request.param, tmp_path_factory.mktemp(name))

    return fixture


direct_url = _migrated_database("direct_url", DIRECT)
pg_url = _migrated_database("pg_url", ON_POSTGRESQL)
mariadb_url = _migrated_database("mariadb_url", ON_MARIADB)
# PostgreSQL or SQLite: connections that autocommit a statement sent outside BEGIN.
bare_statement_url = _migrated_database("bare_statement_url", [b for b in DIRECT if b != "mariadb"])
# PostgreSQL or MariaDB: a database server behind a connection that can be lost.
server_url = _migrated_database("server_url", [b for b in DIRECT if b != "sqlite"])


async def _one_connection(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose pool holds one connection: each test sees it reused."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def db(direct_url: str) -> AsyncIterator[AsyncEngine]:
    """PostgreSQL, SQLite or MariaDB."""
    async for engine in _one_connection(direct_url):
        yield engine


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[AsyncEngine]:
    async for engine in _one_connection(pg_url):
        yield engine


async def a_tenant(engine: AsyncEngine) -> str:
    tenant = unique("tnt")
    async with direct.begin(engine) as conn:
        await conn.execute(insert(tenants).values(id=tenant, name=tenant))
    return tenant


async def test_the_statements_go_direct_unless_someone_listens_for_them(db: AsyncEngine) -> None:
    assert takes_direct_path(db) and takes_direct_path(reader(db))
    async with direct.connect(db) as conn:
        assert isinstance(conn, DirectConnection)

    event.listen(db.sync_engine, "before_cursor_execute", _ignore)  # tracing, a capturing test
    try:
        assert not takes_direct_path(db)
        async with direct.connect(db) as conn:
            assert not isinstance(conn, DirectConnection)
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", _ignore)


async def test_values_go_and_come_back_as_through_sqlalchemy(db: AsyncEngine) -> None:
    tenant = await a_tenant(db)
    seoul = timezone(timedelta(hours=9))
    at = datetime(2026, 11, 29, 9, 30, 15, 123456, tzinfo=seoul)
    body = bytes(range(256))
    async with direct.begin(db) as conn:
        await conn.execute(
            insert(idempotency_keys),
            {
                "tenant_id": tenant,
                "idempotency_key": "k-1",
                "fingerprint": "f",
                "recovery_point": "started",
                "locked_until": None,
                "response_code": 201,
                "response_body": body,
                "response_content_type": "application/json",
                "created_at": at,
            },
        )
        await conn.execute(
            insert(api_keys).values(
                id=unique("key"), tenant_id=tenant, key_hash=unique("h"),
                scopes=["payments:read", "한글"], created_at=at,
            )
        )  # fmt: skip
    # Read back both ways: directly, and through SQLAlchemy (a listener turns the direct path off).
    for through_sqlalchemy in (False, True):
        if through_sqlalchemy:
            event.listen(db.sync_engine, "before_cursor_execute", _ignore)
        try:
            async with direct.connect(db) as conn:
                assert isinstance(conn, DirectConnection) is not through_sqlalchemy
                row = (
                    (
                        await conn.execute(
                            select(idempotency_keys).where(idempotency_keys.c.tenant_id == tenant)
                        )
                    )
                    .mappings()
                    .first()
                )
                scopes = await conn.scalar(
                    select(api_keys.c.scopes).where(api_keys.c.tenant_id == tenant)
                )
        finally:
            if through_sqlalchemy:
                event.remove(db.sync_engine, "before_cursor_execute", _ignore)
        assert row is not None
        assert row["created_at"] == at and row["created_at"].utcoffset() == timedelta(0)
        assert bytes(row["response_body"]) == body
        assert row["locked_until"] is None and row["response_code"] == 201
        assert scopes == ["payments:read", "한글"]


def _ignore(*_args: Any) -> None: ...


async def test_a_naive_time_is_refused_before_anything_is_sent(db: AsyncEngine) -> None:
    tenant = await a_tenant(db)
    with pytest.raises((ValueError, StatementError)):
        async with direct.begin(db) as conn:
            await conn.execute(
                insert(api_keys).values(
                    id=unique("key"), tenant_id=tenant, key_hash=unique("h"), scopes=[],
                    created_at=datetime(2026, 11, 29, 9, 30),
                )
            )  # fmt: skip
    async with direct.connect(db) as conn:
        found = await conn.scalar(select(api_keys.c.id).where(api_keys.c.tenant_id == tenant))
    assert found is None


async def test_a_write_the_database_refuses_is_an_integrity_error_that_hides_its_parameters(
    db: AsyncEngine,
) -> None:
    with pytest.raises(IntegrityError) as refused:
        async with direct.begin(db) as conn:
            await conn.execute(
                insert(api_keys).values(
                    id=unique("key"), tenant_id=unique("no-such-tenant"), key_hash=SECRET,
                    scopes=[], created_at=datetime.now(UTC),
                )
            )  # fmt: skip
    assert SECRET not in "".join(traceback.format_exception(refused.value))
    assert "INSERT INTO api_keys" in str(refused.value)
    assert not is_outage(refused.value)
    async with direct.connect(db) as conn:  # the pool's one connection is fine afterwards
        assert await conn.scalar(text("SELECT 1")) == 1


async def test_several_rows_at_once_are_refused_not_half_sent(db: AsyncEngine) -> None:
    ids = [unique("tnt"), unique("tnt")]
    with pytest.raises(NotImplementedError):
        async with direct.begin(db) as conn:
            await conn.execute(insert(tenants), [{"id": i, "name": i} for i in ids])
    async with direct.connect(db) as conn:
        found = await conn.execute(select(tenants.c.id).where(tenants.c.id.in_(ids)))
        assert list(found.scalars()) == []


async def test_rows_counted_and_read_as_sqlalchemy_gives_them(db: AsyncEngine) -> None:
    tenant = await a_tenant(db)
    rename = update(tenants).where(tenants.c.id == bindparam("which")).values(name=bindparam("to"))
    async with direct.begin(db) as conn:
        assert (await conn.execute(rename, {"which": tenant, "to": tenant + "-x"})).rowcount == 1
        assert (await conn.execute(rename, {"which": "nobody", "to": "y"})).rowcount == 0
        ids = [tenant, "nobody", tenant]
        found = await conn.execute(
            select(tenants.c.id, tenants.c.name).where(tenants.c.id.in_(ids))
        )
        assert [tuple(r) for r in found.all()] == [(tenant, tenant + "-x")]


async def test_what_is_not_committed_is_rolled_back_and_the_connection_goes_back_clean(
    db: AsyncEngine,
) -> None:
    tenant = unique("tnt")
    async with direct.connect(db) as conn:
        await conn.execute(insert(tenants).values(id=tenant, name=tenant))
    async with direct.connect(db) as conn:  # the same pooled connection: pool_size=1
        assert isinstance(conn, DirectConnection)
        assert not conn.in_transaction
        assert await conn.scalar(select(tenants.c.id).where(tenants.c.id == tenant)) is None

    with pytest.raises(RuntimeError):
        async with direct.begin(db) as conn:
            await conn.execute(insert(tenants).values(id=tenant, name=tenant))
            raise RuntimeError("the use case failed after its write")
    async with direct.connect(db) as conn:
        assert await conn.scalar(select(tenants.c.id).where(tenants.c.id == tenant)) is None


@pytest.fixture
async def bare_statement_db(bare_statement_url: str) -> AsyncIterator[AsyncEngine]:
    async for engine in _one_connection(bare_statement_url):
        yield engine


async def test_a_single_statement_is_sent_with_no_transaction_around_it(
    bare_statement_db: AsyncEngine,
) -> None:
    tenant = unique("tnt")
    db = bare_statement_db
    async with direct.begin(db, single=True) as conn:
        assert isinstance(conn, DirectConnection)
        await conn.execute(insert(tenants).values(id=tenant, name=tenant))
        assert not conn.in_transaction  # already committed: it stays if the block fails now
    async with direct.connect(reader(db), single=True) as conn:
        assert isinstance(conn, DirectConnection)
        assert await conn.scalar(select(tenants.c.id).where(tenants.c.id == tenant)) == tenant
        assert not conn.in_transaction


async def test_on_mariadb_a_single_statement_is_still_committed_with_its_block(
    mariadb_url: str,
) -> None:
    """MariaDB's connections are never in autocommit: a statement sent bare would stay
    uncommitted, and be thrown away with its connection. `single` changes nothing there."""
    tenant = unique("tnt")
    async for engine in _one_connection(mariadb_url):
        async with direct.begin(engine, single=True) as conn:
            assert isinstance(conn, DirectConnection)
            await conn.execute(insert(tenants).values(id=tenant, name=tenant))
            assert conn.in_transaction
        async with direct.connect(reader(engine), single=True) as conn:
            assert await conn.scalar(select(tenants.c.id).where(tenants.c.id == tenant)) == tenant
        async with direct.connect(engine) as conn:  # the same connection, back clean
            assert isinstance(conn, DirectConnection)
            assert not conn.in_transaction


async def test_an_autocommit_engine_sends_no_transaction(pg: AsyncEngine) -> None:
    tenant = unique("tnt")
    async with direct.begin(one_statement(pg)) as conn:
        assert isinstance(conn, DirectConnection)
        await conn.execute(insert(tenants).values(id=tenant, name=tenant))
        assert not conn.in_transaction
    async with direct.connect(reader(pg)) as conn:
        assert await conn.scalar(select(tenants.c.id).where(tenants.c.id == tenant)) == tenant


async def test_a_call_cancelled_midway_leaves_no_transaction_or_lock_behind(
    pg: AsyncEngine,
) -> None:
    tenant = await a_tenant(pg)
    locked = asyncio.Event()

    async def hold_the_row_and_hang() -> None:
        async with direct.begin(pg) as conn:
            await conn.execute(select(tenants).where(tenants.c.id == tenant).with_for_update())
            locked.set()
            await conn.execute(text("SELECT pg_sleep(30)"))

    task = asyncio.create_task(hold_the_row_and_hang())
    await asyncio.wait_for(locked.wait(), 10)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # The pool's one slot serves again, with no transaction, and nobody holds the row's lock.
    async with direct.begin(pg) as conn:
        assert isinstance(conn, DirectConnection)
        await conn.execute(text("SET LOCAL lock_timeout = '2s'"))
        rows = await conn.execute(
            select(tenants.c.id).where(tenants.c.id == tenant).with_for_update()
        )
        assert list(rows.scalars()) == [tenant]


async def test_a_read_cancelled_midway_is_thrown_away_not_handed_to_the_next_user(
    pg: AsyncEngine,
) -> None:
    """A plain read sends no BEGIN on PostgreSQL: the driver would call the interrupted
    connection clean (no transaction), yet what it is still doing is not ours to know. The next
    user gets another session, never that one reset."""
    reading = asyncio.Event()
    interrupted: list[int] = []

    async def read_and_hang() -> None:
        async with direct.connect(pg) as conn:
            interrupted.append(await conn.scalar(select(func.pg_backend_pid())))
            reading.set()
            await conn.scalar(select(func.pg_sleep(30)))

    task = asyncio.create_task(read_and_hang())
    await asyncio.wait_for(reading.wait(), 10)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async with direct.connect(pg) as conn:
        assert not conn.in_transaction
        assert await conn.scalar(select(func.pg_backend_pid())) != interrupted[0]


@pytest.mark.holds_two_connections
async def test_a_connection_lost_while_warm_is_an_outage_once_then_the_pool_is_whole(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_url(server_url)
    proxy = ThreadedTcpProxy(url.port or 0)
    proxy.start()
    engine = create_engine(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        pool_size=2,
        max_overflow=0,
    )
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 3600.0)  # warm: no ping
    try:
        async with direct.connect(engine) as first, direct.connect(engine) as second:
            assert await first.scalar(text("SELECT 1")) == 1
            assert await second.scalar(text("SELECT 1")) == 1
        proxy.stop()
        proxy.start()
        with pytest.raises(Exception) as lost:
            async with direct.begin(engine) as conn:
                await conn.execute(text("SELECT 1"))
        assert is_outage(lost.value), repr(lost.value)
        # The other pooled connection was lost too: it is replaced, not handed out to fail.
        async with direct.connect(engine) as first, direct.connect(engine) as second:
            assert await first.scalar(text("SELECT 1")) == 1
            assert await second.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
        proxy.stop()


async def test_a_database_that_cannot_be_reached_is_an_outage(server_url: str) -> None:
    """Refused at connect time, before any statement: a 503 to the caller, never a 500."""
    url = make_url(server_url)
    proxy = ThreadedTcpProxy(url.port or 0)
    proxy.start()
    address = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.stop()  # nothing listens there now
    engine = create_engine(address, pool_size=1, max_overflow=0)
    try:
        with pytest.raises(Exception) as refused:
            async with direct.begin(engine) as conn:
                await conn.execute(text("SELECT 1"))
        assert is_outage(refused.value), repr(refused.value)
    finally:
        await engine.dispose()


_RENAMING_TENANT = carries_inserts(update(tenants).where(tenants.c.id == bindparam("where_id")))


async def test_writes_that_cannot_ride_send_their_inserts_first_and_their_updates_on_the_carrier(
    pg: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two inserts of one table cannot ride together (their order is not promised): they go
    first, one by one. An update of a row by key still rides on the carrier, whatever order it
    was queued in: it must never go before the carrier's own update (a writer locking the
    carrier's row first, then that row, would wait on this one and this one on it)."""
    carrier_id, other_id = unique("tnt"), unique("tnt")
    async with direct.begin(pg) as conn:
        await conn.execute(insert(tenants), {"id": carrier_id, "name": carrier_id})
        await conn.execute(insert(tenants), {"id": other_id, "name": other_id})
    seen: list[str] = []
    for name in ("fetch", "execute"):
        original = getattr(_Asyncpg, name)

        async def spy(self: Any, sql: str, args: Any, _original: Any = original) -> Any:
            seen.append("CARRIER" if sql.lstrip().startswith("WITH") else sql.split()[0])
            return await _original(self, sql, args)

        monkeypatch.setattr(_Asyncpg, name, spy)

    async with direct.connect(pg) as conn:
        assert isinstance(conn, DirectConnection)
        await conn.update_soon(tenants, "id", {"id": other_id, "name": "renamed"})
        first, second = unique("tnt"), unique("tnt")
        await conn.insert_soon(tenants, {"id": first, "name": first})
        await conn.insert_soon(tenants, {"id": second, "name": second})
        await conn.execute(_RENAMING_TENANT, {"where_id": carrier_id, "name": "carried"})
        await conn.rollback()

    assert seen == ["INSERT", "INSERT", "CARRIER"], seen
