"""Real databases for tests: a fresh, migrated database per backend, dropped afterwards.

Fixtures (register with `from tests.support.databases import *` in a conftest):
- `backend`: "sqlite", "postgresql" or "mariadb"; every test using a database runs once per
  backend in SUNAP_TEST_DATABASES (default: all three).
- `database_url`: one migrated database per backend for the whole session. Tests share it, so
  they use unique ids (see `unique`) and never assume an empty table.
- `fresh_database_url`: a migrated database of the test's own; `empty_database_url`: one with
  no tables at all (for migration tests).
- `engine`: an AsyncEngine on `database_url`, disposed after the test; `fresh_engine` the same
  on `fresh_database_url`.
`clear_database(engine)` deletes every row, for tests that need empty tables on a shared database.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sunap.adapters.sql.engine import async_url, create_engine
from sunap.adapters.sql.migrate import upgrade
from sunap.adapters.sql.tables import metadata

__all__ = [
    "backend",
    "clear_database",
    "database_url",
    "empty_database_url",
    "engine",
    "fresh_database_url",
    "fresh_engine",
    "unique",
]

BACKENDS = ("sqlite", "postgresql", "mariadb")
POSTGRES_SERVER = os.environ.get(
    "SUNAP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MARIADB_SERVER = os.environ.get("SUNAP_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test")

T = TypeVar("T")


def selected_backends() -> list[str]:
    chosen = os.environ.get("SUNAP_TEST_DATABASES")
    if not chosen:
        return list(BACKENDS)
    names = [n.strip() for n in chosen.split(",") if n.strip()]
    unknown = set(names) - set(BACKENDS)
    if unknown:
        raise ValueError(f"SUNAP_TEST_DATABASES names unknown backends: {sorted(unknown)}")
    return names


def unique(prefix: str) -> str:
    """An id no other test (or test run) uses.

    The `u` keeps every run of digits after a letter, so no id looks like a card number to
    the tests that search logs for one."""
    return f"{prefix}_u{uuid.uuid4().hex[:16]}"


def _outside_the_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return _on_a_thread(lambda: asyncio.run(make()))


def _on_a_thread(work: Callable[[], T]) -> T:
    # Sync fixtures must not touch the tests' event loop: give the work a thread (and loop) of
    # its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


async def _admin(server: str, statement: str) -> None:
    admin = create_async_engine(async_url(server), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


def create_database(backend: str, tmp_dir: Path) -> str:
    """A new empty database; returns its async URL."""
    name = unique("sunap_t")
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_dir / (name + '.db')}"
    if backend == "postgresql":
        _outside_the_loop(lambda: _admin(POSTGRES_SERVER, f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_SERVER).set(database=name)
    else:
        statement = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        _outside_the_loop(lambda: _admin(MARIADB_SERVER, statement))
        url = make_url(MARIADB_SERVER).set(database=name)
    return async_url(url.render_as_string(hide_password=False)).render_as_string(
        hide_password=False
    )


def drop_database(url: str) -> None:
    parsed = make_url(url)
    name = parsed.database
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", "-relay"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
    elif backend == "postgresql":
        _outside_the_loop(lambda: _admin(POSTGRES_SERVER, f'DROP DATABASE "{name}" WITH (FORCE)'))
    else:
        _outside_the_loop(lambda: _admin(MARIADB_SERVER, f"DROP DATABASE `{name}`"))


def migrate(url: str) -> None:
    _on_a_thread(lambda: upgrade(url))


def set_revision(url: str, revision: str) -> None:
    """Mark a migrated database as at `revision`, as a later release or another application
    would have left it."""

    async def update() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text("UPDATE alembic_version SET version_num = :v"), {"v": revision}
                )
        finally:
            await engine.dispose()

    _on_a_thread(lambda: asyncio.run(update()))


@pytest.fixture(scope="session", params=selected_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = create_database(backend, tmp_path_factory.mktemp("db"))
    try:
        migrate(url)
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    url = create_database(backend, tmp_path)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    url = create_database(backend, tmp_path)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def fresh_engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated database no other test touches."""
    engine = create_engine(fresh_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def clear_database(engine: AsyncEngine) -> None:
    """Delete every row of every Sunap table (children first)."""
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(delete(table))
