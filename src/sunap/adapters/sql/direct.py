"""Statements sent through the driver itself (asyncpg, aiosqlite, aiomysql), on SQLAlchemy's
pooled connections.

Why: SQLAlchemy's execution path (a greenlet switch per call, an execution context, a result
object, its transaction bookkeeping; on aiosqlite three or four thread hops per statement)
cost about 0.15 ms of CPU per statement and 0.3 ms per transaction over what the driver needs:
a third of a confirm's CPU, two thirds of a GET's (docs/performance.md). The repositories'
statements stay SQLAlchemy Core constructs, compiled by SQLAlchemy's own dialect (once per
shape: their cache key), with its bind processors, and SQLite's rows go through its result
processors; only the sending skips the machinery. What does not change:

- the connection comes from, and goes back to, the engine's pool, with its events (the ping
  after idle, SQLite's pragmas); one is never handed back inside a transaction (it is thrown
  away instead);
- transactions begin as engine.py has them begin: on the first statement, `BEGIN IMMEDIATE`
  for SQLite's writers, none at all for an engine in autocommit (`reader`, `one_statement` on
  PostgreSQL); on MariaDB the server begins one by itself at the first statement (its
  connections never autocommit), and it is always ended by a COMMIT or ROLLBACK. On
  PostgreSQL a plain read begins none (READ COMMITTED gives each statement its own snapshot
  anyway): the first write or locking read does, and a commit that is one carrying statement
  sends it alone (`write_alone`);
- errors are SQLAlchemy's: the driver's error translated by the dialect, wrapped in a
  `DBAPIError` subclass (`IntegrityError`, `OperationalError`, …) with its parameters hidden,
  and a lost connection (or one whose answer did not come in time, answer_timeout.py)
  invalidates the pool as SQLAlchemy would (`engine.is_outage` reads them the same way). A connection the server had already ended when it was handed a statement
  (refused before anything was sent) is replaced as a failed ping would have it, and the
  statement sent on the new one, unless a transaction ended with it (`_guarded`).

PostgreSQL (asyncpg), SQLite (aiosqlite) and MariaDB (aiomysql) take this path. None does
while something listens for the engine's statements (`before_cursor_execute`:
OpenTelemetry's SQLAlchemy instrumentation, a test that captures what was sent): `connect` then
hands out SQLAlchemy's own connection, which sends the same SQL.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import Select, Table, bindparam, exists, func, insert, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.util import greenlet_spawn

from .answer_timeout import NoAnswer
from .engine import READ_ONLY

T = TypeVar("T")

# Compiled statements kept per dialect: far more than the shapes the adapters build.
_CACHE_LIMIT = 2000
_DIRECT_DRIVERS = frozenset({"asyncpg", "aiosqlite", "aiomysql"})
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
        sync_engine.dialect.driver in _DIRECT_DRIVERS
        and not sync_engine.dispatch.before_cursor_execute
    )


@asynccontextmanager
async def connect(engine: AsyncEngine, *, single: bool = False) -> AsyncIterator[SqlConnection]:
    """A connection for a few statements; a transaction begins with the first, unless the
    engine is in autocommit. Whatever was not committed is rolled back on the way out.

    `single`: the caller sends one statement, atomic on its own, so the direct path sends no
    BEGIN and no ROLLBACK around it (on SQLite, two thread hops fewer)."""
    if not takes_direct_path(engine):
        async with engine.connect() as connection:
            yield connection
        return
    direct = await DirectConnection.open(engine, single=single)
    try:
        yield direct
    finally:
        await direct.close()


@asynccontextmanager
async def begin(engine: AsyncEngine, *, single: bool = False) -> AsyncIterator[SqlConnection]:
    """As `connect`, committed on the way out unless an error leaves the block."""
    async with connect(engine, single=single) as connection:
        yield connection
        await connection.commit()


class DirectConnection:
    """One pooled driver connection, answering as SQLAlchemy's AsyncConnection does for the
    calls the adapters make (execute, scalar, commit, rollback)."""

    def __init__(self, engine: AsyncEngine, fairy: Any, *, single: bool = False) -> None:
        self._engine = engine
        self._dialect: Dialect = engine.sync_engine.dialect
        options = engine.get_execution_options()
        self._read_only = bool(options.get(READ_ONLY))
        self._attach(fairy)
        self._autocommit = self._driver.bare_statements_commit and (
            single or options.get("isolation_level") == "AUTOCOMMIT"
        )
        self._in_transaction = False
        self._unsure = False  # interrupted mid-call: the connection's state is unknown
        # Writes waiting to ride on the next statement that carries them (PostgreSQL only, see
        # `insert_soon`), or to be sent before any other statement or the commit.
        self._deferred: list[_Soon] = []
        self._defers = self._dialect.driver == "asyncpg" and not self._autocommit
        # PostgreSQL: a read takes a snapshot of its own under READ COMMITTED, inside a
        # transaction or not, so a plain read waits for the first write (or locking read) to
        # begin one; a unit of work that only reads sends no BEGIN and no COMMIT at all.
        self._reads_outside = self._defers
        self._alone_next = False  # the next statement is the whole transaction (`write_alone`)
        self._sent_alone = False

    def _attach(self, fairy: Any) -> None:
        self._fairy = fairy
        self._driver: _Driver
        if self._dialect.driver == "asyncpg":
            self._driver = _Asyncpg(fairy.driver_connection, self._dialect.loaded_dbapi.asyncpg)
        elif self._dialect.driver == "aiomysql":
            self._driver = _Aiomysql(fairy.driver_connection)
        else:
            self._driver = _Aiosqlite(fairy.driver_connection, read_only=self._read_only)

    @classmethod
    async def open(cls, engine: AsyncEngine, *, single: bool = False) -> DirectConnection:
        return cls(engine, await _checkout(engine), single=single)

    async def insert_soon(self, table: Table, row: dict[str, Any]) -> None:
        """Insert `row` into `table` in this transaction, before anything else reads or commits
        it. On PostgreSQL it is sent with the next update built to carry it (`carries_inserts`)
        as a data-modifying WITH clause: one round trip instead of two. At most one row per
        table rides: the order of several rows inserted by one statement (their `seq`) is not
        promised, so those are sent one by one, in the order they came."""
        if not self._defers:
            await self.execute(insert_into(table), row)
            return
        self._deferred.append(_Soon(table, row))

    @property
    def defers_writes(self) -> bool:
        """Whether `insert_soon` and `update_soon` wait for a carrier (PostgreSQL)."""
        return self._defers

    async def update_soon(self, table: Table, by: str, row: dict[str, Any]) -> None:
        """Update the row of `table` whose column `by` is `row[by]` to `row`'s other values, as
        `insert_soon` inserts: riding on the next carrier where it can. A lone write carries
        it only if its own update changed a row."""
        if not self._defers:
            await self.execute(*_update_by(table, by, row))
            return
        self._deferred.append(_Soon(table, row, by))

    def write_alone(self) -> bool:
        """The unit of work's commit will send one statement, a versioned update or an insert
        built to carry its waiting inserts (`carries_inserts`), and nothing after it. On
        PostgreSQL, with no transaction begun, it then goes alone in autocommit, an update
        guarded (`_guarded`): one round trip where BEGIN, the statement and COMMIT were three.
        True if it will."""
        if not self._defers or self._in_transaction or not _can_ride(self._deferred):
            return False
        self._alone_next = True
        return True

    async def execute(self, statement: Any, parameters: Any = None) -> DirectResult:
        if self._sent_alone:
            # The lone write committed by itself: anything after it would not be atomic with it.
            raise RuntimeError("A statement followed a write sent alone; nothing was sent.")
        if self._alone_next:
            self._alone_next = False
            if id(statement) in _CARRIERS:
                self._sent_alone = True
                return await self._send_carrying(statement, parameters)
        if self._deferred and id(statement) in _CARRIERS and not _can_ride(self._deferred):
            await self._send_deferred(inserts_only=True)
        if self._deferred:
            if id(statement) in _CARRIERS:
                await self._begin()
                return await self._send_carrying(statement, parameters)
            await self._send_deferred()
        prepared = _prepared(self._dialect, statement, parameters)
        sql, args = prepared.sql, prepared.args
        if not (self._reads_outside and prepared.plain_read):
            await self._begin()
        resend = not self._in_transaction
        if prepared.returns_rows:
            rows = await self._guarded(lambda d: d.fetch(sql, args), sql, args, resend=resend)
            if prepared.reader is not None:
                return prepared.reader.result(rows)
            return DirectResult(rows, len(rows))
        count = await self._guarded(lambda d: d.execute(sql, args), sql, args, resend=resend)
        return DirectResult([], count)

    async def _begin(self) -> None:
        if not self._in_transaction and not self._autocommit:
            await self._guarded(lambda d: d.begin(), "BEGIN", (), resend=True)
            self._in_transaction = True

    async def _send_carrying(self, carrier: Update | Insert, parameters: Any) -> DirectResult:
        """`carrier` with the deferred writes riding on it, in a transaction or alone. An
        update's riders write only if it changed its row (`_guarded`): one refused as stale
        inserts no row a retry could then collide with."""
        deferred, self._deferred = self._deferred, []
        resend = not self._in_transaction  # sent alone
        if isinstance(carrier, Insert):
            statement, merged = _with_inserts(carrier, parameters, deferred)
            sql, args = _prepared(self._dialect, statement, merged)[:2]
            count = await self._guarded(lambda d: d.execute(sql, args), sql, args, resend=resend)
            return DirectResult([], count)
        guarded, merged = _guarded(carrier, parameters, deferred)
        sql, args = _prepared(self._dialect, guarded, merged)[:2]
        rows = await self._guarded(lambda d: d.fetch(sql, args), sql, args, resend=resend)
        return DirectResult([], int(rows[0][0]))  # the rows the update changed

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    @property
    def in_transaction(self) -> bool:
        """Whether the driver's connection is inside a transaction."""
        return self._driver.in_transaction()

    async def _send_deferred(self, *, inserts_only: bool = False) -> None:
        """The waiting writes, one statement each, in the order they came. `inserts_only`: the
        updates stay to ride on the carrier, so that they follow its own update, as without
        riding: an update of a row another writer locks after the carrier's row must not go
        first (the two would wait on each other)."""
        deferred, self._deferred = self._deferred, []
        kept: list[_Soon] = []  # back on the queue only after the inserts went out
        for soon in deferred:
            if soon.by is None:
                await self.execute(insert_into(soon.table), soon.row)
            elif inserts_only:
                kept.append(soon)
            else:
                await self.execute(*_update_by(soon.table, soon.by, soon.row))
        self._deferred = kept

    async def commit(self) -> None:
        self._sent_alone = False  # what follows is a transaction of its own
        if self._deferred:
            await self._send_deferred()
        if self._in_transaction:
            self._in_transaction = False
            await self._guarded(lambda d: d.commit(), "COMMIT", ())

    async def rollback(self) -> None:
        self._deferred = []
        self._alone_next = self._sent_alone = False
        if self._in_transaction:
            self._in_transaction = False
            await self._guarded(lambda d: d.rollback(), "ROLLBACK", ())

    async def close(self) -> None:
        """Back to the pool, never inside a transaction: one that cannot be rolled back, or a
        connection interrupted mid-call, is thrown away instead (the pool opens another)."""
        fairy = self._fairy
        try:
            if self._in_transaction and not self._unsure:
                await self.rollback()
        except BaseException:
            self._unsure = True
            raise
        finally:
            driver = self._driver
            if not fairy.is_valid:
                pass  # thrown away already: `_replace` was interrupted before it took another
            elif self._unsure or driver.is_closed() or driver.in_transaction():
                await greenlet_spawn(fairy.invalidate)  # closes it and returns its slot
            else:
                # Known to be in no transaction: the pool's reset (a ROLLBACK; on SQLite a
                # thread hop) has nothing to do, as when SQLAlchemy's Connection closes.
                await greenlet_spawn(fairy._close_special, True)

    async def _guarded(
        self, call: Callable[[_Driver], Awaitable[T]], sql: str, args: Any, *, resend: bool = False
    ) -> T:
        """`call` on the driver, its errors as SQLAlchemy's. `resend`: sent with no transaction
        open on this connection (BEGIN, a read or a write sent alone), so if the driver refused
        it, before sending anything, on a session the server had already ended (asyncpg: it read
        the server's goodbye, the socket's close is still on its way), nothing was lost with
        the session: it is sent once more on another connection. COMMIT and ROLLBACK never are:
        their transaction ended with the session."""
        try:
            return await call(self._driver)
        except Exception as error:
            lost = self._driver.lost_before_sending(error)
            if lost is None:
                raise self._translated(error, sql, args) from error
            if not resend:
                raise self._translated(lost, sql, args) from lost
            ended: Exception = lost
        except BaseException:  # cancelled mid-call: the driver's state is not ours to trust
            self._unsure = True
            raise
        await self._replace(ended)
        return await self._guarded(call, sql, args)  # once: a second refusal is raised

    async def _replace(self, lost: Exception) -> None:
        """Throw this connection away and take another from the pool, as the pool does with one
        that failed its ping: every connection as old as this one is suspect (a restart, or
        pg_terminate_backend on them all, ends them together) and is replaced at its next
        check-out."""
        fairy = self._fairy
        self._engine.sync_engine.pool._invalidate(fairy, lost, _checkin=False)
        await greenlet_spawn(fairy.invalidate, lost)  # closes it and returns its slot
        self._attach(await _checkout(self._engine))

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
        if isinstance(driver_error, TimeoutError):
            # asyncpg's command_timeout: the server did not answer (answer_timeout.py). As for a
            # lost connection: this one is thrown away, and every one as old is suspect (frozen
            # with it, each would wait as long again).
            self._unsure = True
            self._in_transaction = False
            self._engine.sync_engine.pool._invalidate(self._fairy, driver_error, _checkin=False)
            return NoAnswer()
        if not isinstance(driver_error, dbapi.Error):
            self._unsure = True  # OSError and the like: the connection may be half-used
            return driver_error
        lost = dialect.is_disconnect(driver_error, self._fairy.dbapi_connection, None)
        if lost:
            self._unsure = True
            self._in_transaction = False
            # As SQLAlchemy does: every connection as old as this one is suspect (each is
            # replaced at its next check-out); this one is thrown away on close.
            self._engine.sync_engine.pool._invalidate(self._fairy, driver_error, _checkin=False)
        return _sqlalchemy_error(dialect, sql, args, driver_error, lost)


