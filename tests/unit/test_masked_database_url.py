"""The database URL as people see it (the banner): every password masked, wherever it is."""

from __future__ import annotations

import pytest

from sunap.adapters.sql.masked_url import masked_database_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://sunap:pw@db/sunap", "postgresql://sunap:***@db/sunap"),
        ("postgresql://sunap@db/sunap?password=pw", "postgresql://sunap@db/sunap?password=***"),
        (
            "postgresql://u@db/x?sslmode=require&sslpassword=pw&passfile=/p&application_name=a",
            "postgresql://u@db/x?sslmode=require&sslpassword=***&passfile=***&application_name=a",
        ),
        ("mysql://u:pw@db/x?passwd=pw&PWD=pw", "mysql://u:***@db/x?passwd=***&PWD=***"),
        (
            "postgresql://u@db/x?client_secret=pw&token=pw",
            "postgresql://u@db/x?client_secret=***&token=***",
        ),
        (
            "postgresql://u@db/x?password=a&password=b",
            "postgresql://u@db/x?password=***&password=***",
        ),
        (
            "postgresql://u@db/x?application_name=a%26b",
            "postgresql://u@db/x?application_name=a%26b",
        ),
        ("sqlite+aiosqlite:///./sunap.db", "sqlite+aiosqlite:///./sunap.db"),
    ],
)
def test_every_password_of_the_url_is_masked(url: str, shown: str) -> None:
    assert masked_database_url(url) == shown
    assert "pw" not in masked_database_url(url).replace("pwd", "").replace("PWD", "")
