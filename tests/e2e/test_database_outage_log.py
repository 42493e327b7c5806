"""A database outage as the log and the metrics show it, on a real `sunap serve` (embedded sandbox,
workers inside) started while its database refuses connections, then given it back: each worker
says once that the database is unreachable and once that it is back, /metrics scrapes and the
start add a line each at most, none with a traceback; the workers' retries are counted apart
from their unexpected errors (`sunap_worker_errors_total` pages: SunapWorkersFailing).

The service reaches the database through a TCP proxy this test stops and starts, so the outage is
this service's alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.flows import wait_for
from tests.support.databases import create_database, drop_database, migrate, selected_backends
from tests.support.metrics import scrape
from tests.support.service import TEST_SECRETS_KEY, RunningService, running_service
from tests.support.thread_proxy import ThreadedTcpProxy

SERVERS = [b for b in selected_backends() if b != "sqlite"] or ["postgresql"]
UNAVAILABLE = "sunap_worker_database_unavailable_total"
ERRORS = "sunap_worker_errors_total"
# The workers that poll (housekeeping runs every SUNAP_HOUSEKEEPING_SECONDS, 600 by default).
POLLING = ("reconciler", "scheduler", "relay", "webhooks", "expiry")


@pytest.fixture(params=SERVERS)
def refused(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[RunningService, ThreadedTcpProxy]]:
    url = create_database(request.param, tmp_path)
    migrate(url)
    parsed = make_url(url)
    assert parsed.port is not None
    proxy = ThreadedTcpProxy(parsed.port)
    proxy.start()  # chooses its port,
    proxy.stop()  # which refuses connections until it starts again
    through_proxy = parsed.set(host="127.0.0.1", port=proxy.port)
    try:
        with running_service(
            tmp_path,
            migrated=False,
            SUNAP_DATABASE_URL=through_proxy.render_as_string(hide_password=False),
            SUNAP_SECRETS_KEY=TEST_SECRETS_KEY,
        ) as service:
            yield service, proxy
    finally:
        proxy.stop()
        drop_database(url)


def lines(service: RunningService, *words: str) -> list[str]:
    return [line for line in service.logs().splitlines() if all(w in line for w in words)]


def test_an_outage_is_a_line_per_worker_and_a_count_not_a_traceback_per_retry(
    refused: tuple[RunningService, ThreadedTcpProxy],
) -> None:
    service, proxy = refused
    base = service.base_url

    def retried_twice() -> bool:
        found = scrape(base)  # each scrape also tries to measure the outbox, and fails
        return all(found.value(UNAVAILABLE, worker=name) >= 2 for name in POLLING)

    assert wait_for(retried_twice, timeout=60)
    during = scrape(base)
    assert httpx.get(f"{base}/readyz", timeout=30).status_code == 503
    for name in POLLING:
        assert during.value(ERRORS, worker=name) == 0, name  # an outage, not a crash
        assert len(lines(service, f"worker {name}:", "unreachable")) == 1, name
    assert len(lines(service, "could not measure the outbox")) == 1
    assert len(lines(service, "own accounts were not registered")) <= 1  # at start
    assert "Traceback" not in service.logs()

    proxy.start()
    for name in POLLING:
        assert wait_for(lambda name=name: lines(service, f"worker {name}: the database is back"))
    assert httpx.get(f"{base}/readyz", timeout=30).status_code == 200

    def measured_again() -> bool:
        scrape(base)
        return bool(lines(service, "backlog are measured again"))

    assert wait_for(measured_again)
    after = scrape(base)
    for name in POLLING:
        assert after.value(ERRORS, worker=name) == 0, name
    assert "Traceback" not in service.logs()