async def _checkout(engine: AsyncEngine) -> Any:
    """A connection from the engine's pool (SQLAlchemy's pool proxy, its "fairy"). The pool's
    checkout runs its events (the ping after idle) and may connect: both await the driver
    through SQLAlchemy's greenlet bridge."""
    dialect = engine.sync_engine.dialect
    try:
        return await greenlet_spawn(engine.sync_engine.pool.connect)
    except dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy's engine.connect() wraps it: an error raised while connecting, with
        # no statement (engine.is_outage: the database cannot be reached just now).
        lost = dialect.is_disconnect(error, None, None)
        raise _sqlalchemy_error(dialect, None, None, error, lost) from error


def _sqlalchemy_error(
    dialect: Dialect, sql: str | None, args: Any, driver_error: Exception, lost: bool
) -> sa_exc.StatementError:
    """A driver's error as SQLAlchemy raises it (`IntegrityError`, `OperationalError`, …),
    parameters hidden; `sql` None: raised while connecting."""
    return sa_exc.DBAPIError.instance(
        sql,
        args,
        driver_error,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=dialect,
    )


class _Driver(Protocol):
    # Whether a statement sent outside BEGIN commits by itself (so `single` and an autocommit
    # engine may send one bare).
    bare_statements_commit: bool

    async def begin(self) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]: ...
    async def execute(self, sql: str, args: Sequence[Any]) -> int: ...
    def in_transaction(self) -> bool: ...
    def is_closed(self) -> bool: ...
    def lost_before_sending(self, error: Exception) -> Exception | None:
        """For `error` saying the call was refused, with nothing sent, on a connection the
        server had already ended: the error to raise in its place (a lost connection's).
        None for any other error."""


