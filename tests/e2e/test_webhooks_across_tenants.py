"""Webhooks never carry one tenant's payment into another's view: tried as an attacker on the
shared Toss account would, against a real `sunap serve` and its sandbox on every database.

A confirm whose answer Toss did not give (an injected 500) leaves its claim standing, the
paymentKey held, until the reconciler looks; here it looks after an hour, so the claim stands for
as long as a test needs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.flows import confirm, create_payment, pay_in_window, wait_for
from tests.support.databases import selected_backends
from tests.support.service import RunningService, running_service_on

SCOPES = ("payments:read", "payments:write", "payments:cancel")


@pytest.fixture(scope="module", params=selected_backends())
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp(f"webhooks-across-{request.param}"))
    with running_service_on(request.param, workdir, SUNAP_RECONCILE_DELAYS="3600") as svc:
        yield svc


@pytest.fixture(scope="module")
def shop_a(service: RunningService) -> str:
    return service.create_key("shop-a", *SCOPES)


@pytest.fixture(scope="module")
def shop_b(service: RunningService) -> str:
    return service.create_key("shop-b", *SCOPES)


@pytest.fixture()
def a(service: RunningService, shop_a: str) -> Iterator[httpx.Client]:
    with service.client(shop_a) as client:
        yield client


@pytest.fixture()
def b(service: RunningService, shop_b: str) -> Iterator[httpx.Client]:
    with service.client(shop_b) as client:
        yield client


@pytest.fixture()
def sandbox(service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as client:
        yield client
        client.delete("/sandbox/faults")


def get(api: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"/v1/payments/{payment['id']}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def claim_unanswered(
    api: httpx.Client, sandbox: httpx.Client, payment: dict[str, Any], payment_key: str
) -> None:
    """Confirm `payment` with `payment_key`, Toss answering 500 to every try: the claim stands."""
    fault = {"method": "POST", "path": "/v1/payments/confirm", "status": 500, "times": 50}
    assert sandbox.post("/sandbox/faults", json=fault).status_code in (200, 201)
    try:
        unanswered = confirm(api, payment, payment_key)
    finally:
        sandbox.delete("/sandbox/faults")
    assert unanswered.status_code >= 500, unanswered.text
    claimed = get(api, payment)
    assert claimed["status"] == "IN_PROGRESS" and claimed["paymentKey"] == payment_key


def post_anonymously(service: RunningService, body: dict[str, Any]) -> httpx.Response:
    with service.client() as anonymous:
        return anonymous.post("/v1/webhooks/toss", json=body)


def settled(service: RunningService, delivery_id: str) -> dict[str, Any] | None:
    """The delivery once the processor has settled it; None while it waits."""

    def look() -> dict[str, Any] | None:
        listed = json.loads(service.cli("webhooks", "list", "--limit", "200", "--json"))
        found = next(d for d in listed if d["id"] == delivery_id)
        return None if found["status"] == "RECEIVED" else dict(found)

    return wait_for(look, timeout=60)  # type: ignore[no-any-return]


def status_changed(payment_key: str, order_id: str) -> dict[str, Any]:
    return {
        "eventType": "PAYMENT_STATUS_CHANGED",
        "createdAt": "2026-12-01T09:00:00.000000",
        "data": {"paymentKey": payment_key, "status": "IN_PROGRESS", "orderId": order_id},
    }


def test_a_status_webhook_for_a_key_claimed_by_another_order_shows_that_order_to_no_one(
    service: RunningService, a: httpx.Client, b: httpx.Client, sandbox: httpx.Client
) -> None:
    """Shop B saw shop A's paymentKey (A's customer opened Toss's window) and confirms its own
    order with it; while that claim waits for Toss, B posts a status webhook naming the key. The
    processor found B's claim by the key and took Toss's record of the key, A's order, as B's:
    A's order name and orderId went into B's trail and, as a "mismatch", into B's review reason
    (the review queue, its alert). Toss's record is of A's order, and only A's payment sees it."""
    theirs = create_payment(a, 23456, orderName="shop-a's own order name")
    their_key = pay_in_window(sandbox, theirs)
    mine = create_payment(b, 1000)
    claim_unanswered(b, sandbox, mine, their_key)

    posted = post_anonymously(service, status_changed(their_key, mine["orderId"]))
    assert posted.status_code == 200, posted.text
    delivery = settled(service, posted.json()["deliveryId"])
    assert delivery is not None, "the delivery was never processed"

    after = get(b, mine)
    assert after["status"] == "IN_PROGRESS"  # the claim is its confirm's to settle
    assert after["needsReview"] is False and after["reviewReason"] is None
    trail = b.get(f"/v1/payments/{mine['id']}/transactions")
    assert trail.status_code == 200, trail.text
    assert theirs["orderId"] not in trail.text and "shop-a's own order name" not in trail.text
    # The record is shop A's order's, and so is the delivery: A's payment took it (unchanged).
    assert delivery["status"] == "APPLIED" and delivery["paymentId"] == theirs["id"]
    assert get(a, theirs)["needsReview"] is False


def test_a_status_webhook_for_this_order_with_another_amount_is_flagged(
    service: RunningService, b: httpx.Client, sandbox: httpx.Client
) -> None:
    """Toss's record of the claimed order itself, for another amount: a real disagreement
    between Toss and us about this payment, which a person must look at."""
    mine = create_payment(b, 1000)
    key = pay_in_window(sandbox, {**mine, "amount": 2000})
    claim_unanswered(b, sandbox, mine, key)

    posted = post_anonymously(service, status_changed(key, mine["orderId"]))
    assert posted.status_code == 200, posted.text
    assert settled(service, posted.json()["deliveryId"]) is not None

    flagged = get(b, mine)
    assert flagged["needsReview"] is True
    assert mine["orderId"] in flagged["reviewReason"] and "2000" in flagged["reviewReason"]
