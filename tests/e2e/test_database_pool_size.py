"""SUNAP_DATABASE_POOL_SIZE bounds the connections a `sunap serve` keeps on PostgreSQL and
MariaDB (docs/operations.md): for operators behind PgBouncer or with a tight max_connections.
A busy process then opens no more than that many, and requests beyond them wait for one."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sunap.adapters.sql.engine import async_url
from tests.e2e.flows import create_payment
from tests.support.databases import MARIADB_SERVER, POSTGRES_SERVER, selected_backends
from tests.support.service import RunningService, running_service_on

SERVERS = [b for b in selected_backends() if b != "sqlite"] or ["postgresql"]
POOL = 2
CONCURRENT = 16  # requests at once, far more than the pool


@pytest.fixture(scope="module", params=SERVERS)
def small_pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningService, str]]:
    workdir = Path(tmp_path_factory.mktemp(f"sunap-pool-{request.param}"))
    with running_service_on(request.param, workdir, SUNAP_DATABASE_POOL_SIZE=str(POOL)) as service:
        yield service, request.param


def connections_to(database_url: str, backend: str) -> int:
    """The sessions the server holds open on that database (the test's own is elsewhere)."""
    name = make_url(database_url).database
    if backend == "postgresql":
        server, query = POSTGRES_SERVER, "SELECT count(*) FROM pg_stat_activity WHERE datname = :n"
    else:
        server = MARIADB_SERVER
        query = "SELECT count(*) FROM information_schema.processlist WHERE db = :n"

    async def count() -> int:
        admin = create_async_engine(async_url(server))
        try:
            async with admin.connect() as connection:
                return int(await connection.scalar(text(query), {"n": name}))
        finally:
            await admin.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(count())).result()


def test_a_busy_process_keeps_no_more_connections_than_the_pool_size_it_was_given(
    small_pool: tuple[RunningService, str],
) -> None:
    service, backend = small_pool
    key = service.create_key("shop-pool", "payments:read", "payments:write")
    with service.client(key, timeout=60) as api:
        payment = create_payment(api)

        def burst(client: httpx.Client) -> list[int]:
            statuses = [client.get(f"/v1/payments/{payment['id']}").status_code for _ in range(5)]
            created = client.post("/v1/payments", json={"orderName": "책", "amount": 1000})
            return [*statuses, created.status_code]

        with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as threads:
            answered = [
                s
                for f in [threads.submit(burst, api) for _ in range(CONCURRENT)]
                for s in f.result()
            ]
    assert set(answered) == {200, 201}, answered  # every request waited its turn, none refused
    # The pool keeps what it opened (no overflow to close again): what is open now is the most
    # it ever held, the in-process workers' included.
    assert 1 <= connections_to(service.env["SUNAP_DATABASE_URL"], backend) <= POOL