class _Asyncpg:
    bare_statements_commit = True

    def __init__(self, connection: Any, asyncpg: Any) -> None:
        self._connection = connection
        self._asyncpg = asyncpg
        self._transaction: Any = None

    async def begin(self) -> None:
        transaction = self._connection.transaction()
        await transaction.start()
        self._transaction = transaction

    async def commit(self) -> None:
        transaction, self._transaction = self._transaction, None
        await transaction.commit()

    async def rollback(self) -> None:
        transaction, self._transaction = self._transaction, None
        await transaction.rollback()

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        return list(await self._connection.fetch(sql, *args))

    async def execute(self, sql: str, args: Sequence[Any]) -> int:
        status = await self._connection.execute(sql, *args)
        found = _ROWCOUNT.match(status or "")
        return int(found.group(1)) if found else -1

    def in_transaction(self) -> bool:
        return bool(self._connection.is_in_transaction())

    def is_closed(self) -> bool:
        return bool(self._connection.is_closed())

    def lost_before_sending(self, error: Exception) -> Exception | None:
        # asyncpg checks a connection before it sends a call on it, and gives it up (closes it)
        # when it refuses one for either of these: the connection closed already, or it read an
        # error the server sent outside any call, which PostgreSQL sends only as it ends the
        # session (FATAL: terminated, timed out, shutting down) and before it closes the socket.
        # asyncpg then says "cannot switch to state N; another operation (2) is in progress":
        # 2 is its state for reading what is left of a failed call.
        exceptions = self._asyncpg.exceptions
        if not self._connection.is_closed():
            return None
        if isinstance(error, exceptions.InterfaceError) and "connection is closed" in str(error):
            why = "the connection was closed before the statement was sent"
        elif isinstance(error, exceptions.InternalClientError) and _ENDING.match(str(error)):
            why = (
                "the server ended the session before the statement was sent"
                " (its last error was read, its close not yet)"
            )
        else:
            return None
        lost: Exception = exceptions.ConnectionDoesNotExistError(why)
        return lost


