"""`sunap migrate` on a database at a revision this release does not know, on every backend
(docs/operations.md, Deployment; docs/cli.md): one a later release's `sunap migrate` left (met
after a rollback) is fine, so nothing is done and it says so (exit 0); one that is not Sunap's at
all (another application's) cannot be migrated, and it says why in one line (exit 3). Never
alembic's traceback."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from sqlalchemy import text

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.schema import expected_revisions
from tests.support.databases import set_revision
from tests.support.service import SUNAP

LATER = "0999"  # numbered as ours, past this release's head
FOREIGN = "ae1027a6acf"  # another application's (Alembic's own style of revision id)


def revision_of(url: str) -> str:
    async def read() -> str:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return str(await connection.scalar(text("SELECT version_num FROM alembic_version")))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def migrate(url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    return subprocess.run(
        [*SUNAP, "migrate"],
        env=base | {"SUNAP_DATABASE_URL": url},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_on_a_database_a_later_release_migrated_does_nothing_and_says_so(
    fresh_database_url: str, tmp_path: Path
) -> None:
    set_revision(fresh_database_url, LATER)
    done = migrate(fresh_database_url, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    (line,) = done.stdout.splitlines()
    (head,) = expected_revisions()
    assert LATER in line and head in line and "nothing was done" in line, line
    assert revision_of(fresh_database_url) == LATER


def test_migrate_on_a_database_at_a_revision_not_sunaps_exits_3_with_one_line(
    fresh_database_url: str, tmp_path: Path
) -> None:
    set_revision(fresh_database_url, FOREIGN)
    done = migrate(fresh_database_url, tmp_path)
    assert done.returncode == 3, done.stderr[-3000:]
    (line,) = done.stderr.splitlines()
    assert line.startswith("sunap: the database cannot be used ("), line
    assert FOREIGN in line and "not Sunap's" in line, line
    assert done.stdout == ""
    assert revision_of(fresh_database_url) == FOREIGN
