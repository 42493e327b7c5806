"""A READY payment that Toss approved without Sunap: the order was confirmed at Toss directly with
the merchant's secret key (or Sunap's confirm was forgotten by a database restore). A real
`sunap serve` must end with the payment paid, as Toss has it, never `EXPIRED` with
`payment.expired` sent for a charged order; the customer's own confirm then succeeds.

- Toss's PAYMENT_STATUS_CHANGED reaches Sunap (the embedded sandbox sends it): matched by its
  orderId to the READY payment, Toss asked, its approval adopted.
- The webhook is lost (a standalone sandbox that sends none): the READY expiry asks Toss before
  expiring, and adopts the approval instead.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.flows import confirm, create_payment, pay_in_window, wait_for
from tests.integration.reliability.stack import Stack, running_stack
from tests.support.service import RunningService, running_service_on

# Any test secret key reaches the embedded sandbox's books: the merchant's own backend here.
MERCHANT_SECRET = "Basic " + base64.b64encode(b"test_sk_merchant_backend:").decode()
TTL_SECONDS = 5
RECHECK_SECONDS = 2


@pytest.fixture(scope="module")
def expiring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A service whose READY payments expire after 5 s, on a sandbox that sends no webhooks;
    an order closed unpaid is looked at again at Toss 2 s later (not Toss's 11 minutes)."""
    workdir = Path(tmp_path_factory.mktemp("paid-behind"))
    with running_stack(
        workdir,
        SUNAP_READY_TTL_SECONDS=str(TTL_SECONDS),
        SUNAP_TOSS_RECHECK_SECONDS=str(RECHECK_SECONDS),
    ) as stack:
        yield stack


