"""One async engine per database URL, tuned per backend so that concurrent writers wait, never fail.

Every engine hides bound parameters from its errors: a statement's values can hold secrets, and
an error's text ends up in a log.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sunap.adapters.drivers import AIOMYSQL, ASYNCPG, require

from . import json_text
from .answer_timeout import STATEMENT_TIMEOUT, connect_mariadb, give_up_on_silence

# Seconds a SQLite writer waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT = 30
# Connections kept open per process: enough for a busy process's concurrent transactions, so
# that connections are reused instead of opened and closed per request. On PostgreSQL a new
# connection costs about 4.5 ms of CPU (a login, then SQLAlchemy's and asyncpg's set-up: type
# codecs, introspection), ten GETs' worth.
# PostgreSQL and MariaDB keep 30 and open no more: a request waits for one of the 30 instead.
# With 20 kept plus 10 overflow (the same 30 at most), the overflow was opened and closed per
# use: at 32 concurrent GETs about one request in 50 opened a connection (133 in 8,000), none
# with 30 kept. Waiting cannot deadlock: no task holds a second connection while it holds one
# (tests/support/connection_guard.py fails a test that does).
# SQLite keeps 10 (a connection is a thread; 20 measured no faster) and keeps its overflow: a
# transaction waiting for the write lock holds its connection, and the lock's holder may need
# one more (a fixed pool, tried, deadlocked until the pool timeout under 8 concurrent confirms).
# SUNAP_DATABASE_POOL_SIZE sets PostgreSQL's and MariaDB's (`server_pool_size`), never SQLite's.
POOL_SIZE = 30
SQLITE_POOL_SIZE = 10
SQLITE_POOL_OVERFLOW = 10
# Seconds to wait for a database server to accept a connection: an unreachable server is then an
# error a request can answer (503), not a request that hangs for the driver's default minute.
# Once connected, each statement waits for its answer at most STATEMENT_TIMEOUT
# (answer_timeout.py).
CONNECT_TIMEOUT = 10
# A pooled connection is pinged before use only when it sat idle at least this long. One used a
# moment ago is almost surely alive, and a ping costs round trips on every check-out (three on
# asyncpg: BEGIN, an empty query, ROLLBACK), which was a fifth of a GET's. A connection lost
# while in use fails its statement instead: SQLAlchemy then discards the whole pool, and the
# request answers 503 with Retry-After (is_outage) like any other database outage.
PING_AFTER_IDLE_SECONDS = 2.0

READ_ONLY = "sunap_read_only"  # an execution option: this engine only reads
_IDLE_SINCE = "sunap_idle_since"

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
}


def async_url(url: str) -> URL:
    """The URL with its async driver: `postgres://…` becomes `postgresql+asyncpg://…`."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"Unsupported database URL scheme: {parsed.drivername}")
    parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    if backend in ("mysql", "mariadb"):
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def create_engine(
    url: str,
    *,
    server_pool_size: int = POOL_SIZE,
    statement_timeout: float | None = STATEMENT_TIMEOUT,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine for SQLite, PostgreSQL or MariaDB, whichever the URL names.
    `server_pool_size`: the connections a PostgreSQL or MariaDB engine keeps, and the most it
    opens (SUNAP_DATABASE_POOL_SIZE); SQLite's pool is its own. `statement_timeout`: seconds a
    PostgreSQL or MariaDB statement waits for its answer before it fails as an outage
    (answer_timeout.py); None for no limit (migrations)."""
    parsed = async_url(url)
    backend = parsed.get_backend_name()
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_serializer", json_text.dumps)
    kwargs.setdefault("json_deserializer", json_text.loads)
    if backend == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    require(AIOMYSQL if backend == "mysql" else ASYNCPG, needed_by="SUNAP_DATABASE_URL")
    connect_args = kwargs.setdefault("connect_args", {})
    if backend == "mysql":
        # READ COMMITTED: no gap locks, so the relay and idempotency claims don't deadlock.
        kwargs.setdefault("isolation_level", "READ COMMITTED")
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT)
        if statement_timeout is not None:  # SQLAlchemy's aiomysql dialect connects with it
            opener = functools.partial(connect_mariadb, answer_timeout=statement_timeout)
            connect_args.setdefault("async_creator_fn", opener)
    else:
        connect_args.setdefault("timeout", CONNECT_TIMEOUT)
        connect_args.setdefault("command_timeout", statement_timeout)
    kwargs.setdefault("pool_size", server_pool_size)
    kwargs.setdefault("max_overflow", 0)
    # The connection used last goes out first: the busy few stay warm (no ping, their prepared
    # statements cached) and the rest age out of use instead of taking turns.
    kwargs.setdefault("pool_use_lifo", True)
    engine = create_async_engine(parsed, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    give_up_on_silence(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pool pre-ping, for connections idle PING_AFTER_IDLE_SECONDS or longer only."""
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    @event.listens_for(sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # `info` belongs to the driver's connection: a new one starts empty (and unpinged).
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # As pre-ping does: the pool drops every connection as old as this one and
            # hands out a new one (or raises the connect error, an outage).
            raise sa_exc.InvalidatePoolError(f"ping failed: {type(error).__name__}") from error


def is_outage(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached or used just now (answer 503 and let
    the client retry), as opposed to a request or a bug that went wrong (500): a refused or lost
    connection, a pool with no connection to spare, a server that will not open a session or
    answer a statement in time (answer_timeout.NoAnswer), a lock or deadlock given up on, a full
    disk."""
    if isinstance(error, OSError | sa_exc.TimeoutError):
        return True  # asyncpg lets a refused connection (and its timeouts) through as they are
    if isinstance(error, RuntimeError) and str(error) == _AIOMYSQL_CLOSED_WHILE_CONNECTING:
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated or error.statement is None:
        return True  # lost mid-statement, or raised while connecting, before any statement
    return error.orig is not None and _not_now(error.orig)


# aiomysql's bare RuntimeError when the connection it is opening closes under it (the server
# went away as it connected): raised setting the socket's keep-alive, before any statement.
_AIOMYSQL_CLOSED_WHILE_CONNECTING = "Transport does not expose socket instance"

# What each driver says for "not now" (as opposed to "not like this"). PostgreSQL SQLSTATEs:
# 08 connection exception, 53 insufficient resources, 57P operator intervention (shutting down),
# 40001 serialization failure, 40P01 deadlock, 55P03 lock not available.
_POSTGRES_NOT_NOW = ("08", "53", "57P", "40001", "40P01", "55P03")
# MariaDB/MySQL: too many connections, shutting down, lock wait timeout, deadlock, and the
# client's cannot-connect, gone-away and lost-connection codes.
_MARIADB_NOT_NOW = frozenset({1040, 1053, 1205, 1213, 2002, 2003, 2006, 2013, 2014, 2045, 2055})
_SQLITE_NOT_NOW = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL")


def _not_now(driver_error: BaseException) -> bool:
    code = driver_error.args[0] if driver_error.args else None
    if isinstance(code, int):  # PyMySQL: (error number, message); its sqlstate is often HY000
        return code in _MARIADB_NOT_NOW
    sqlite_name = getattr(driver_error, "sqlite_errorname", None)
    if isinstance(sqlite_name, str):
        return sqlite_name.startswith(_SQLITE_NOT_NOW)
    sqlstate = getattr(driver_error, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_POSTGRES_NOT_NOW)


def is_unusable(error: BaseException) -> bool:
    """Whether `error` says this database cannot serve Sunap at all, as configured: out of reach
    (`is_outage`), refusing our role or password, not existing, or without Sunap's schema (not
    migrated, or migrated by an older release). What an operator fixes in SUNAP_DATABASE_URL or
    with `sunap migrate`, not a bug."""
    if is_outage(error) or isinstance(error, sa_exc.OperationalError):
        return True
    if not isinstance(error, sa_exc.DBAPIError) or error.orig is None:
        return False
    code = error.orig.args[0] if error.orig.args else None
    if isinstance(code, int):  # PyMySQL
        return code in _MARIADB_NOT_SET_UP
    sqlstate = getattr(error.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_POSTGRES_NOT_SET_UP)


# PostgreSQL: 28 invalid authorization (no such role, wrong password), 3D000 no such database,
# 42P01 no such table, 42703 no such column. MariaDB/MySQL: access denied to the database, access
# denied to the user, unknown database, no such table, no such column.
_POSTGRES_NOT_SET_UP = ("28", "3D000", "42P01", "42703")
_MARIADB_NOT_SET_UP = frozenset({1044, 1045, 1049, 1146, 1054})


def _sqlite_engine(url: URL, **kwargs: Any) -> AsyncEngine:
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT)
    # SQLAlchemy's aiosqlite dialect opens connections with this in place of aiosqlite.connect.
    connect_args.setdefault("async_creator_fn", _open_sqlite)
    if url.database not in (None, "", ":memory:"):
        kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
        kwargs.setdefault("max_overflow", SQLITE_POOL_OVERFLOW)
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a read-then-write transaction can then never be refused
        # with "database is locked" halfway; it waits its turn at BEGIN instead. Pure reads
        # (see `reader`) take no lock: in WAL mode they never wait for a writer.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def _open_sqlite(*args: Any, **kwargs: Any) -> Any:
    """aiosqlite's connect, which on a file it cannot open (a directory that does not exist)
    leaves its thread closing the connection and reporting back to this event loop. A `sunap`
    command ends its loop as soon as the error reaches it, and a report still on its way then
    found the loop closed: a thread's traceback on stderr beside the command's one line. So the
    error goes on only once that thread has ended."""
    import aiosqlite

    connection = aiosqlite.connect(*args, **kwargs)
    worker = connection._thread
    worker.daemon = True  # as SQLAlchemy's own connect has it: never keeps the process alive
    try:
        return await connection
    except Exception:
        await asyncio.to_thread(worker.join)
        raise


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool) for transactions that only read.

    On SQLite they skip the up-front write lock, so readers never queue behind writers. On
    PostgreSQL they run in autocommit: no BEGIN and no ROLLBACK around them, two round trips
    fewer, and what each statement sees is the same (READ COMMITTED takes a fresh snapshot per
    statement either way). MariaDB keeps its transactions: its driver would spend a round trip
    to switch autocommit on and two to switch it back.
    """
    return one_statement(engine).execution_options(**{READ_ONLY: True})


def one_statement(engine: AsyncEngine) -> AsyncEngine:
    """The same engine for a transaction of a single statement, which is atomic on its own. On
    PostgreSQL it runs in autocommit: no BEGIN and no COMMIT, two round trips fewer; elsewhere
    it is an ordinary transaction (see `reader` for MariaDB), except on SQLite's direct path,
    which sends a lone statement bare when told so (`direct.connect(…, single=True)`)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine
