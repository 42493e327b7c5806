"""A release started on a PostgreSQL database `sunap migrate` has not brought to this release's
schema (never migrated, then one revision behind): `/readyz` is `503` naming the cause, the API
answers `503 SERVICE_UNAVAILABLE` saying to run `sunap migrate` (never a 500), and once the
migration has run the same process is ready and serves payments."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.migrate import upgrade
from sunap.adapters.sql.schema import expected_revisions
from tests.e2e.flows import create_payment
from tests.support.databases import create_database, drop_database, set_revision
from tests.support.service import (
    TEST_SECRETS_KEY,
    RunningService,
    running_service,
)


@pytest.fixture()
def unmigrated(tmp_path: Path) -> Iterator[tuple[RunningService, str]]:
    url = create_database("postgresql", tmp_path)
    try:
        with running_service(
            tmp_path, migrated=False, SUNAP_DATABASE_URL=url, SUNAP_SECRETS_KEY=TEST_SECRETS_KEY
        ) as service:
            yield service, url
    finally:
        drop_database(url)


def not_migrated(answer: httpx.Response) -> bool:
    body = answer.json()
    return (
        answer.status_code == 503
        and body["code"] == "SERVICE_UNAVAILABLE"
        and "sunap migrate" in body["message"]
        and int(answer.headers["Retry-After"]) >= 1
    )


def test_a_release_started_before_its_migration_is_not_ready_until_it_has_run(
    unmigrated: tuple[RunningService, str],
) -> None:
    service, url = unmigrated
    with service.client("sk_sunap_" + "x" * 40) as api:
        ready = api.get("/readyz")
        assert not_migrated(ready)
        assert ready.json()["checks"] == {"database": "not migrated"}
        assert not_migrated(api.get("/v1/payments"))

    (head,) = expected_revisions()
    upgrade(url, f"{int(head) - 1:04d}")  # one revision behind: every table, not every column
    with service.client() as api:
        behind = api.get("/readyz")
        assert not_migrated(behind)
        assert behind.json()["checks"] == {"database": "not migrated"}

    service.cli("migrate")
    ready = httpx.get(f"{service.base_url}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}
    key = service.create_key("shop-migrated", "payments:read", "payments:write")
    with service.client(key) as api:
        assert create_payment(api, 1000)["status"] == "READY"
    assert "unexpected error" not in service.logs()  # what a 500 logs


def test_each_probe_of_an_unmigrated_database_says_so_and_adds_nothing_to_the_log(
    unmigrated: tuple[RunningService, str],
) -> None:
    """/readyz asks the database's revision again on every probe (a load balancer's every few
    seconds) until `sunap migrate` has run: each asking logged Alembic's two INFO lines
    ("Context impl PostgresqlImpl.", "Will assume transactional DDL."). The probe's answer is
    the news; a refused API request still logs its own line."""
    service, _ = unmigrated
    with service.client() as probe:
        for _ in range(3):
            ready = probe.get("/readyz")
            assert not_migrated(ready)
            assert ready.json()["checks"] == {"database": "not migrated"}
    assert "alembic" not in service.logs()


def test_a_database_at_a_revision_not_sunaps_is_not_ready_and_says_migrate_would_not_help(
    unmigrated: tuple[RunningService, str],
) -> None:
    """Another application's database (its own Alembic revision, none of Sunap's tables):
    `sunap migrate` cannot bring it anywhere, so neither /readyz nor the API sends the operator
    to run it."""
    service, url = unmigrated
    create_foreign_revision(url, "ae1027a6acf")
    with service.client("sk_sunap_" + "x" * 40) as api:
        for answer in (api.get("/readyz"), api.get("/v1/payments")):
            body = answer.json()
            assert answer.status_code == 503 and body["code"] == "SERVICE_UNAVAILABLE"
            assert "sunap migrate" not in body["message"], body
            assert "not Sunap's" in body["message"] and "SUNAP_DATABASE_URL" in body["message"]
            assert int(answer.headers["Retry-After"]) >= 1
        assert api.get("/readyz").json()["checks"] == {"database": "foreign schema"}
    assert "unexpected error" not in service.logs()


def test_the_embedded_default_serves_a_database_a_later_release_migrated(tmp_path: Path) -> None:
    """After a rollback: `sunap serve` migrates its SQLite file itself, and finds it newer."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'sunap.db'}"
    upgrade(url)
    set_revision(url, "0999")
    with running_service(tmp_path, migrated=False, SUNAP_DATABASE_URL=url) as service:
        ready = httpx.get(f"{service.base_url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert "Traceback" not in service.logs()


def create_foreign_revision(url: str, revision: str) -> None:
    async def create() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
                )
                await connection.execute(
                    text("INSERT INTO alembic_version VALUES (:v)"), {"v": revision}
                )
        finally:
            await engine.dispose()

    asyncio.run(create())
