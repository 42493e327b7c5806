"""The database goes away under a real `sunap serve`: every API route answers `503
SERVICE_UNAVAILABLE` with `Retry-After` (never a 500, never a dropped connection), `/readyz`
says so, and the service is whole again once the database is back.

The service reaches the database through a TCP proxy this test starts and stops, so taking
"the database" away cuts only this service's connections, never the shared server's.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.flows import create_payment, new_order_id
from tests.support.databases import create_database, drop_database, selected_backends
from tests.support.proxy_thread import ProxyThread
from tests.support.service import RunningService, running_service

# The database servers a proxy can stand in front of; PostgreSQL even when only SQLite is chosen.
SERVERS = [b for b in selected_backends() if b != "sqlite"] or ["postgresql"]


@pytest.fixture(scope="module", params=SERVERS)
def outage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningService, ProxyThread]]:
    workdir = Path(tmp_path_factory.mktemp(f"sunap-outage-{request.param}"))
    url = create_database(request.param, workdir)
    parsed = make_url(url)
    assert parsed.port is not None
    proxy = ProxyThread(parsed.port)
    proxy.start()
    through_proxy = parsed.set(host="127.0.0.1", port=proxy.port)
    try:
        with running_service(
            workdir, SUNAP_DATABASE_URL=through_proxy.render_as_string(hide_password=False)
        ) as service:
            yield service, proxy
    finally:
        proxy.close()
        drop_database(url)


def unavailable(response: httpx.Response) -> bool:
    body = response.json()
    return (
        response.status_code == 503
        and body["code"] == "SERVICE_UNAVAILABLE"
        and bool(body["message"])
        and int(response.headers["Retry-After"]) >= 1
    )


def test_every_route_is_503_while_the_database_is_away_and_whole_once_it_is_back(
    outage: tuple[RunningService, ProxyThread],
) -> None:
    service, proxy = outage
    key = service.create_key("shop-outage", "payments:read", "payments:write", "payments:cancel")
    with service.client(key, timeout=60) as api:
        payment = create_payment(api)
        proxy.stop()  # cuts the pooled connections and refuses new ones
        try:
            calls = [
                api.get(f"/v1/payments/{payment['id']}"),
                api.get("/v1/payments"),
                api.get(f"/v1/payments/{payment['id']}/transactions"),
                api.post("/v1/payments", json={"orderName": "책", "amount": 1000}),
                api.post(
                    "/v1/payments",
                    json={"orderName": "책", "amount": 1000},
                    headers={"Idempotency-Key": new_order_id()},
                ),
                api.post(
                    "/v1/payments/confirm",
                    json={"paymentKey": "tgen_x", "orderId": payment["orderId"], "amount": 15000},
                ),
                api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "r"}),
                api.post(
                    "/v1/webhooks/toss",
                    json={
                        "eventType": "PAYMENT_STATUS_CHANGED",
                        "data": {"paymentKey": "pk", "status": "DONE"},
                    },
                ),
                api.get("/readyz"),
            ]
            for response in calls:
                assert unavailable(response), (response.request.url, response.text)
            assert api.get("/healthz").status_code == 200  # the process itself is fine
        finally:
            proxy.start()
        assert api.get("/readyz").status_code == 200
        again = api.get(f"/v1/payments/{payment['id']}")
        assert again.status_code == 200 and again.json()["status"] == "READY"
        assert (
            api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "r"}).json()[
                "status"
            ]
            == "CANCELED"
        )


def test_requests_caught_by_the_outage_mid_flight_get_503_never_500(
    outage: tuple[RunningService, ProxyThread],
) -> None:
    service, proxy = outage
    key = service.create_key("shop-outage-mid", "payments:read", "payments:write")

    def create(client: httpx.Client) -> httpx.Response:
        return client.post("/v1/payments", json={"orderName": "책", "amount": 1000})

    with service.client(key, timeout=60) as api:
        create_payment(api)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            flying = [pool.submit(create, api) for _ in range(40)]
            proxy.stop()
            statuses = [f.result().status_code for f in flying]
        proxy.start()
        assert set(statuses) <= {201, 503}, statuses
        assert 503 in statuses
        assert create(api).status_code == 201
