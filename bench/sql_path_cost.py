"""What one transaction costs in CPU through SQLAlchemy's execution path, through the direct path
the adapters use (src/sunap/adapters/sql/direct.py), and through the bare driver (the ceiling).

    .venv/bin/python bench/sql_path_cost.py [--backends postgresql,sqlite] [--transactions 3000]

Each transaction is a confirm's shape in small: a locked read of one row, a plain read of
another, an update of the first, commit; one at a time on a warm pooled connection. The figure
is this process's CPU (time.process_time) per transaction, the one that stays stable on a shared
machine. The bare driver keeps one connection open and sends literal SQL: no pool, no compiling,
no type processing, nothing a money path can do without.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sunap.adapters.sql import direct  # noqa: E402
from sunap.adapters.sql.engine import create_engine  # noqa: E402
from tests.support.databases import create_database, drop_database  # noqa: E402

metadata = MetaData()
rows = Table(
    "bench_rows", metadata, Column("id", Integer, primary_key=True), Column("name", String(64))
)
LOCKED = select(rows).where(rows.c.id == bindparam("a")).with_for_update()
PLAIN = select(rows).where(rows.c.id == bindparam("b"))
RENAME = update(rows).where(rows.c.id == bindparam("w")).values(name=bindparam("n"))


async def through_sqlalchemy(engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def one() -> None:
        async with sessions() as session:
            (await session.execute(LOCKED, {"a": 1})).mappings().first()
            (await session.execute(PLAIN, {"b": 2})).mappings().first()
            await session.execute(RENAME, {"w": 1, "n": "x"})
            await session.commit()

    return one


async def through_direct(engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    assert direct.takes_direct_path(engine)

    async def one() -> None:
        async with direct.begin(engine) as conn:
            (await conn.execute(LOCKED, {"a": 1})).mappings().first()
            (await conn.execute(PLAIN, {"b": 2})).mappings().first()
            await conn.execute(RENAME, {"w": 1, "n": "x"})

    return one


async def through_the_driver(url: str, backend: str) -> Callable[[], Awaitable[None]]:
    if backend == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))

        async def one_pg() -> None:
            async with conn.transaction():
                await conn.fetchrow("SELECT id, name FROM bench_rows WHERE id = $1 FOR UPDATE", 1)
                await conn.fetchrow("SELECT id, name FROM bench_rows WHERE id = $1", 2)
                await conn.execute("UPDATE bench_rows SET name = $1 WHERE id = $2", "x", 1)

        return one_pg
    if backend == "mariadb":
        return await _through_aiomysql(url)
    import aiosqlite

    lite = await aiosqlite.connect(url.split("///", 1)[1], isolation_level=None)

    async def one_sqlite() -> None:
        await lite.execute_fetchall("BEGIN IMMEDIATE")
        await lite.execute_fetchall("SELECT id, name FROM bench_rows WHERE id = ?", (1,))
        await lite.execute_fetchall("SELECT id, name FROM bench_rows WHERE id = ?", (2,))
        await (await lite.execute("UPDATE bench_rows SET name = ? WHERE id = ?", ("x", 1))).close()
        await lite.commit()

    return one_sqlite


async def _through_aiomysql(url: str) -> Callable[[], Awaitable[None]]:
    import aiomysql
    from sqlalchemy.engine import make_url

    parts = make_url(url)
    conn = await aiomysql.connect(
        host=parts.host or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        db=parts.database,
        autocommit=False,
    )

    async def one_mariadb() -> None:
        async with conn.cursor() as cur:
            await cur.execute("SELECT id, name FROM bench_rows WHERE id = %s FOR UPDATE", (1,))
            await cur.fetchone()
            await cur.execute("SELECT id, name FROM bench_rows WHERE id = %s", (2,))
            await cur.fetchone()
            await cur.execute("UPDATE bench_rows SET name = %s WHERE id = %s", ("x", 1))
        await conn.commit()

    return one_mariadb


async def cpu_ms_per_call(call: Callable[[], Awaitable[None]], count: int) -> float:
    for _ in range(min(300, count)):  # warm: pool, prepared statements, compiled cache
        await call()
    started = time.process_time()
    for _ in range(count):
        await call()
    return (time.process_time() - started) / count * 1000


async def bench(backend: str, count: int, workdir: Path) -> list[tuple[str, float]]:
    url = create_database(backend, workdir)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(rows.insert(), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        figures = []
        for name, make in (
            ("SQLAlchemy session", through_sqlalchemy(engine)),
            ("direct path (direct.py)", through_direct(engine)),
            ("bare driver (ceiling)", through_the_driver(url, backend)),
        ):
            figures.append((name, await cpu_ms_per_call(await make, count)))
        return figures
    finally:
        await engine.dispose()
        drop_database(url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--transactions", type=int, default=3000)
    args = parser.parse_args()
    print("| database | path | CPU ms per transaction | × bare driver |")
    print("|---|---|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="sunap-sql-bench-") as tmp:
        for backend in args.backends.split(","):
            figures = uvloop.run(bench(backend, args.transactions, Path(tmp)))
            ceiling = figures[-1][1]
            for name, ms in figures:
                print(f"| {backend} | {name} | {ms:.3f} | {ms / ceiling:.1f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
