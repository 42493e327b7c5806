"""Every URL form we document becomes its async driver."""

from __future__ import annotations

import pytest

from sunap.adapters.sql.engine import async_url


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///var/sunap.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///var/sunap.db", "sqlite+aiosqlite"),
        ("postgresql://u:p@db:5432/sunap", "postgresql+asyncpg"),
        ("postgres://u:p@db:5432/sunap", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u:p@db/sunap", "postgresql+asyncpg"),
        ("mysql://root@db:3306/sunap", "mysql+aiomysql"),
        ("mariadb://root@db:3306/sunap", "mysql+aiomysql"),
        ("mysql+aiomysql://root@db/sunap", "mysql+aiomysql"),
    ],
)
def test_a_database_url_is_normalised_to_its_async_driver(given: str, driver: str) -> None:
    url = async_url(given)
    assert url.drivername == driver
    if driver == "mysql+aiomysql":
        assert url.query["charset"] == "utf8mb4"


def test_an_unknown_database_is_refused() -> None:
    with pytest.raises(ValueError, match="Unsupported"):
        async_url("oracle://scott@db/orcl")
