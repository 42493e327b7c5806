"""A database that accepts connections and never answers, under a real `sunap serve`: `/readyz`
answers `503` with Retry-After within SUNAP_READINESS_TIMEOUT_SECONDS (entrypoints/patient_check.py),
`/metrics` answers with what it has and says how old its backlog reading is, and an API request
answers `503` with Retry-After once its statement has waited the statement timeout
(adapters/sql/answer_timeout.py), never a 500. All three waited with no limit; then /readyz and
/metrics waited a fixed 5 s, past a probe's own timeout, and the backlog gauges went stale
without a sign. Once the database answers again, the service is whole.

The database is "frozen" by a proxy in front of it that stops forwarding (as `kill -STOP` of the
server would), so nothing shared is stopped. The API request is sent on PostgreSQL only: it waits
the service's own statement timeout, a minute; tests/integration/sql/test_frozen_database.py
meets the timeout on both databases and both of Sunap's statement paths, in a second."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from sunap.adapters.sql.answer_timeout import STATEMENT_TIMEOUT
from tests.e2e.flows import create_payment, wait_for
from tests.support.databases import create_database, drop_database, selected_backends
from tests.support.metrics import Scrape
from tests.support.service import TEST_SECRETS_KEY, RunningService, running_service
from tests.support.thread_proxy import ThreadedTcpProxy

SERVERS = [b for b in selected_backends() if b != "sqlite"] or ["postgresql"]
READINESS_TIMEOUT = 1.0  # the service's SUNAP_READINESS_TIMEOUT_SECONDS here
# A load balancer's probe, which counts a failure rather than wait longer: well above the
# readiness timeout, below the 5 s /readyz took whatever it was told.
PROBE = 4.0
# Generous guards against a hang, not timings: a ping, a statement and a connection attempt.
PATIENT_CLIENT = 60.0
API_CLIENT = 3 * STATEMENT_TIMEOUT
BACKLOG_READ_AT = "sunap_backlog_last_measured_timestamp_seconds"


@pytest.fixture(scope="module", params=SERVERS)
def frozen(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningService, ThreadedTcpProxy, str]]:
    workdir = Path(tmp_path_factory.mktemp(f"sunap-frozen-{request.param}"))
    url = create_database(request.param, workdir)
    parsed = make_url(url)
    proxy = ThreadedTcpProxy(parsed.port or 0)
    proxy.start()
    through = parsed.set(host="127.0.0.1", port=proxy.port)
    try:
        with running_service(
            workdir,
            SUNAP_DATABASE_URL=through.render_as_string(hide_password=False),
            SUNAP_SECRETS_KEY=TEST_SECRETS_KEY,
            SUNAP_READINESS_TIMEOUT_SECONDS=str(READINESS_TIMEOUT),
        ) as service:
            yield service, proxy, request.param
    finally:
        proxy.resume()
        proxy.stop()
        drop_database(url)


def unavailable(response: httpx.Response) -> bool:
    return (
        response.status_code == 503
        and response.json()["code"] == "SERVICE_UNAVAILABLE"
        and int(response.headers["Retry-After"]) >= 1
    )


def test_a_frozen_database_is_503_with_retry_after_and_metrics_still_answer(
    frozen: tuple[RunningService, ThreadedTcpProxy, str],
) -> None:
    service, proxy, backend = frozen
    key = service.create_key("shop-frozen", "payments:read", "payments:write")
    with service.client(key, timeout=API_CLIENT) as api:
        payment = create_payment(api)
        assert api.get("/readyz").status_code == 200
        scraped = api.get("/metrics")
        assert scraped.status_code == 200
        read_at = Scrape(scraped.text).value(BACKLOG_READ_AT)
        assert read_at > 0  # read from the database by this scrape
        proxy.pause()
        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                reading = (
                    pool.submit(api.get, f"/v1/payments/{payment['id']}")
                    if backend == "postgresql"  # see the module's docstring
                    else None
                )
                with httpx.Client(base_url=service.base_url, timeout=PROBE) as probe:
                    for _ in range(3):  # each probe answers, the stuck check still running
                        ready = probe.get("/readyz")
                        assert unavailable(ready), ready.text
                        assert ready.json()["checks"]["database"] == "unreachable"
                        scraped = probe.get("/metrics")
                        assert scraped.status_code == 200
                        assert "sunap_outbox_unpublished" in scraped.text
                        # The backlog gauges are the last reading, and say how old it is.
                        assert Scrape(scraped.text).value(BACKLOG_READ_AT) == read_at
                if reading is not None:
                    answer = reading.result()
                    assert unavailable(answer), answer.text  # never a 500, never a hang
        finally:
            proxy.resume()
        assert wait_for(lambda: api.get("/readyz").status_code == 200, timeout=PATIENT_CLIENT)
        assert wait_for(
            lambda: Scrape(api.get("/metrics").text).value(BACKLOG_READ_AT) > read_at,
            timeout=PATIENT_CLIENT,
        )
        again = api.get(f"/v1/payments/{payment['id']}")
        assert again.status_code == 200 and again.json()["status"] == "READY"
    assert "unexpected error" not in service.logs()  # what a 500 logs
