"""A database password can sit in the URL's query (`postgresql://u@h/db?password=…`) as well as
before the `@`: `sunap serve` shows the URL it runs on with both masked."""

from __future__ import annotations

from pathlib import Path

from tests.support.databases import create_database, drop_database
from tests.support.service import TEST_SECRETS_KEY, running_service

SECRET = "SECRETQ0query0password"


def test_a_password_in_the_database_urls_query_is_masked_in_the_banner(tmp_path: Path) -> None:
    url = create_database("postgresql", tmp_path)
    try:
        with running_service(
            tmp_path,
            SUNAP_DATABASE_URL=f"{url}?password={SECRET}",
            SUNAP_SECRETS_KEY=TEST_SECRETS_KEY,
        ) as service:
            logs = service.logs()
    finally:
        drop_database(url)
    assert "Sunap listening" in logs
    assert SECRET not in logs
    assert "?password=***" in logs
