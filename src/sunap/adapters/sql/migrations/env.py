"""Alembic environment: migrations run on the connection sunap.adapters.sql.migrate hands over."""

from __future__ import annotations

from alembic import context

from sunap.adapters.sql.tables import metadata

target_metadata = metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "Run migrations with `sunap migrate` or sunap.adapters.sql.migrate.upgrade(url)."
        )
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("Offline (SQL script) migrations are not supported.")
run_migrations_online()
