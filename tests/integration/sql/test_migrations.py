"""The Alembic history, run up, down and up again on every database."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.migrate import downgrade_async, upgrade_async
from sunap.adapters.sql.tables import metadata

SUNAP_TABLES = {t.name for t in metadata.sorted_tables}


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


async def test_migrations_go_up_down_and_up_again(empty_database_url: str) -> None:
    await upgrade_async(empty_database_url)
    assert await _table_names(empty_database_url) == SUNAP_TABLES

    await downgrade_async(empty_database_url)
    assert await _table_names(empty_database_url) == set()

    await upgrade_async(empty_database_url)
    assert await _table_names(empty_database_url) == SUNAP_TABLES


async def test_the_migrations_build_exactly_the_tables_the_code_uses(database_url: str) -> None:
    def differences(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        return list(compare_metadata(context, metadata))

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == []
