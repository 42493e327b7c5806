"""Is the database at the schema this release's code was written for? A release started before
`sunap migrate` ran (or on an older schema) is not ready, and says so instead of answering 500;
one on a database that is not Sunap's says that instead."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, column, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.application.schema_fit import SchemaFit

# Inside the package (its package data), so that an installed wheel migrates as a clone does.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Where Alembic keeps a database's revisions (its default name, which migrations/env.py keeps).
VERSION_TABLE = table("alembic_version", column("version_num"))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


@functools.cache
def expected_revisions() -> frozenset[str]:
    """The head revisions of migrations/: what `sunap migrate` brings a database to."""
    return frozenset(_scripts().get_heads())


@functools.cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def fit_of(found: frozenset[str]) -> SchemaFit:
    """How a database at revisions `found` fits this release. Ours are numbered in order (0001,
    0002, …): one numbered past this release's head was made by a newer release. No revision at
    all (never migrated) is behind; one neither in migrations/ nor numbered past its head is not
    ours."""
    if found == expected_revisions():
        return SchemaFit.CURRENT
    if found <= _known_revisions():
        return SchemaFit.BEHIND
    head = max(_number(revision) for revision in expected_revisions())
    if len(found) == 1 and _number(next(iter(found))) > head:
        return SchemaFit.NEWER
    return SchemaFit.FOREIGN


def _number(revision: str) -> int:
    """A revision's place in our numbering; -1 for one not numbered ours."""
    prefix = revision.split("_", 1)[0]
    return int(prefix) if len(prefix) == 4 and prefix.isdigit() else -1


def current_revisions(connection: Connection) -> frozenset[str]:
    """The database's revisions; no alembic_version table (never migrated) reads as none.
    Read from the table itself, not through Alembic's MigrationContext, which logs two INFO
    lines each time it is made: /readyz asks on every probe while the database is unmigrated."""
    if not inspect(connection).has_table(VERSION_TABLE.name):
        return frozenset()
    return frozenset(connection.scalars(select(VERSION_TABLE.c.version_num)))


class SchemaCheck:
    """Asks the database once it is usable and remembers that (a schema does not go back while
    the process runs); asks again each time while it is not, so `sunap migrate` is noticed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._usable: SchemaFit | None = None

    async def fit(self) -> SchemaFit:
        """Raises what the driver raises when the database cannot be read."""
        if self._usable is not None:
            return self._usable
        async with self._engine.connect() as connection:
            fit = fit_of(await connection.run_sync(current_revisions))
        if fit.usable:
            self._usable = fit
        return fit
