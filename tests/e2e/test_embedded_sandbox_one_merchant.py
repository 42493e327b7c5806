"""Every `sunap` process on one database speaks to the embedded sandbox as one merchant.

Toss keeps an Idempotency-Key per secret key, and so does the sandbox. When each process made up
a sandbox key of its own, a cancel whose answer `sunap serve` lost, sent again by `sunap
reconcile` "under the same key", was a new cancel to the sandbox: ₩1,000 asked, ₩2,000 refunded
(since Sunap records which key a cancel went out under, it was held for a person instead)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.flows import paid_payment, toss_calls, wait_for
from tests.support.service import RunningService, running_service

# Any test key reads the sandbox's default books, where the default account's payments are.
READER_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"
CANCEL_GLOB = "/v1/payments/*/cancel"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    # No workers in `sunap serve`: only the separate `sunap reconcile` may settle the cancel.
    with running_service(
        tmp_path, SUNAP_RUN_WORKERS="false", SUNAP_RECONCILE_DELAYS="0,0,0,0,0"
    ) as svc:
        yield svc


def settled_by_reconcile(service: RunningService, api: httpx.Client, payment_id: str) -> Any:
    """`sunap reconcile` run as its own process until the cancel is no longer pending (a run
    that finds the payment's cancel turn still held leaves it for the next)."""

    def once() -> Any:
        service.cli("reconcile")
        payment = api.get(f"/v1/payments/{payment_id}").json()
        return payment if payment["pendingCancelAmount"] == 0 else None

    return wait_for(once, timeout=60, interval=0.5)


def test_a_cancel_serve_lost_is_replayed_by_sunap_reconcile_as_the_same_call(
    service: RunningService,
) -> None:
    key = service.create_key("shop-one-merchant", "admin")
    with (
        service.client(key) as api,
        httpx.Client(base_url=service.sandbox_url, timeout=30) as sandbox,
    ):
        paid = paid_payment(api, sandbox, 5000)
        lost = {"path": CANCEL_GLOB, "status": 500, "afterApply": True}  # refunded, answer lost
        assert sandbox.post("/sandbox/faults", json=lost).status_code in (200, 201)
        body = {"cancelReason": "one item", "cancelAmount": 1000}
        headers = {"Idempotency-Key": "cancel-one-item"}
        answer = api.post(f"/v1/payments/{paid['id']}/cancel", json=body, headers=headers)
        assert answer.status_code == 502, answer.text

        settled = settled_by_reconcile(service, api, paid["id"])

        assert settled, api.get(f"/v1/payments/{paid['id']}").json()
        toss = sandbox.get(f"/v1/payments/{paid['paymentKey']}", auth=(READER_KEY, "")).json()
        assert [c["cancelAmount"] for c in toss["cancels"]] == [1000]  # one refund at Toss
        assert toss["balanceAmount"] == 4000
        assert (settled["status"], settled["balanceAmount"]) == ("PARTIAL_CANCELED", 4000)
        assert [c["cancelAmount"] for c in settled["cancels"]] == [1000]
        assert not settled["needsReview"]
        # The reconcile's call was the cancel's own, answered with Toss's first answer.
        sent = [c for c in toss_calls(sandbox, "/cancel") if paid["paymentKey"] in c["path"]]
        assert [c["status"] for c in sent] == [500, 200]
        assert len({c["idempotencyKey"] for c in sent}) == 1
