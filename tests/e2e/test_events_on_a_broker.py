"""`sunap serve` with SUNAP_BROKER_URL on the machine's Redis: a payment's life reaches the
broker as CloudEvents in order; `order.placed` events create payments, once per order; a
service killed with -9 publishes what it had not yet published once it is back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.e2e.flows import create_payment, new_order_id, pay_in_window, wait_for
from tests.support.service import RunningService, running_service

REDIS_URL = "redis://127.0.0.1:6379/0"
TENANT = "shop-events"


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}."


@pytest.fixture(scope="module")
def streams(prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, prefix: str, streams: redis.Redis
) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp("sunap-events"))
    with running_service(workdir, SUNAP_BROKER_URL=REDIS_URL, SUNAP_TOPIC_PREFIX=prefix) as svc:
        yield svc


@pytest.fixture(scope="module")
def api_key(service: RunningService) -> str:
    return service.create_key(TENANT, "payments:read", "payments:write", "payments:cancel")


@pytest.fixture
def api(service: RunningService, api_key: str) -> Iterator[httpx.Client]:
    with service.client(api_key) as client:
        yield client


@pytest.fixture
def sandbox(service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as client:
        yield client


def events_of(streams: redis.Redis, prefix: str, payment_id: str) -> list[dict[str, Any]]:
    """Every event of one payment on any stream of the prefix, by sequence, duplicates dropped."""
    found: dict[str, dict[str, Any]] = {}
    for key in streams.scan_iter(match=f"{prefix}payment.*"):
        for _entry_id, fields in streams.xrange(key):
            event = json.loads(fields[b"event"])
            if event["subject"] == payment_id:
                assert fields[b"id"].decode() == event["id"]
                assert fields[b"key"].decode() == payment_id
                found[event["id"]] = event | {"_stream": key.decode()}
    return sorted(found.values(), key=lambda e: e["sequence"])


def place_order(streams: redis.Redis, prefix: str, body: dict[str, Any] | bytes) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    streams.xadd(f"{prefix}order.placed", {"event": raw, "id": str(uuid.uuid4())})


def order(**fields: Any) -> dict[str, Any]:
    return {
        "orderId": new_order_id(),
        "orderName": "Coffee beans 1kg",
        "amount": 15000,
        "currency": "KRW",
        "customerKey": "cust-7",
        "tenant": TENANT,
    } | fields


def payments_for_order(api: httpx.Client, order_id: str) -> list[dict[str, Any]]:
    response = api.get("/v1/payments", params={"orderId": order_id})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_a_payments_life_reaches_the_broker_as_cloudevents_in_order(
    api: httpx.Client, sandbox: httpx.Client, streams: redis.Redis, prefix: str
) -> None:
    payment = create_payment(api, 20000)
    key = pay_in_window(sandbox, payment)
    body = {"paymentKey": key, "orderId": payment["orderId"], "amount": 20000}
    assert api.post("/v1/payments/confirm", json=body).status_code == 200
    cancel = f"/v1/payments/{payment['id']}/cancel"
    assert api.post(cancel, json={"cancelReason": "one", "cancelAmount": 5000}).status_code == 200
    assert api.post(cancel, json={"cancelReason": "rest"}).status_code == 200

    assert wait_for(lambda: len(events_of(streams, prefix, payment["id"])) == 4)
    events = events_of(streams, prefix, payment["id"])

    assert [e["type"] for e in events] == [
        "payment.created",
        "payment.completed",
        "payment.partially_canceled",
        "payment.canceled",
    ]
    assert [e["sequence"] for e in events] == [1, 2, 3, 4]
    assert [e["_stream"] for e in events] == [f"{prefix}{e['type']}" for e in events]
    assert [e["data"]["status"] for e in events] == [
        "READY",
        "DONE",
        "PARTIAL_CANCELED",
        "CANCELED",
    ]
    assert [e["data"]["balanceAmount"] for e in events] == [20000, 20000, 15000, 0]
    for event in events:
        assert event["specversion"] == "1.0" and event["source"] == "sunap"
        assert event["subject"] == payment["id"]
        assert event["tenant"] == TENANT  # the name its keys were made for, as the intake's
        assert event["datacontenttype"] == "application/json"
        assert event["time"]


def test_an_order_placed_three_times_creates_one_payment(
    api: httpx.Client, streams: redis.Redis, prefix: str
) -> None:
    placed = order()
    for _ in range(3):
        place_order(streams, prefix, placed)
    marker = order()  # placed after the copies: once it exists, the copies were handled
    place_order(streams, prefix, {"specversion": "1.0", "id": "evt-m", "data": marker})

    assert wait_for(lambda: payments_for_order(api, marker["orderId"]))
    [payment] = payments_for_order(api, placed["orderId"])

    assert payment["status"] == "READY"
    assert payment["amount"] == 15000 and payment["customerKey"] == "cust-7"
    created = wait_for(lambda: events_of(streams, prefix, payment["id"]))
    assert [e["type"] for e in created] == ["payment.created"]


def test_a_malformed_order_does_not_block_the_orders_behind_it(
    api: httpx.Client, streams: redis.Redis, prefix: str
) -> None:
    place_order(streams, prefix, b"{this is not json")
    place_order(streams, prefix, order(amount=15000.5))
    good = order()
    place_order(streams, prefix, good)

    assert wait_for(lambda: payments_for_order(api, good["orderId"]))


def test_events_a_killed_service_had_not_published_are_published_after_its_restart(
    service: RunningService, api: httpx.Client, streams: redis.Redis, prefix: str
) -> None:
    created = [create_payment(api) for _ in range(10)]
    service.kill()  # kill -9, whatever the relay was doing
    service.start()

    for payment in created:
        events = wait_for(lambda p=payment: events_of(streams, prefix, p["id"]))
        assert [e["type"] for e in events] == ["payment.created"], payment["id"]
