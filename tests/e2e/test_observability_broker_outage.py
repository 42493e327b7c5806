"""A broker outage as an operator sees it on a real `sunap serve` publishing to the machine's Redis
through a proxy this test cuts: the outbox gauges count the events that wait and how old the
oldest is, /readyz stays ready (payments go on; the events are safe in the outbox) and says the
broker is unreachable, the relay's failures count as relay errors and not as worker crashes, and
everything recovers once the broker is back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.flows import create_payment, wait_for
from tests.support.metrics import scrape
from tests.support.service import RunningService, running_service
from tests.support.thread_proxy import ThreadedTcpProxy

REDIS_PORT = 6379
UNPUBLISHED = "sunap_outbox_unpublished"
OLDEST_AGE = "sunap_outbox_oldest_unpublished_age_seconds"
PUBLISHED = "sunap_outbox_published_total"
RELAY_ERRORS = "sunap_relay_errors_total"
WORKER_ERRORS = "sunap_worker_errors_total"


@pytest.fixture(scope="module")
def outage(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningService, ThreadedTcpProxy]]:
    proxy = ThreadedTcpProxy(REDIS_PORT)
    proxy.start()
    workdir = Path(tmp_path_factory.mktemp("broker-outage"))
    try:
        with running_service(
            workdir,
            SUNAP_BROKER_URL=f"redis://127.0.0.1:{proxy.port}/0",
            SUNAP_TOPIC_PREFIX=f"obs{uuid.uuid4().hex[:8]}.",
        ) as service:
            yield service, proxy
    finally:
        proxy.stop()


def test_the_outbox_gauges_tell_the_truth_while_the_broker_is_down(
    outage: tuple[RunningService, ThreadedTcpProxy],
) -> None:
    service, proxy = outage
    key = service.create_key("shop-outage", "payments:read", "payments:write")
    with service.client(key) as api:
        create_payment(api, 1000)
        assert wait_for(lambda: scrape(service.base_url).value(UNPUBLISHED) == 0, timeout=30)
        ready = httpx.get(f"{service.base_url}/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        before = scrape(service.base_url)

        proxy.stop()
        try:
            for amount in (1100, 1200, 1300):
                create_payment(api, amount)  # one payment.created event each, left waiting
            during = scrape(service.base_url)
            assert during.value(UNPUBLISHED) == 3
            assert wait_for(lambda: scrape(service.base_url).value(OLDEST_AGE) >= 1.0)
            assert scrape(service.base_url).value(UNPUBLISHED) == 3
            down = httpx.get(f"{service.base_url}/readyz", timeout=10)
            assert down.status_code == 200
            assert down.json() == {
                "status": "ready",
                "checks": {"database": "ok", "broker": "unreachable"},
            }
            assert wait_for(
                lambda: scrape(service.base_url).value(RELAY_ERRORS) > before.value(RELAY_ERRORS)
            )
        finally:
            proxy.start()

        assert wait_for(lambda: scrape(service.base_url).value(UNPUBLISHED) == 0, timeout=90)
        after = scrape(service.base_url)
        assert after.value(OLDEST_AGE) == 0
        assert after.value(PUBLISHED) - before.value(PUBLISHED) == 3
        assert after.value(RELAY_ERRORS) > before.value(RELAY_ERRORS)
        assert after.value(WORKER_ERRORS, worker="relay") == 0  # an outage, not a crash
        assert httpx.get(f"{service.base_url}/readyz", timeout=10).status_code == 200


def test_readyz_says_the_broker_is_failing_when_it_refuses_sunaps_password(
    tmp_path: Path,
) -> None:
    """A password rotated under Sunap: the broker answers on its port, but refuses every publish.
    /readyz said `ok` (a bare TCP connect) while relay errors climbed."""
    with running_service(
        tmp_path,
        SUNAP_BROKER_URL="amqp://guest:wrong-password@127.0.0.1:5672/",
        SUNAP_TOPIC_PREFIX=f"obs{uuid.uuid4().hex[:8]}.",
    ) as service:
        ready = httpx.get(f"{service.base_url}/readyz", timeout=10)

    assert ready.status_code == 200  # payments go on: the events wait in the outbox
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "broker": "failing"}}
