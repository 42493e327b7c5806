"""Column types that mean the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, LargeBinary
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

# Money in the currency's smallest unit: BIGINT everywhere.
Money = BigInteger

# An autoincrementing 64-bit key; SQLite only autoincrements a column declared INTEGER.
Serial: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")


class _FromHex(ColumnElement[bytes]):
    """A bound bytes value sent as hex text, decoded by the server (see Blob)."""

    inherit_cache = True

    def __init__(self, bound: BindParameter[Any]) -> None:
        self.bound = bound
        self.type = bound.type


@compiles(_FromHex)
def _from_hex_default(element: _FromHex, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.bound, **kw)


@compiles(_FromHex, "mysql")
def _from_hex_mysql(element: _FromHex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"UNHEX({compiler.process(element.bound, **kw)})"


class _HexLongBlob(mysql.LONGBLOB):
    """LONGBLOB whose parameters arrive already as hex text (Blob's job), not as bytes."""

    def bind_processor(self, dialect: Dialect) -> None:
        return None


class Blob(TypeDecorator[bytes]):
    """Raw bytes of any size (LONGBLOB on MariaDB, whose plain BLOB stops at 64 KiB).

    On MariaDB the value travels as hex text: aiomysql 0.3 cannot escape bytes parameters with
    PyMySQL >= 1.2 (it imports a helper PyMySQL no longer has).
    """

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "mysql":
            return dialect.type_descriptor(_HexLongBlob())
        return dialect.type_descriptor(LargeBinary())

    def bind_expression(self, bindvalue: BindParameter[bytes]) -> ColumnElement[bytes]:
        return _FromHex(bindvalue)

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "mysql":
            return value
        return bytes(value).hex()

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else bytes(value)


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


def fitted_key(value: str, column: ColumnElement[str]) -> str:
    """A value only ever compared for equality (a dedup key, a fingerprint), made to fit its
    String column: as it is when it fits, otherwise its SHA-256. A value built from what a
    client sent can be of any length; the column cannot, and an overlong value would be an
    error rather than a row."""
    length = getattr(column.type, "length", None)
    if length is None or len(value) <= length:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def fitted_label(value: str, column: ColumnElement[str]) -> str:
    """A value shown to people (an event type), cut to its String column's length."""
    length = getattr(column.type, "length", None)
    return value if length is None else value[:length]
