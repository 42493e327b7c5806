"""Is the database at the schema this release's code was written for? A release started before
`sunap migrate` ran (or on an older schema) is not ready, and says so instead of answering 500."""

from __future__ import annotations

import functools

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from .migrate import alembic_config


@functools.cache
def expected_revisions() -> frozenset[str]:
    """The head revisions of migrations/: what `sunap migrate` brings a database to."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def is_behind(found: frozenset[str]) -> bool:
    """Whether a database at `found` needs `sunap migrate` before this release can use it: at
    anything but this release's head or a later revision of ours, it does. Ours are numbered
    in order (0001, 0002, …): one numbered past this release's head was made by a newer release
    (its `sunap migrate` runs before the old processes roll, and a rolled-back release meets it
    too), whose schema keeps what older code needs. Anything else (never migrated, an older
    revision, another application's) is behind."""
    if found == expected_revisions():
        return False
    head = max(_number(revision) for revision in expected_revisions())
    return not (len(found) == 1 and _number(next(iter(found))) > head)


def _number(revision: str) -> int:
    """A revision's place in our numbering; -1 for one not numbered ours."""
    prefix = revision.split("_", 1)[0]
    return int(prefix) if len(prefix) == 4 and prefix.isdigit() else -1


class SchemaCheck:
    """Asks the database once it is current and remembers that (a schema does not go back while
    the process runs); asks again each time while it is not, so `sunap migrate` is noticed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._current = False

    async def is_current(self) -> bool:
        """Raises what the driver raises when the database cannot be read."""
        if not self._current:
            async with self._engine.connect() as connection:
                found = await connection.run_sync(_revisions)
            self._current = not is_behind(found)
        return self._current


def _revisions(connection: Connection) -> frozenset[str]:
    # No alembic_version table (a database never migrated) reads as no revision at all.
    return frozenset(MigrationContext.configure(connection).get_current_heads())
