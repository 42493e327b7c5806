"""A renewal Toss charged, whose answer was lost, sent again by `sunap reconcile` and refused, on
a real `sunap serve` and a Toss sandbox that outlives it (one TOSS_SECRET_KEY, as in production).

Toss runs an Idempotency-Key it has forgotten (15 days on) as a new call: the charge sent again
after the card's billing key was deleted at Toss was refused NOT_FOUND_BILLING, and Sunap booked
the period refused (ABORTED, dunning) though Toss had charged it. The order's record decides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.billing_flows import (
    after,
    billing_key,
    charges,
    customer_key,
    get,
    rows_of,
    run_due,
    subscribe,
)
from tests.integration.reliability.stack import Stack, running_stack, wait_for
from tests.support.vault import toss_billing_keys_of

pytestmark = pytest.mark.slow

TOSS_FORGETS_KEYS_AFTER = 15 * 86400


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    # No workers in `sunap serve`: `sunap reconcile`, run by the test, sends the charge again.
    with running_stack(tmp_path, SUNAP_RUN_WORKERS="false") as running:
        yield running


def renewal_settled(stack: Stack, sub_id: str) -> dict[str, Any] | None:
    stack.service.cli("reconcile")
    renewal = charges(stack.api, sub_id)[0]
    return renewal if renewal["status"] != "IN_PROGRESS" else None


def test_a_renewal_toss_charged_then_refused_when_sent_again_is_paid(stack: Stack) -> None:
    created = subscribe(stack.api, billing_key(stack.api, stack.toss, customer_key()))
    assert created.status_code == 201, created.text
    sub = created.json()
    stack.fault(method="POST", path="/v1/billing/*", status=500, afterApply=True)
    printed = run_due(stack.service, after(sub["currentPeriodEnd"], minutes=1))
    assert [row[1] for row in rows_of(printed, sub["id"])] == ["unknown"]  # charged, answer lost
    # Toss forgets the charge's Idempotency-Key, and the card's billing key is deleted there
    # (this sandbox sends no webhooks: Sunap is not told).
    clock = stack.toss.post(
        "/sandbox/clock", json={"advanceSeconds": TOSS_FORGETS_KEYS_AFTER + 86400}
    )
    assert clock.status_code == 200, clock.text
    toss_key = toss_billing_keys_of(stack.service)[sub["billingKeyId"]]
    assert stack.toss.delete(f"/v1/billing/{toss_key}").status_code == 200

    renewal = wait_for(lambda: renewal_settled(stack, sub["id"]), timeout=60, interval=0.5)

    assert renewal, charges(stack.api, sub["id"])
    assert (renewal["status"], renewal["needsReview"]) == ("DONE", False)
    renewed = get(stack.api, f"/v1/subscriptions/{sub['id']}")
    assert (renewed["status"], renewed["currentPeriodStart"]) == ("ACTIVE", sub["currentPeriodEnd"])
    at_toss = stack.toss.get(f"/v1/payments/orders/{renewal['orderId']}").json()
    assert (at_toss["status"], at_toss["totalAmount"]) == ("DONE", renewal["amount"])
    sent = stack.toss_calls("/v1/billing/", renewal["orderId"])
    assert [c["status"] for c in sent if c["method"] == "POST"] == [500, 404]  # refused again
    looked_up = stack.toss_calls(f"/v1/payments/orders/{renewal['orderId']}")
    assert looked_up and looked_up[0]["status"] == 200  # Sunap read Toss's record
