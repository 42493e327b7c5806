"""A broker that accepts connections and never answers (RabbitMQ blocked by a memory alarm, a
frozen Redis) on a real `sunap serve` on SQLite, the embedded default database: the relay waits
for it, payments do not. The relay used to publish inside SQLite's one write transaction, so
every API write waited for each attempt to time out (5 s)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.e2e.flows import create_payment, wait_for
from tests.support.metrics import scrape
from tests.support.service import running_service
from tests.support.thread_proxy import ThreadedTcpProxy

REDIS_PORT = 6379
UNPUBLISHED = "sunap_outbox_unpublished"
RELAY_ERRORS = "sunap_relay_errors_total"


def test_a_payment_is_created_while_the_relay_waits_on_a_silent_broker(tmp_path: Path) -> None:
    proxy = ThreadedTcpProxy(REDIS_PORT)
    proxy.start()
    try:
        with running_service(
            tmp_path,
            SUNAP_BROKER_URL=f"redis://127.0.0.1:{proxy.port}/0",
            SUNAP_TOPIC_PREFIX=f"hang{uuid.uuid4().hex[:8]}.",
        ) as service:
            key = service.create_key("shop-hang", "payments:read", "payments:write")
            with service.client(key) as api:
                create_payment(api, 1000)
                assert wait_for(lambda: scrape(service.base_url).value(UNPUBLISHED) == 0)
                errors_before = scrape(service.base_url).value(RELAY_ERRORS)

                proxy.pause()  # Redis goes silent: connections accepted, nothing answered
                create_payment(api, 1100)
                assert wait_for(lambda: b"XADD" in proxy.held()), "the relay never sent it"
                # The relay's publish is stuck in the proxy; a write must not wait for it.
                create_payment(api, 1200)
                stuck = scrape(service.base_url)
                assert stuck.value(RELAY_ERRORS) == errors_before, (
                    "the create waited until the relay's publish gave up"
                )
                assert stuck.value(UNPUBLISHED) == 2

                proxy.resume()
                assert wait_for(lambda: scrape(service.base_url).value(UNPUBLISHED) == 0)
    finally:
        proxy.stop()