# asyncpg's refusal of a call on a connection still reading the server's goodbye (state 2).
_ENDING = re.compile(r"^cannot switch to state \d+; another operation \(2\) is in progress")


class _Aiosqlite:
    """aiosqlite runs each call on the connection's own thread: one hop per call here, where
    SQLAlchemy's adapter makes three or four (cursor, execute, fetch, close)."""

    bare_statements_commit = True

    def __init__(self, connection: Any, *, read_only: bool) -> None:
        self._connection = connection
        # As engine.py's begin event: writers take the write lock up front, readers none.
        self._begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    async def begin(self) -> None:
        await self._connection.execute_fetchall(self._begin)

    async def commit(self) -> None:
        await self._connection.commit()

    async def rollback(self) -> None:
        await self._connection.rollback()

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        return list(await self._connection.execute_fetchall(sql, args))

    async def execute(self, sql: str, args: Sequence[Any]) -> int:
        cursor = await self._connection.execute(sql, args)
        count = int(cursor.rowcount)
        await cursor.close()
        return count

    def in_transaction(self) -> bool:
        return not self.is_closed() and bool(self._connection.in_transaction)

    def is_closed(self) -> bool:
        return getattr(self._connection, "_connection", None) is None

    def lost_before_sending(self, error: Exception) -> Exception | None:
        return None  # in-process: no server to end a session


