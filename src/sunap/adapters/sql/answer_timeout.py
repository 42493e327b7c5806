"""How long the service waits for PostgreSQL's or MariaDB's answer to a statement (a commit, a
ping): a database that accepts connections and never answers (its server stopped, or a network
that drops packets without a reset) must fail the request as an outage, `503` with Retry-After
(`engine.is_outage`), not hold it and its connection forever. CONNECT_TIMEOUT bounds only the
opening of a connection.

STATEMENT_TIMEOUT is far above any statement the service sends (a list query or a commit takes
milliseconds, one scale-filled page of a million payments too; MariaDB gives up a lock wait
itself after 50 s, its innodb_lock_wait_timeout), so only a database that stopped answering
meets it. Migrations wait as long as they need (`create_engine(…, statement_timeout=None)`): an
index built over a large table may take minutes.

A statement that met it was sent, and the database may have done it: a commit may have
committed. Nothing is guessed: the request answers 503, the connection is thrown away (and the
pool's others with it, as after a lost connection: frozen with it, each would wait as long
again), and the payment is whatever the database has (the reconciler settles one left
`IN_PROGRESS`).

- PostgreSQL: asyncpg's `command_timeout`, for every call on the connection (SQLAlchemy's path
  and the direct one, direct.py); asyncpg then asks the server to cancel the statement. Its
  TimeoutError becomes `NoAnswer`, a lost connection to SQLAlchemy (`give_up_on_silence`) and
  to the direct path.
- MariaDB: aiomysql has no read timeout; `connect_mariadb` makes connections whose reads give up
  after it, raising what aiomysql raises for a connection lost mid-query (CR_SERVER_LOST, 2013),
  which both paths already take for one.
- SQLite: none. Its file is read in the process (a writer waits for the lock at most
  SQLITE_BUSY_TIMEOUT); there is no server to stop answering.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

STATEMENT_TIMEOUT = 60.0
# What aiomysql raises for a connection lost mid-query (PyMySQL's constants.CR.CR_SERVER_LOST).
CR_SERVER_LOST = 2013


class NoAnswer(TimeoutError):
    """The database did not answer within the statement timeout: an outage (a TimeoutError is an
    OSError, which `engine.is_outage` reads as one). What it did with the statement is unknown."""

    def __init__(self, seconds: float | None = None) -> None:
        within = f" within {seconds:g} s" if seconds is not None else " in time"
        super().__init__(f"the database did not answer{within}")


def give_up_on_silence(engine: AsyncEngine) -> None:
    """On SQLAlchemy's path, asyncpg's TimeoutError (its command_timeout) is a lost connection:
    thrown away with the pool's others, not handed back to the pool mid-statement."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _no_answer(context: ExceptionContext) -> BaseException | None:
        error = context.original_exception
        if not isinstance(error, TimeoutError) or isinstance(error, NoAnswer):
            return None
        context.is_disconnect = True
        return NoAnswer()


async def connect_mariadb(*args: Any, answer_timeout: float, **kwargs: Any) -> Any:
    """A connection as aiomysql.connect makes it, whose reads give up after `answer_timeout`
    (`connect_timeout` while it connects: aiomysql's own covers only the TCP connection, not
    the server's greeting and the login that follow)."""
    connection = _connection_that_gives_up()(*args, **kwargs)
    await connection._connect()
    connection.answer_timeout = answer_timeout
    return connection


@functools.cache
def _connection_that_gives_up() -> type[Any]:
    """aiomysql's Connection whose reads give up; built on first use (aiomysql is the mariadb
    extra's: absent where no MariaDB is configured)."""
    import aiomysql

    class ConnectionThatGivesUp(aiomysql.Connection):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.answer_timeout = float(self.connect_timeout)

        async def _read_bytes(self, num_bytes: int) -> bytes:
            # Bytes already read from the socket need no timer (most of an answer's packets):
            # one is armed only where the answer is awaited.
            if len(getattr(self._reader, "_buffer", b"")) >= num_bytes:
                ready: bytes = await super()._read_bytes(num_bytes)
                return ready
            try:
                async with asyncio.timeout(self.answer_timeout):
                    awaited: bytes = await super()._read_bytes(num_bytes)
                    return awaited
            except TimeoutError:
                self.close()  # as aiomysql does with a connection that failed mid-read
                raise aiomysql.OperationalError(
                    CR_SERVER_LOST,
                    "Lost connection to MySQL server during query "
                    f"({NoAnswer(self.answer_timeout)})",
                ) from None

    return ConnectionThatGivesUp
