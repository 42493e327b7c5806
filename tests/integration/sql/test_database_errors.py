"""What a database error tells: never a bound parameter (a secret can be one), and whether the
database is out of reach (503, retry later) or a request went wrong (500), on each database."""

from __future__ import annotations

import asyncio
import logging
import traceback
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sunap.adapters.sql import engine as engine_module
from sunap.adapters.sql.engine import create_engine, is_outage
from sunap.adapters.sql.tables import api_keys, tenants
from tests.integration.sql.payments_factory import T0
from tests.support.databases import create_database, drop_database, selected_backends, unique
from tests.support.thread_proxy import ThreadedTcpProxy

SECRET = "sk_sunap_" + "s3cr3t-bound-parameter-value"


async def refused_insert(engine: AsyncEngine) -> Exception:
    """An INSERT the database itself refuses (no such tenant), carrying SECRET as a parameter."""
    row = {
        "id": unique("key"),
        "tenant_id": unique("no-such-tenant"),
        "key_hash": SECRET,
        "scopes": ["payments:read"],
        "created_at": T0,
    }
    try:
        async with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                await conn.execute(text("PRAGMA foreign_keys=ON"))
            await conn.execute(insert(api_keys).values(row))
    except Exception as error:
        return error
    raise AssertionError("the database took a key of a tenant that does not exist")


async def test_a_database_error_and_its_log_line_hold_no_bound_parameter(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    error = await refused_insert(engine)
    logging.getLogger("sunap.test").error("the insert failed", exc_info=error)

    assert SECRET not in "".join(traceback.format_exception(error))
    assert SECRET not in caplog.text
    assert "INSERT INTO api_keys" in caplog.text  # the statement itself is still there to read


async def test_a_refused_statement_is_not_an_outage(engine: AsyncEngine) -> None:
    assert not is_outage(await refused_insert(engine))
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT no_such_column FROM payments"))
    except Exception as error:
        assert not is_outage(error)
    else:
        raise AssertionError("a bad statement went through")


async def test_a_database_nobody_answers_for_is_an_outage(
    database_url: str, tmp_path: Path
) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        unreachable = f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'sunap.db'}"
    else:
        unreachable = url.set(port=1).render_as_string(hide_password=False)
    engine = create_engine(unreachable)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as error:
        assert is_outage(error), repr(error)
    else:
        raise AssertionError("connected to nothing")
    finally:
        await engine.dispose()
        # aiosqlite stops the thread of a connection that failed to open without waiting for it:
        # give the thread its moment while this test's event loop still runs.
        await asyncio.sleep(0.2)


async def test_a_pool_with_no_connection_to_spare_is_an_outage(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        async with engine.connect() as held:
            await held.execute(text("SELECT 1"))
            try:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            except Exception as error:
                assert is_outage(error), repr(error)
            else:
                raise AssertionError("a second connection came out of a pool of one")
    finally:
        await engine.dispose()


def test_a_bug_in_our_code_is_not_an_outage() -> None:
    assert not is_outage(ValueError("PaymentStatus 'BOGUS'"))
    assert not is_outage(KeyError("card"))
    assert not is_outage(RuntimeError("Event loop is closed"))


def test_a_mariadb_connection_closed_as_it_opened_is_an_outage() -> None:
    """aiomysql's own words when the server goes away while it connects (seen in an outage
    test: the connection's transport closed before its socket's keep-alive was set)."""
    assert is_outage(RuntimeError("Transport does not expose socket instance"))


@pytest.mark.holds_two_connections
async def test_a_lock_wait_given_up_on_is_an_outage(database_url: str) -> None:
    """Another transaction holds what this one needs, for longer than it waits."""
    holder = create_engine(database_url)
    tenant = unique("tnt")
    backend = make_url(database_url).get_backend_name()
    if backend == "sqlite":  # a plain engine, without our wait of 30 s for the write lock
        waiter = create_async_engine(database_url, connect_args={"timeout": 0.1})
    else:
        waiter = create_engine(database_url)
    give_up = {
        "sqlite": [],
        "postgresql": ["SET lock_timeout = '100ms'"],
        "mysql": ["SET SESSION innodb_lock_wait_timeout = 1"],
    }[backend]
    try:
        async with holder.begin() as held:
            await held.execute(insert(tenants).values(id=tenant, name=tenant))
            try:
                async with waiter.begin() as conn:
                    for statement in give_up:
                        await conn.execute(text(statement))
                    # The same id as the row the holder inserted and has not committed.
                    await conn.execute(insert(tenants).values(id=tenant, name=unique("n")))
            except Exception as error:
                assert is_outage(error), repr(error)
            else:
                raise AssertionError("wrote past a lock another transaction holds")
    finally:
        await waiter.dispose()
        await holder.dispose()


@pytest.mark.parametrize("server", [b for b in selected_backends() if b != "sqlite"])
@pytest.mark.holds_two_connections
async def test_a_pooled_connection_lost_while_idle_is_replaced_unseen_and_one_lost_while_warm_is_an_outage_once(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections are pinged before use only after sitting idle (engine.PING_AFTER_IDLE_SECONDS):
    a lost idle one is replaced before any statement sees it; a lost warm one fails one
    statement as an outage (503), after which the pool is whole again."""
    database_url = create_database(server, tmp_path)
    url = make_url(database_url)
    proxy = ThreadedTcpProxy(url.port or 0)
    proxy.start()
    engine = create_engine(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        pool_size=1,
        max_overflow=0,
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

        # Idle: the ping finds the connection dead, the pool opens another, the statement runs.
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.05)
        proxy.stop()
        proxy.start()
        await asyncio.sleep(0.1)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1

        # Warm: no ping, so the statement meets the lost connection, once.
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
        proxy.stop()
        proxy.start()
        with pytest.raises(Exception) as lost:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert is_outage(lost.value), repr(lost.value)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()
        proxy.stop()
        drop_database(database_url)