class _Aiomysql:
    """SQLAlchemy keeps aiomysql's connections out of autocommit, so the server begins a
    transaction at the first statement by itself (SQLAlchemy sends no BEGIN either) and only a
    COMMIT or ROLLBACK ends it. Arguments are always passed, even none: the driver then turns
    the compiled `%%` back into `%`, as under SQLAlchemy."""

    bare_statements_commit = False  # a statement sent "bare" would stay uncommitted

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def begin(self) -> None:
        pass  # implicit: see the class's note

    async def commit(self) -> None:
        await self._connection.commit()

    async def rollback(self) -> None:
        await self._connection.rollback()

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        return (await self._run(sql, args))[1]

    async def execute(self, sql: str, args: Sequence[Any]) -> int:
        # Rows matched, not changed: SQLAlchemy's dialect connects with CLIENT.FOUND_ROWS, so a
        # versioned update that rewrites equal values still counts its row.
        return (await self._run(sql, args))[0]

    async def _run(self, sql: str, args: Sequence[Any]) -> tuple[int, list[Any]]:
        cursor = await self._connection.cursor()
        try:
            count = int(await cursor.execute(sql, tuple(args)))
            return count, list(await cursor.fetchall())
        finally:
            await cursor.close()

    def in_transaction(self) -> bool:
        return not self.is_closed() and bool(self._connection.get_transaction_status())

    def is_closed(self) -> bool:
        return bool(self._connection.closed)

    def lost_before_sending(self, error: Exception) -> Exception | None:
        return None  # a lost connection is found when a statement is sent, never before


