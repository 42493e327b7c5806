"""A PostgreSQL session the server ended (pg_terminate_backend, idle_session_timeout, a restart)
while its connection sat in the pool, or between two statements of its holder, on the direct
path (adapters/sql/direct.py).

The server sends its goodbye (a FATAL error) and closes the socket after it, as it exits: under
load, milliseconds apart. A connection that has read the goodbye but not yet the close looks
open; asyncpg, handed a statement on it, refuses it before sending anything with "cannot switch
to state …; another operation (2) is in progress" (2: it is still reading what the server said)
and gives the connection up. The proxy here holds the close back, so that the tests see that
moment (and, once the close is let through, the connection closed: asyncpg's "connection is
closed", refused before sending too). Such a connection is replaced as a failed ping would be,
when no transaction is lost with it; inside a transaction the loss is an outage that says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sunap.adapters.sql import direct
from sunap.adapters.sql import engine as engine_module
from sunap.adapters.sql.engine import async_url, create_engine, is_outage, one_statement
from tests.support.databases import (
    POSTGRES_SERVER,
    create_database,
    drop_database,
    selected_backends,
)
from tests.support.thread_proxy import ThreadedTcpProxy

pytestmark = pytest.mark.skipif(
    "postgresql" not in selected_backends(), reason="PostgreSQL is not among the test databases"
)
CLOSE_DELAY = 30.0  # longer than any test: the close never comes while one runs
BACKEND_PID = select(func.pg_backend_pid())  # a plain read: sent with no transaction around it


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = create_database("postgresql", tmp_path_factory.mktemp("ended"))
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(params=[CLOSE_DELAY, 0.0], ids=["goodbye-read", "closed"])
async def engine(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncEngine]:
    """One pooled connection, reached through a proxy that holds the server's close back (or
    lets it through at once); warm, so never pinged at check-out."""
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    url = make_url(pg_url)
    proxy = ThreadedTcpProxy(url.port or 5432, close_delay=request.param)
    proxy.start()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port)
    engine = create_engine(
        through_proxy.render_as_string(hide_password=False), pool_size=1, max_overflow=0
    )
    try:
        yield engine
    finally:
        proxy.stop()  # first: a graceful close would wait for the close held back
        await engine.dispose()


async def end_session(pid: int) -> None:
    """pg_terminate_backend, then wait until the backend is gone and its goodbye was read."""
    admin = create_async_engine(async_url(POSTGRES_SERVER), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 10
            alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"
            while (await conn.execute(text(alive), {"pid": pid})).scalar():
                assert time.monotonic() < deadline, "the backend did not exit"
                await asyncio.sleep(0.02)
    finally:
        await admin.dispose()
    await asyncio.sleep(0.2)  # the proxy forwards the goodbye at once; this loop reads it


async def test_asyncpg_refuses_a_statement_on_a_session_that_said_goodbye(pg_url: str) -> None:
    """The driver's behaviour the fix rests on, and the proxy's: if either changes, this says so."""
    url = make_url(pg_url)
    proxy = ThreadedTcpProxy(url.port or 5432, close_delay=CLOSE_DELAY)
    proxy.start()
    conn = await asyncpg.connect(
        host="127.0.0.1",
        port=proxy.port,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        await end_session(await conn.fetchval("SELECT pg_backend_pid()"))
        assert not conn.is_closed()  # the close is held back
        with pytest.raises(asyncpg.InternalClientError, match=r"another operation \(2\)"):
            await conn.fetchval("SELECT 1")
        assert conn.is_closed()  # and asyncpg gave the connection up
    finally:
        conn.terminate()
        proxy.stop()


async def test_a_pooled_connection_the_server_ended_is_replaced_before_anything_is_sent(
    engine: AsyncEngine,
) -> None:
    async with direct.connect(engine) as conn:
        ended = await conn.scalar(BACKEND_PID)
    for each in (engine, one_statement(engine)):  # a plain read, and a statement sent bare
        await end_session(ended)
        async with direct.connect(each, single=True) as conn:
            pid = await conn.scalar(BACKEND_PID)
        assert pid != ended
        ended = pid


@pytest.mark.holds_two_connections
async def test_between_two_statements_outside_a_transaction_the_next_goes_on_another(
    engine: AsyncEngine,
) -> None:
    """As a unit of work that read, then waited on Toss, then writes: nothing was begun on the
    ended session, so nothing is lost with it."""
    async with direct.begin(engine) as conn:
        ended = await conn.scalar(BACKEND_PID)
        await end_session(ended)
        assert await conn.scalar(BACKEND_PID) != ended
        await conn.execute(text("SELECT 1"))  # begins a transaction on the new session


@pytest.mark.holds_two_connections
async def test_inside_a_transaction_it_is_an_outage_named_as_a_lost_connection(
    engine: AsyncEngine,
) -> None:
    """The transaction ended with the session: its COMMIT is never sent again elsewhere (it
    would commit nothing and answer as if it had)."""
    with pytest.raises(DBAPIError) as lost:
        async with direct.begin(engine) as conn:
            ended = await conn.scalar(text("SELECT pg_backend_pid()"))  # begins a transaction
            assert conn.in_transaction
            await end_session(ended)
    assert "COMMIT" in str(lost.value)
    assert is_outage(lost.value) and lost.value.connection_invalidated
    assert "another operation" not in str(lost.value), str(lost.value)
    async with direct.connect(engine) as conn:  # the pool's one slot serves again
        assert await conn.scalar(BACKEND_PID) != ended
