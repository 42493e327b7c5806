"""Webhooks that arrive while a confirm's claim waits for Toss's answer: they carry no tenant's
payment into another's view, and their answers tell an anonymous caller nothing of the claim.
Tried as an attacker would, against a real `sunap serve` and its sandbox on every database.

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
from tests.support.metrics import increase, scrape
from tests.support.service import RunningService, running_service_on

SCOPES = ("payments:read", "payments:write", "payments:cancel")
DELIVERIES = "sunap_webhook_deliveries_total"


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
    api: httpx.Client,
    sandbox: httpx.Client,
    payment: dict[str, Any],
    payment_key: str,
    *,
    applied: bool = False,
) -> None:
    """Confirm `payment` with `payment_key`, Toss answering 500 to every try (`applied`: having
    carried the confirm out first): the claim stands."""
    fault = {"method": "POST", "path": "/v1/payments/confirm", "status": 500, "times": 50}
    if applied:
        fault["afterApply"] = True
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


def test_a_status_webhook_for_this_order_with_another_amount_flags_it_once_toss_approved_it(
    service: RunningService, b: httpx.Client, sandbox: httpx.Client
) -> None:
    """Toss's record of the claimed order itself, for another amount. While it has approved
    nothing (the customer's window, opened for 2000), nothing moved and nobody has to look: anyone
    may post this webhook, and the flag it raised reached the review queue and its alert. The
    claim stays its confirm's to settle. Once Toss approved that window (confirmed at Toss for
    2000, not by us), money moved that disagrees with ours: a person must look."""
    mine = create_payment(b, 1000)
    key = pay_in_window(sandbox, {**mine, "amount": 2000})
    claim_unanswered(b, sandbox, mine, key)

    posted = post_anonymously(service, status_changed(key, mine["orderId"]))
    assert posted.status_code == 200, posted.text
    assert settled(service, posted.json()["deliveryId"]) is not None
    unapproved = get(b, mine)
    assert unapproved["status"] == "IN_PROGRESS" and unapproved["paymentKey"] == key
    assert unapproved["needsReview"] is False and unapproved["reviewReason"] is None

    approved_at_toss = sandbox.post(
        "/v1/payments/confirm",
        json={"paymentKey": key, "orderId": mine["orderId"], "amount": 2000},
        auth=("test_sk_any_for_the_embedded_sandbox", ""),
    )
    assert approved_at_toss.status_code == 200, approved_at_toss.text
    done = status_changed(key, mine["orderId"])
    done["data"]["status"] = "DONE"
    posted = post_anonymously(service, done)
    assert posted.status_code == 200, posted.text
    assert settled(service, posted.json()["deliveryId"]) is not None

    flagged = get(b, mine)
    assert flagged["needsReview"] is True and flagged["status"] == "IN_PROGRESS"
    assert mine["orderId"] in flagged["reviewReason"] and "2000" in flagged["reviewReason"]


def deposit_callback(order_id: str, secret: str) -> dict[str, Any]:
    return {
        "createdAt": "2026-12-01T09:00:00.000000",
        "secret": secret,
        "status": "DONE",
        "transactionKey": "tx-made-up-0001",
        "orderId": order_id,
    }


def test_a_deposit_callback_with_a_made_up_secret_is_401_whatever_the_orders_state(
    service: RunningService, a: httpx.Client, sandbox: httpx.Client
) -> None:
    """Anyone may post a DEPOSIT_CALLBACK. With a made-up secret it was 401 for an order nobody
    has and for a READY one, but 200 for an order whose confirm was waiting for Toss: the answer
    told which of a shop's orders were being paid right then."""
    mid_confirm = create_payment(a, 4321)
    claim_unanswered(a, sandbox, mid_confirm, pay_in_window(sandbox, mid_confirm))
    ready = create_payment(a, 4321)
    answers = {
        state: post_anonymously(service, deposit_callback(order_id, "made-up-secret"))
        for state, order_id in (
            ("mid-confirm", mid_confirm["orderId"]),
            ("ready", ready["orderId"]),
            ("nobody's", "order-o-nobody-has-this-one"),
        )
    }
    assert {state: r.status_code for state, r in answers.items()} == dict.fromkeys(answers, 401)
    assert len({r.text for r in answers.values()}) == 1
    assert get(a, mid_confirm)["status"] == "IN_PROGRESS"


def sent_callbacks(sandbox: httpx.Client, order_id: str) -> list[dict[str, Any]]:
    """The sandbox's DEPOSIT_CALLBACK deliveries of the order that it has tried at least once."""
    items = sandbox.get("/sandbox/webhooks").json()["items"]
    return [
        w
        for w in items
        if w["eventType"] == "DEPOSIT_CALLBACK"
        and w["body"]["orderId"] == order_id
        and w["attempts"]
    ]


def test_a_deposit_callback_sent_before_we_hold_its_secret_counts_when_toss_sends_it_again(
    service: RunningService, a: httpx.Client, sandbox: httpx.Client
) -> None:
    """Toss issued the virtual account and sent its callback, but its answer to our confirm was
    lost: we hold no secret to check the callback against, so it is 401 like a forged one. It is
    not lost: once Toss's record of the order has reached us (the merchant's confirm again here,
    the reconciler otherwise), Toss's resend a minute later is taken, and so is the deposit."""
    payment = create_payment(a, 30000, method="VIRTUAL_ACCOUNT")
    key = pay_in_window(sandbox, payment, method="VIRTUAL_ACCOUNT")
    before = scrape(service.base_url)
    claim_unanswered(a, sandbox, payment, key, applied=True)
    issued = wait_for(lambda: sent_callbacks(sandbox, payment["orderId"]), timeout=30)
    assert issued, "the sandbox sent no callback for the account it issued"
    assert [t["status"] for t in issued[0]["attempts"]] == [401]
    # Counted apart from refusals, so SunapWebhooksFailing does not page for Toss's routine.
    after = scrape(service.base_url)
    counted = {
        result: increase(before, after, DELIVERIES, type="DEPOSIT_CALLBACK", result=result)
        for result in ("early", "rejected")
    }
    assert counted == {"early": 1, "rejected": 0}

    again = confirm(a, payment, key)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "WAITING_FOR_DEPOSIT"
    assert sandbox.post("/sandbox/clock", json={"advanceSeconds": 61}).status_code == 200

    def resent() -> bool:
        return bool(sent_callbacks(sandbox, payment["orderId"])[0]["state"] == "SUCCEEDED")

    assert wait_for(resent, timeout=30), sent_callbacks(sandbox, payment["orderId"])
    paid = sandbox.post(f"/sandbox/virtual-accounts/{key}/deposit")
    assert paid.status_code == 200, paid.text
    assert wait_for(lambda: get(a, payment)["status"] == "DONE", timeout=30)