class DirectResult:
    """The rows of one statement, read as the adapters read SQLAlchemy's results: asyncpg's
    records (read by position and by name), or plain tuples with their column names."""

    def __init__(
        self, records: Sequence[Any], rowcount: int, keys: Sequence[str] | None = None
    ) -> None:
        self._records = records
        self._keys = keys
        self.rowcount = rowcount

    def mappings(self) -> _Mappings:
        if self._keys is None:
            return _Mappings(self._records)
        keys = self._keys
        return _Mappings([dict(zip(keys, row, strict=True)) for row in self._records])

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
    """Rows read by column name, as SQLAlchemy's RowMapping does."""

    def __init__(self, records: Sequence[Mapping[str, Any]]) -> None:
        self._records = records

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self._records)

    def first(self) -> Mapping[str, Any] | None:
        return self._records[0] if self._records else None

    def all(self) -> list[Mapping[str, Any]]:
        return list(self._records)


async def insert_soon(session: SqlConnection, table: Table, row: dict[str, Any]) -> None:
    """`DirectConnection.insert_soon` where the connection is one; otherwise sent at once."""
    if isinstance(session, DirectConnection):
        await session.insert_soon(table, row)
    else:
        await session.execute(insert_into(table), row)


_INSERTS: dict[Table, Insert] = {}


def insert_into(table: Table) -> Insert:
    """`insert(table)`, built once per table: its cache key and compiled form are reused."""
    statement = _INSERTS.get(table)
    if statement is None:
        statement = _INSERTS[table] = insert(table)
    return statement


# -- writes carried by an update (PostgreSQL) ----------------------------------------------------
Carrier = TypeVar("Carrier", Update, Insert)
# The statements built to carry inserts, by id (kept alive here).
_CARRIERS: dict[int, Update | Insert] = {}
_CARRYING: dict[tuple[Any, ...], Insert] = {}  # an insert with its WITH clauses, by shape


class _Soon(NamedTuple):
    """A write waiting for a carrier: an insert of `row`, or (`by` given) an update of the row
    whose column `by` is `row[by]`."""

    table: Table
    row: dict[str, Any]
    by: str | None = None


_UPDATES_BY: dict[tuple[Table, str], Update] = {}


def _update_by(table: Table, by: str, row: dict[str, Any]) -> tuple[Update, dict[str, Any]]:
    """The statement of a deferred update sent on its own, and its parameters."""
    statement = _UPDATES_BY.get((table, by))
    if statement is None:
        statement = _UPDATES_BY[table, by] = update(table).where(
            table.c[by] == bindparam(f"where_{by}")
        )
    values = {key: value for key, value in row.items() if key != by}
    return statement, values | {f"where_{by}": row[by]}


def carries_inserts(statement: Carrier) -> Carrier:
    """Mark an update or insert built once (module level) as one that deferred writes may
    ride on."""
    _CARRIERS[id(statement)] = statement
    return statement


def _can_ride(deferred: list[_Soon]) -> bool:
    """At most one insert per table: the order of several rows inserted by one statement (their
    `seq`) is not promised. Updates of rows named by key can always ride, each its own clause."""
    tables = [soon.table for soon in deferred if soon.by is None]
    return len(set(tables)) == len(tables)


def _shape(deferred: list[_Soon]) -> tuple[Any, ...]:
    return tuple((soon.table, soon.by, tuple(sorted(soon.row))) for soon in deferred)


def _name(n: int, soon: _Soon) -> str:
    return f"{'insert' if soon.by is None else 'update'}_{n}"


