"""A release started on a PostgreSQL database `sunap migrate` has not brought to this release's
schema (never migrated, then one revision behind): `/readyz` is `503` naming the cause, the API
answers `503 SERVICE_UNAVAILABLE` saying to run `sunap migrate` (never a 500), and once the
migration has run the same process is ready and serves payments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sunap.adapters.sql.migrate import upgrade
from sunap.adapters.sql.schema import expected_revisions
from tests.e2e.flows import create_payment
from tests.support.databases import create_database, drop_database
from tests.support.service import TEST_SECRETS_KEY, RunningService, running_service


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
