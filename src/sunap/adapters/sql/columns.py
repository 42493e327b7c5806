"""Column types that mean the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, LargeBinary
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

# Money in the currency's smallest unit: BIGINT everywhere.
Money = BigInteger

# An autoincrementing 64-bit key; SQLite only autoincrements a column declared INTEGER.
Serial: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")

# Raw bytes of any size; MariaDB's plain BLOB stops at 64 KiB.
Blob: TypeEngine[bytes] = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")

Json = JSON


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time: stored as UTC (microseconds on MariaDB), always read back as aware UTC.

    A naive datetime is refused: its meaning would depend on the server's time zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"A naive datetime cannot be stored: {value!r}")
        value = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
