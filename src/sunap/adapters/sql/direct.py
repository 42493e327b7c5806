"""PostgreSQL statements sent through asyncpg itself, on SQLAlchemy's pooled connections.

Why: SQLAlchemy's execution path (a greenlet switch per call, an execution context, a result
object, its transaction bookkeeping) costs about 0.15 ms of CPU per statement and 0.3 ms per
transaction on top of what asyncpg needs, which was a third of a confirm's CPU
(docs/performance.md). Here the repositories' statements stay SQLAlchemy Core constructs,
compiled by SQLAlchemy's own PostgreSQL dialect (once per shape: its cache key), with its own
bind processors; only the sending skips the machinery. What does not change:

- the connection comes from, and goes back to, the engine's pool, with its ping after idle and
  its size; a connection is never handed back inside a transaction (it is thrown away instead);
- errors are SQLAlchemy's: the driver's error translated by the dialect, wrapped in a
  `DBAPIError` subclass (`IntegrityError`, `OperationalError`, …) with its parameters hidden,
  and a lost connection invalidates the pool as SQLAlchemy would (`engine.is_outage` reads
  them the same way);
- an engine in autocommit (`engine.reader`, `engine.one_statement`) sends no BEGIN and COMMIT.

Only PostgreSQL on asyncpg takes this path, and only when nothing listens for the engine's
statements (`before_cursor_execute`: OpenTelemetry's SQLAlchemy instrumentation, a test that
captures what was sent); otherwise `connect` hands out SQLAlchemy's own connection.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

# Compiled statements kept per dialect: far more than the shapes the adapters build.
_CACHE_LIMIT = 2000
_ROWCOUNT = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")


class SqlConnection(Protocol):
    """What the adapters use of a connection: SQLAlchemy's AsyncConnection, AsyncSession, or a
    DirectConnection (all three answer these)."""

    async def execute(self, statement: Any, parameters: Any = None, /) -> Any: ...

    async def scalar(self, statement: Any, parameters: Any = None, /) -> Any: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


def takes_direct_path(engine: AsyncEngine) -> bool:
    sync_engine = engine.sync_engine
    return (
        sync_engine.dialect.driver == "asyncpg" and not sync_engine.dispatch.before_cursor_execute
    )


@asynccontextmanager
async def connect(engine: AsyncEngine) -> AsyncIterator[SqlConnection]:
    """A connection for a few statements; a transaction begins with the first, unless the
    engine is in autocommit. Whatever was not committed is rolled back on the way out."""
    if not takes_direct_path(engine):
        async with engine.connect() as connection:
            yield connection
        return
    direct = await DirectConnection.open(engine)
    try:
        yield direct
    finally:
        await direct.close()


@asynccontextmanager
async def begin(engine: AsyncEngine) -> AsyncIterator[SqlConnection]:
    """As `connect`, committed on the way out unless an error leaves the block."""
    async with connect(engine) as connection:
        yield connection
        await connection.commit()


class DirectConnection:
    """One pooled asyncpg connection, answering as SQLAlchemy's AsyncConnection does for the
    calls the adapters make (execute, scalar, commit, rollback)."""

    def __init__(self, engine: AsyncEngine, fairy: Any) -> None:
        self._engine = engine
        self._dialect: Dialect = engine.sync_engine.dialect
        self._fairy = fairy
        self._driver = fairy.driver_connection
        self._autocommit = engine.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        self._transaction: Any = None  # asyncpg's, once a statement began one
        self._unsure = False  # interrupted mid-call: the connection's state is unknown

    @classmethod
    async def open(cls, engine: AsyncEngine) -> DirectConnection:
        # The pool's checkout runs its events (the ping after idle) and may connect: both await
        # the driver through SQLAlchemy's greenlet bridge.
        fairy = await greenlet_spawn(engine.sync_engine.pool.connect)
        return cls(engine, fairy)

    async def execute(self, statement: Any, parameters: Any = None) -> DirectResult:
        sql, args, many, returns_rows = _prepared(self._dialect, statement, parameters)
        if self._transaction is None and not self._autocommit:
            await self._guarded(self._begin(), "BEGIN", ())
        if many:
            await self._guarded(self._driver.executemany(sql, args), sql, args)
            return DirectResult([], -1)
        if returns_rows:
            records = await self._guarded(self._driver.fetch(sql, *args), sql, args)
            return DirectResult(records, len(records))
        status = await self._guarded(self._driver.execute(sql, *args), sql, args)
        found = _ROWCOUNT.match(status or "")
        return DirectResult([], int(found.group(1)) if found else -1)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    async def commit(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            await self._guarded(transaction.commit(), "COMMIT", ())

    async def rollback(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            await self._guarded(transaction.rollback(), "ROLLBACK", ())

    async def close(self) -> None:
        """Back to the pool, never inside a transaction: one that cannot be rolled back, or a
        connection interrupted mid-call, is thrown away instead (the pool opens another)."""
        fairy = self._fairy
        try:
            if self._transaction is not None and not self._unsure:
                await self.rollback()
        except BaseException:
            self._unsure = True
            raise
        finally:
            driver = self._driver
            if self._unsure or driver.is_closed() or driver.is_in_transaction():
                await greenlet_spawn(fairy.invalidate)  # closes it and returns its slot
            else:
                await greenlet_spawn(fairy.close)

    async def _begin(self) -> None:
        transaction = self._driver.transaction()
        await transaction.start()
        self._transaction = transaction

    async def _guarded(self, call: Any, sql: str, args: Any) -> Any:
        try:
            return await call
        except Exception as error:
            raise self._translated(error, sql, args) from error
        except BaseException:  # cancelled mid-call: asyncpg's state is not ours to trust
            self._unsure = True
            raise

    def _translated(self, error: Exception, sql: str, args: Any) -> Exception:
        """The error SQLAlchemy would raise, with what it would do about a lost connection."""
        dialect = self._dialect
        dbapi = dialect.loaded_dbapi
        try:
            self._fairy.dbapi_connection._handle_exception(error)
        except Exception as translated:
            driver_error = translated
        else:  # pragma: no cover - _handle_exception always raises
            driver_error = error
        if not isinstance(driver_error, dbapi.Error):
            self._unsure = True  # OSError and the like: the connection may be half-used
            return driver_error
        lost = dialect.is_disconnect(driver_error, self._fairy.dbapi_connection, None)
        if lost:
            self._unsure = True
            self._transaction = None
            # As SQLAlchemy does: every connection as old as this one is suspect (each is
            # replaced at its next check-out); this one is thrown away on close.
            self._engine.sync_engine.pool._invalidate(self._fairy, driver_error, _checkin=False)
        return sa_exc.DBAPIError.instance(
            sql,
            args,
            driver_error,
            dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=dialect,
        )


class DirectResult:
    """The rows of one statement, read as the adapters read SQLAlchemy's results."""

    def __init__(self, records: Sequence[Any], rowcount: int) -> None:
        self._records = records
        self.rowcount = rowcount

    def mappings(self) -> _Mappings:
        return _Mappings(self._records)

    def scalars(self) -> Iterator[Any]:
        return (record[0] for record in self._records)

    def scalar(self) -> Any:
        return self._records[0][0] if self._records else None

    def scalar_one_or_none(self) -> Any:
        if len(self._records) > 1:
            raise sa_exc.MultipleResultsFound(
                "Multiple rows were found when one or none was required"
            )
        return self.scalar()

    def first(self) -> Any:
        return self._records[0] if self._records else None

    def one(self) -> Any:
        if len(self._records) != 1:
            raise sa_exc.NoResultFound("One row was required, found " + str(len(self._records)))
        return self._records[0]

    def all(self) -> list[Any]:
        return list(self._records)


