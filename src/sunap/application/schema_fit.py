"""How the database's schema fits this release: what readiness, the 503s and `sunap migrate` go
by. Revisions are Alembic's (migrations/versions/), numbered 0001, 0002, … in order."""

from __future__ import annotations

from enum import Enum


class SchemaFit(Enum):
    CURRENT = "current"  # at this release's newest revision
    # At a revision of ours past this release's newest: a later release migrated it (its
    # `sunap migrate` runs before the old processes roll, and a rolled-back release meets it
    # too). Its schema keeps what older code needs, so this release runs on it as it is.
    NEWER = "newer"
    BEHIND = "behind"  # never migrated, or at an older revision of ours: `sunap migrate` helps
    # At a revision that is not ours (another application's alembic_version, or a history from
    # before a squash): nothing this release can run on, or migrate.
    FOREIGN = "foreign"

    @property
    def usable(self) -> bool:
        """Whether this release can run on the database as it is."""
        return self in (SchemaFit.CURRENT, SchemaFit.NEWER)