def current(api: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    return dict(api.get(f"/v1/payments/{payment['id']}").json())


def trail(api: httpx.Client, payment: dict[str, Any]) -> list[tuple[str, str]]:
    items = api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    return [(t["type"], t["status"]) for t in items]


def events_logged(service: RunningService, payment_id: str) -> list[str]:
    """The event types the log publisher wrote for the payment, in order."""
    types = []
    for line in service.logs().splitlines():
        _, marker, logged = line.partition(" sunap.events ")
        if marker and json.loads(logged).get("subject") == payment_id:
            types.append(json.loads(logged)["type"])
    return types


def test_a_webhook_of_an_approval_at_toss_settles_the_ready_payment_as_paid(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(api, 10000)
    key = pay_in_window(sandbox, payment)
    direct = sandbox.post(
        "/v1/payments/confirm",
        json={"paymentKey": key, "orderId": payment["orderId"], "amount": 10000},
        headers={"Authorization": MERCHANT_SECRET},
    )
    assert direct.status_code == 200 and direct.json()["status"] == "DONE", direct.text

    paid = wait_for(lambda: (p := current(api, payment))["status"] == "DONE" and p)
    assert paid, current(api, payment)
    assert paid["paymentKey"] == key and paid["balanceAmount"] == 10000
    assert ("webhook.PAYMENT_STATUS_CHANGED", "applied") in trail(api, payment)
    assert wait_for(
        lambda: events_logged(service, payment["id"]) == ["payment.created", "payment.completed"]
    ), events_logged(service, payment["id"])

    customer = confirm(api, payment, key)  # the customer's own confirm, arriving late
    assert customer.status_code == 200 and customer.json()["status"] == "DONE", customer.text


def test_the_expiry_adopts_an_approval_at_toss_whose_webhook_was_lost(
    expiring: Stack,
) -> None:
    api, toss = expiring.api, expiring.toss
    paid = expiring.new_payment(10000)
    key = expiring.pay_in_window(paid)
    unpaid = expiring.new_payment(10000)  # nobody pays this one: it expires as ever
    direct = toss.post(
        "/v1/payments/confirm",
        json={"paymentKey": key, "orderId": paid["orderId"], "amount": 10000},
    )
    assert direct.status_code == 200 and direct.json()["status"] == "DONE", direct.text

    assert wait_for(
        lambda: current(api, unpaid)["status"] == "EXPIRED", timeout=TTL_SECONDS + 30
    ), current(api, unpaid)
    settled = wait_for(lambda: (p := current(api, paid))["status"] != "READY" and p, timeout=30)
    assert settled and settled["status"] == "DONE", current(api, paid)
    assert settled["paymentKey"] == key
    assert ("payment.expired", "ok") not in trail(api, paid)
    assert ("pg.lookup", "ok") in trail(api, paid)
    assert wait_for(
        lambda: (
            events_logged(expiring.service, paid["id"]) == ["payment.created", "payment.completed"]
        )
    ), events_logged(expiring.service, paid["id"])

    customer = confirm(api, paid, key)
    assert customer.status_code == 200 and customer.json()["status"] == "DONE", customer.text


# -- paid at Toss after Sunap closed it unpaid (money audit, F1) -------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def expiring_with_webhooks(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """A service whose READY payments expire after 5 s, its embedded sandbox sending webhooks."""
    workdir = Path(tmp_path_factory.mktemp("paid-after-closing"))
    with running_service_on(
        request.param, workdir, SUNAP_READY_TTL_SECONDS=str(TTL_SECONDS)
    ) as svc:
        yield svc


def needing_review(service: RunningService) -> float:
    text = httpx.get(f"{service.base_url}/metrics", timeout=30).text
    line = next(x for x in text.splitlines() if x.startswith("sunap_payments_needing_review"))
    return float(line.split()[-1])


@pytest.mark.parametrize("closed_by", ["expiry", "merchant cancel"])
def test_an_approval_at_toss_after_sunap_closed_the_payment_unpaid_is_adopted_for_review(
    closed_by: str, expiring_with_webhooks: RunningService
) -> None:
    """The customer paid; the merchant was told `payment.expired`/`payment.canceled`. Toss's
    webhook makes the payment DONE as Toss has it, with `payment.completed`, flagged for a
    person (the review queue, its gauge and alert), and the merchant can refund it."""
    service = expiring_with_webhooks
    key_id = service.create_key("shop-late", "payments:read", "payments:write", "payments:cancel")
    with (
        service.client(key_id) as api,
        httpx.Client(base_url=service.sandbox_url, timeout=30) as sandbox,
    ):
        payment = create_payment(api, 10000)
        if closed_by == "expiry":  # Toss did not know the order yet: expired on Toss's word
            assert wait_for(lambda: current(api, payment)["status"] == "EXPIRED", timeout=40)
            key = pay_in_window(sandbox, payment)
            closing_event = "payment.expired"
        else:  # the customer is in Toss's window when the merchant cancels (no PG call)
            key = pay_in_window(sandbox, payment)
            local = api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "r"})
            assert local.status_code == 200 and local.json()["status"] == "CANCELED", local.text
            closing_event = "payment.canceled"
        refused = confirm(api, payment, key)  # through Sunap: 409, nothing sent to Toss
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "NOT_CONFIRMABLE_STATUS"
        direct = sandbox.post(
            "/v1/payments/confirm",
            json={"paymentKey": key, "orderId": payment["orderId"], "amount": 10000},
            headers={"Authorization": MERCHANT_SECRET},
        )
        assert direct.status_code == 200 and direct.json()["status"] == "DONE", direct.text

        paid = wait_for(lambda: (p := current(api, payment))["status"] == "DONE" and p)
        assert paid, current(api, payment)
        assert paid["paymentKey"] == key and paid["balanceAmount"] == 10000
        assert paid["needsReview"] is True
        assert ("webhook.PAYMENT_STATUS_CHANGED", "applied") in trail(api, payment)
        assert wait_for(
            lambda: (
                events_logged(service, payment["id"])
                == ["payment.created", closing_event, "payment.completed"]
            )
        ), events_logged(service, payment["id"])
        assert "after it was" in service.logs() and needing_review(service) >= 1

        refund = api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "환불"})
        assert refund.status_code == 200 and refund.json()["status"] == "CANCELED", refund.text


def test_an_approval_at_toss_after_a_cancel_of_the_unpaid_order_is_found_with_its_webhook_lost(
    expiring: Stack,
) -> None:
    """The merchant canceled the READY payment while the customer was in Toss's window, and the
    order was confirmed at Toss directly; Toss's webhook never arrives. The reconciler's look at
    Toss once the window has closed finds the approval and adopts it, flagged for review."""
    api, toss = expiring.api, expiring.toss
    payment = expiring.new_payment(10000)
    key = expiring.pay_in_window(payment)
    local = api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "r"})
    assert local.status_code == 200 and local.json()["status"] == "CANCELED", local.text
    direct = toss.post(
        "/v1/payments/confirm",
        json={"paymentKey": key, "orderId": payment["orderId"], "amount": 10000},
    )
    assert direct.status_code == 200 and direct.json()["status"] == "DONE", direct.text

    paid = wait_for(lambda: (p := current(api, payment))["status"] == "DONE" and p, timeout=30)
    assert paid, current(api, payment)
    assert paid["paymentKey"] == key and paid["needsReview"] is True
    assert trail(api, payment)[-1] == ("reconcile.settled", "ok")
    assert wait_for(
        lambda: (
            events_logged(expiring.service, payment["id"])
            == ["payment.created", "payment.canceled", "payment.completed"]
        )
    ), events_logged(expiring.service, payment["id"])