def _binds(n: int, soon: _Soon) -> dict[str, Any]:
    """The deferred write's values, each bound to a parameter of its own (`<name>_<column>`)."""
    table, name = soon.table, _name(n, soon)
    return {key: bindparam(f"{name}_{key}", type_=table.c[key].type) for key in soon.row}


def _riding_update(n: int, soon: _Soon) -> Update:
    assert soon.by is not None
    binds = _binds(n, soon)
    key = binds.pop(soon.by)
    return update(soon.table).where(soon.table.c[soon.by] == key).values(binds)


def _with_inserts(
    carrier: Insert, parameters: Any, deferred: list[_Soon]
) -> tuple[Insert, dict[str, Any]]:
    """`carrier` (a new row: the statement inserts all of its rows or, refused, none of them)
    with each deferred insert as a WITH clause `insert_<n>`, its values bound to parameters of
    its own; built once per shape. Updates are queued only for an update's carrier
    (`_guarded`)."""
    shape = (id(carrier), *_shape(deferred))
    carrying = _CARRYING.get(shape)
    if carrying is None:
        if len(_CARRYING) >= _CACHE_LIMIT:
            _CARRYING.clear()
        carrying = carrier
        for n, soon in enumerate(deferred):
            assert soon.by is None, "an update rides on an update only"
            carrying = carrying.add_cte(
                insert(soon.table).values(_binds(n, soon)).cte(_name(n, soon))
            )
        _CARRYING[shape] = carrying
    return carrying, _merged(parameters, deferred)


_GUARDED: dict[tuple[Any, ...], Select[Any]] = {}  # a lone update with its writes, by shape


def _guarded(
    update_: Update, parameters: Any, deferred: list[_Soon]
) -> tuple[Select[Any], dict[str, Any]]:
    """`update_` carrying the deferred writes, fit to commit alone (no transaction to roll
    back): each deferred insert selects its values from the rows the update returned, and each
    deferred update applies only if there is one, so an update that found another version (no
    row) writes nothing else either. The statement answers how many rows the update changed:

        WITH updated AS (UPDATE … RETURNING id), insert_0 AS (INSERT … SELECT … FROM updated),
        update_1 AS (UPDATE … WHERE … AND EXISTS (SELECT … FROM updated))
        SELECT count(*) FROM updated

    The columns it sets are bound by name (`set_<column>`): inside a WITH clause SQLAlchemy
    does not bind an update's values from the parameters, as it does for a statement of its
    own. Built once per shape."""
    table = update_.table
    assert isinstance(table, Table)
    given = dict(parameters or {})
    setting = sorted(key for key in given if key in table.c)
    shape = (id(update_), tuple(setting), *_shape(deferred))
    guarded = _GUARDED.get(shape)
    if guarded is None:
        if len(_GUARDED) >= _CACHE_LIMIT:
            _GUARDED.clear()
        values = {key: bindparam(f"set_{key}", type_=table.c[key].type) for key in setting}
        updated = update_.values(values).returning(*table.primary_key.columns).cte("updated")
        guarded = select(func.count()).select_from(updated)
        for n, soon in enumerate(deferred):
            if soon.by is None:
                names = sorted(soon.row)
                binds = _binds(n, soon)
                chosen = select(*(binds[key] for key in names)).select_from(updated)
                write: Any = insert(soon.table).from_select(names, chosen)
            else:
                write = _riding_update(n, soon).where(exists().select_from(updated))
            guarded = guarded.add_cte(write.cte(_name(n, soon)))
        _GUARDED[shape] = guarded
    renamed = {(f"set_{key}" if key in table.c else key): value for key, value in given.items()}
    return guarded, _merged(renamed, deferred)


def _merged(parameters: Any, deferred: list[_Soon]) -> dict[str, Any]:
    merged = dict(parameters or {})
    for n, soon in enumerate(deferred):
        name = _name(n, soon)
        merged.update({f"{name}_{key}": value for key, value in soon.row.items()})
    return merged


# -- compiling, as SQLAlchemy's execution context does --------------------------------------------
class _Prepared(NamedTuple):
    sql: str
    args: list[Any]
    returns_rows: bool
    reader: _RowReader | None
    plain_read: bool  # a SELECT that neither locks nor writes (no data-modifying WITH)


