"""Run the Alembic migrations in `migrations/` beside this module, from code (no alembic.ini).

A database at a revision this release does not know is never handed to Alembic, which can only
fail on it ("Can't locate revision"): one a later release migrated is left as it is (this release
runs on it), and one that is not Sunap's is refused with `ForeignSchema`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from alembic import command
from sqlalchemy import Connection

from sunap.application.schema_fit import SchemaFit

from .engine import create_engine
from .schema import alembic_config, current_revisions, expected_revisions, fit_of


class ForeignSchema(Exception):
    """The database is at a revision that is not Sunap's: nothing to migrate, nothing to run on.
    The message names the revision and no more (a `sunap` command prints it)."""

    def __init__(self, found: frozenset[str]) -> None:
        super().__init__(
            f"it is at schema revision {', '.join(sorted(found))}, which is not Sunap's: "
            "SUNAP_DATABASE_URL may name another application's database"
        )


@dataclass(frozen=True)
class Migration:
    """What a migration found: the database's revisions before it, and how they fit this
    release. NEWER: a later release's schema, left as it is (nothing was done)."""

    found: frozenset[str]
    fit: SchemaFit

    def left_as_it_is(self) -> str | None:
        """What to tell the operator when a later release's schema was left as it is."""
        if self.fit is not SchemaFit.NEWER:
            return None
        return (
            f"the database is at revision {', '.join(sorted(self.found))}, newer than this "
            f"release's {', '.join(sorted(expected_revisions()))}: nothing was done (this "
            "release runs on it as it is)"
        )


def upgrade(url: str, revision: str = "head") -> Migration:
    """Bring the database at `url` up to `revision`. Call it where no event loop is running."""
    return asyncio.run(upgrade_async(url, revision))


def downgrade(url: str, revision: str = "base") -> Migration:
    return asyncio.run(downgrade_async(url, revision))


async def upgrade_async(url: str, revision: str = "head") -> Migration:
    """The same, from inside a running event loop (an app's startup, an async test)."""
    return await _run(url, "upgrade", revision)


async def downgrade_async(url: str, revision: str = "base") -> Migration:
    return await _run(url, "downgrade", revision)


async def _run(url: str, direction: str, revision: str) -> Migration:
    engine = create_engine(url, statement_timeout=None)  # an index over a big table takes long
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(_run_sync, direction, revision)
    finally:
        await engine.dispose()


def _run_sync(connection: Connection, direction: str, revision: str) -> Migration:
    found = current_revisions(connection)
    migration = Migration(found, fit_of(found))
    if migration.fit is SchemaFit.FOREIGN:
        raise ForeignSchema(found)
    if migration.fit is SchemaFit.NEWER:
        return migration  # Alembic knows none of a later release's revisions
    config = alembic_config()
    config.attributes["connection"] = connection  # migrations/env.py runs on this connection
    if direction == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)
    return migration
