"""Readiness asks whether the database is at a schema this release can use (`sunap migrate` ran):
never migrated or behind is not; at this release's head is; a revision this release does not
know, left by a newer release's `sunap migrate` (run before the old processes roll, and met again
after a code rollback), is too: /readyz must not send an operator to run a migrate that cannot
help. Nor for a revision that is not Sunap's: that is told apart from one behind.
(Migrations run their own event loop: these tests are not coroutines.)"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.migrate import upgrade
from sunap.adapters.sql.schema import SchemaCheck
from sunap.application.schema_fit import SchemaFit


def fit(path: Path) -> SchemaFit:
    return asyncio.run(_fit(path))


async def _fit(path: Path) -> SchemaFit:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        return await SchemaCheck(engine).fit()
    finally:
        await engine.dispose()


def set_revision(path: Path, revision: str) -> None:
    sync = sa.create_engine(f"sqlite:///{path}")
    with sync.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    sync.dispose()


def test_a_database_is_current_at_this_releases_head_or_past_it(tmp_path: Path) -> None:
    path = tmp_path / "sunap.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    assert fit(path) is SchemaFit.CURRENT

    set_revision(path, "9999")  # what a later release's `sunap migrate` leaves
    assert fit(path) is SchemaFit.NEWER


def test_a_database_never_migrated_or_behind_is_not(tmp_path: Path) -> None:
    path = tmp_path / "sunap.db"
    sa.create_engine(f"sqlite:///{path}").dispose()
    assert fit(path) is SchemaFit.BEHIND

    upgrade(f"sqlite+aiosqlite:///{path}")
    set_revision(path, "0001")  # this release's first: behind its head
    assert fit(path) is SchemaFit.BEHIND


def test_a_revision_not_numbered_ours_is_not_taken_for_a_newer_release(tmp_path: Path) -> None:
    """Another application's revision in the same table, or one from before a squash: nothing
    says its schema is ours, so the process is not ready (503 "foreign schema", not 500s)."""
    path = tmp_path / "sunap.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    for foreign in ("ae1027a6acf", "0001x"):
        set_revision(path, foreign)
        assert fit(path) is SchemaFit.FOREIGN, foreign


def test_each_backend_is_asked_for_its_revision_without_a_line_in_the_log(
    empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """/readyz asks on every probe until `sunap migrate` has run: Alembic's MigrationContext,
    made for each asking, logged two INFO lines each time ("Context impl PostgresqlImpl.")."""

    async def fit_of_the_database() -> SchemaFit:
        engine = create_engine(empty_database_url)
        try:
            return await SchemaCheck(engine).fit()
        finally:
            await engine.dispose()

    with caplog.at_level(logging.DEBUG):
        assert asyncio.run(fit_of_the_database()) is SchemaFit.BEHIND  # no alembic_version
        assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []
        upgrade(empty_database_url)
        caplog.clear()
        assert asyncio.run(fit_of_the_database()) is SchemaFit.CURRENT
        assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []
