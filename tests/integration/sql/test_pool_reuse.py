"""A busy process reuses its database connections instead of opening one per request.

On PostgreSQL a new connection costs about ten GETs' CPU. With connections beyond the kept pool
opened and closed per use (SQLAlchemy's overflow), a process serving more concurrent requests
than it keeps paid that on about one request in fifty. PostgreSQL and MariaDB keep every
connection they open (engine.POOL_SIZE) and make a request wait for one beyond that; SQLite keeps
its overflow (see engine.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql import direct
from sunap.adapters.sql.engine import POOL_SIZE, create_engine
from tests.support.databases import create_database, drop_database, selected_backends

# More requests at once than the pool keeps, each holding its connection a moment.
CONCURRENT = POOL_SIZE + 10
ROUNDS = 4


SERVERS = [b for b in selected_backends() if b != "sqlite"]


@pytest.fixture(params=SERVERS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = create_database(request.param, tmp_path)
    engine = create_engine(url)  # the service's own settings
    try:
        yield engine
    finally:
        await engine.dispose()
        drop_database(url)


async def test_requests_beyond_the_pool_wait_for_a_kept_connection_instead_of_opening_one(
    engine: AsyncEngine,
) -> None:
    opened = 0

    @event.listens_for(engine.sync_engine, "connect")
    def _count(*_: Any) -> None:
        nonlocal opened
        opened += 1

    async def request() -> int:
        async with direct.connect(engine) as conn:
            value = await conn.scalar(select(1))
            await asyncio.sleep(0.01)  # others check out meanwhile
            return int(value)

    answers: list[int] = []
    opened_after_round: list[int] = []
    for _ in range(ROUNDS):
        answers += await asyncio.gather(*(request() for _ in range(CONCURRENT)))
        opened_after_round.append(opened)

    assert answers == [1] * (CONCURRENT * ROUNDS)  # every request got a connection
    assert opened_after_round[0] <= POOL_SIZE
    # Later rounds use the connections the first opened: none is closed on its way back.
    assert opened_after_round[-1] == opened_after_round[0], opened_after_round