class _Mappings:
    """asyncpg's records already read by column name, as SQLAlchemy's RowMapping does."""

    def __init__(self, records: Sequence[Mapping[str, Any]]) -> None:
        self._records = records

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self._records)

    def first(self) -> Mapping[str, Any] | None:
        return self._records[0] if self._records else None

    def all(self) -> list[Mapping[str, Any]]:
        return list(self._records)


# -- compiling, as SQLAlchemy's execution context does --------------------------------------------
# Per dialect (an engine's): a compiled statement holds its dialect's type processors.
_compiled: weakref.WeakKeyDictionary[Dialect, dict[tuple[Any, ...], SQLCompiler]] = (
    weakref.WeakKeyDictionary()
)


def _prepared(
    dialect: Dialect, statement: ClauseElement, parameters: Any
) -> tuple[str, Any, bool, bool]:
    """(SQL, positional arguments, executemany?, returns rows?) for asyncpg."""
    groups: list[Mapping[str, Any]]
    if parameters is None:
        groups = []
    elif isinstance(parameters, Mapping):
        groups = [parameters]
    else:
        groups = list(parameters)
    many = len(groups) > 1
    column_keys = sorted(groups[0]) if groups else []
    compiled, extracted = _compile(dialect, statement, column_keys, many)
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise NotImplementedError("Python-side column defaults are not sent directly.")
    values = [
        compiled.construct_params(group, escape_names=False, extracted_parameters=extracted)
        for group in (groups or [{}])
    ]
    processors: Mapping[str, Any] = compiled._bind_processors
    sql = compiled.string
    positions: Sequence[str] | None = compiled.positiontup
    if compiled.literal_execute_params or compiled.post_compile_params:
        if many:
            raise NotImplementedError("An expanding IN cannot be sent as an executemany.")
        expanded = compiled._process_parameters_for_postcompile(values[0])
        sql, positions = expanded.statement, expanded.positiontup
        processors = {**processors, **expanded.processors}
    assert positions is not None, "asyncpg's dialect is positional"
    args = [
        [processors[key](group[key]) if key in processors else group[key] for key in positions]
        for group in values
    ]
    # A write's answer is its row count, unless it returns rows.
    is_write = compiled.isinsert or compiled.isupdate or compiled.isdelete
    returns_rows = not is_write or bool(compiled.effective_returning)
    return sql, args if many else args[0], many, returns_rows


def _compile(
    dialect: Dialect, statement: ClauseElement, column_keys: list[str], many: bool
) -> tuple[SQLCompiler, Any]:
    cache_key = statement._generate_cache_key()
    if cache_key is None:  # not cacheable: compiled each time, as SQLAlchemy would
        compiled = statement.compile(dialect=dialect, column_keys=column_keys, for_executemany=many)
        assert isinstance(compiled, SQLCompiler)
        return compiled, None
    cache = _compiled.setdefault(dialect, {})
    key = (cache_key.key, tuple(column_keys), many)
    found = cache.get(key)
    if found is None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        compiled = statement.compile(
            dialect=dialect, cache_key=cache_key, column_keys=column_keys, for_executemany=many
        )
        assert isinstance(compiled, SQLCompiler)
        cache[key] = found = compiled
    return found, cache_key.bindparams