class _RowReader:
    """Turns a driver's plain tuples (SQLite's) into what SQLAlchemy's result would give: each
    column through its type's result processor (text to datetime, JSON, booleans), by name."""

    def __init__(self, compiled: SQLCompiler, dialect: Dialect) -> None:
        columns = compiled._result_columns
        self.keys = [column.keyname for column in columns]
        self.processors = [
            column.type._cached_result_processor(dialect, None) for column in columns
        ]
        self.processes = any(self.processors)

    def result(self, rows: list[Any]) -> DirectResult:
        if not self.keys:
            return DirectResult(rows, len(rows))  # textual SQL: by position only
        if self.processes:
            processors = self.processors
            rows = [
                tuple(p(value) if p else value for p, value in zip(processors, row, strict=True))
                for row in rows
            ]
        return DirectResult(rows, len(rows), self.keys)


class _Compiled(NamedTuple):
    compiled: SQLCompiler
    reader: _RowReader | None  # None: the driver's rows need no reading (asyncpg's records)
    plain_read: bool


# Per dialect (an engine's): a compiled statement holds its dialect's type processors.
_compiled: weakref.WeakKeyDictionary[Dialect, dict[tuple[Any, ...], _Compiled]] = (
    weakref.WeakKeyDictionary()
)


def _prepared(dialect: Dialect, statement: ClauseElement, parameters: Any) -> _Prepared:
    """The SQL and positional arguments the driver takes, as SQLAlchemy would send them."""
    if parameters is not None and not isinstance(parameters, Mapping):
        # No adapter sends several rows at once; SQLAlchemy's path would, this one does not.
        raise NotImplementedError("A list of parameter sets is not sent directly.")
    column_keys = sorted(parameters) if parameters else []
    (compiled, reader, plain_read), extracted = _compile(dialect, statement, column_keys)
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise NotImplementedError("Python-side column defaults are not sent directly.")
    values = compiled.construct_params(
        parameters or {}, escape_names=False, extracted_parameters=extracted
    )
    processors: Mapping[str, Any] = compiled._bind_processors
    sql = compiled.string
    positions: Sequence[str] | None = compiled.positiontup
    if compiled.literal_execute_params or compiled.post_compile_params:
        expanded = compiled._process_parameters_for_postcompile(values)
        sql, positions = expanded.statement, expanded.positiontup
        processors = {**processors, **expanded.processors}
    assert positions is not None, "the direct path's dialects are positional"
    args = [processors[key](values[key]) if key in processors else values[key] for key in positions]
    # A write's answer is its row count, unless it returns rows.
    is_write = compiled.isinsert or compiled.isupdate or compiled.isdelete
    returns_rows = not is_write or bool(compiled.effective_returning)
    return _Prepared(sql, args, returns_rows, reader, plain_read)


def _compile(
    dialect: Dialect, statement: ClauseElement, column_keys: list[str]
) -> tuple[_Compiled, Any]:
    cache_key = statement._generate_cache_key()
    if cache_key is None:  # not cacheable: compiled each time, as SQLAlchemy would
        return _compiled_for(dialect, statement, None, column_keys), None
    cache = _compiled.setdefault(dialect, {})
    key = (cache_key.key, tuple(column_keys))
    found = cache.get(key)
    if found is None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = found = _compiled_for(dialect, statement, cache_key, column_keys)
    return found, cache_key.bindparams


def _compiled_for(
    dialect: Dialect, statement: ClauseElement, cache_key: Any, column_keys: list[str]
) -> _Compiled:
    compiled = statement.compile(dialect=dialect, cache_key=cache_key, column_keys=column_keys)
    assert isinstance(compiled, SQLCompiler)
    reader = None if dialect.driver == "asyncpg" else _RowReader(compiled, dialect)
    # Only a bare SELECT: one with a WITH clause may carry a write, FOR UPDATE takes locks.
    plain_read = (
        isinstance(statement, Select)
        and statement._for_update_arg is None
        and compiled.string.lstrip().upper().startswith("SELECT")
    )
    return _Compiled(compiled, reader, plain_read)
