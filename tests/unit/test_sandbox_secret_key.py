"""The embedded sandbox's secret key is the database's: every process on one database has the same
(Toss and the sandbox keep an Idempotency-Key per secret key), another database has another."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunap.bootstrap import sandbox_secret_key


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("postgresql://sunap:pw@DB.example:5432/sunap", "postgres://other:pw2@db.example/sunap"),
        ("postgresql+asyncpg://u@db/sunap?ssl=require", "postgresql://u@db:5432/sunap"),
        ("mysql://root@127.0.0.1/sunap", "mariadb://root:pw@127.0.0.1:3306/sunap?charset=utf8mb4"),
    ],
)
def test_one_database_however_its_url_is_spelled_has_one_key(one: str, other: str) -> None:
    assert sandbox_secret_key(one) == sandbox_secret_key(other)


def test_an_sqlite_file_is_known_by_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = sandbox_secret_key("sqlite:///sunap.db")
    assert relative == sandbox_secret_key(f"sqlite+aiosqlite:///{tmp_path / 'sunap.db'}")
    assert relative != sandbox_secret_key(f"sqlite:///{tmp_path / 'other.db'}")


@pytest.mark.parametrize(
    "other",
    [
        "postgresql://u:pw@db/shop",  # another database on the server
        "postgresql://u:pw@db2/sunap",  # another server
        "postgresql://u:pw@db:5433/sunap",  # another port
        "mysql://u:pw@db/sunap",  # another backend
    ],
)
def test_another_database_has_another_key(other: str) -> None:
    assert sandbox_secret_key("postgresql://u:pw@db/sunap") != sandbox_secret_key(other)


def test_it_is_a_test_key_with_nothing_of_the_url_in_it() -> None:
    key = sandbox_secret_key("postgresql://sunap:hunter2secret@db.internal/sunap")
    assert key.startswith("test_sk_")
    assert not any(part in key for part in ("hunter2", "sunap:", "db.internal"))
