"""Run the Alembic migrations in the top-level `migrations/` folder, from code (no alembic.ini)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from .engine import create_engine

# src/sunap/adapters/sql/migrate.py -> the repository root holds migrations/.
MIGRATIONS = Path(__file__).resolve().parents[4] / "migrations"


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision`. Call it where no event loop is running."""
    asyncio.run(upgrade_async(url, revision))


def downgrade(url: str, revision: str = "base") -> None:
    asyncio.run(downgrade_async(url, revision))


async def upgrade_async(url: str, revision: str = "head") -> None:
    """The same, from inside a running event loop (an app's startup, an async test)."""
    await _run(url, "upgrade", revision)


async def downgrade_async(url: str, revision: str = "base") -> None:
    await _run(url, "downgrade", revision)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def _run(url: str, direction: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_sync, direction, revision)
    finally:
        await engine.dispose()


def _run_sync(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection  # migrations/env.py runs on this connection
    if direction == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)
