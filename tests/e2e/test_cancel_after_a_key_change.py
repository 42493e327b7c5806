"""A real `sunap serve` whose Toss secret key is replaced while a cancel's outcome is unknown.

Toss keeps an Idempotency-Key per secret key, and so does the sandbox; test keys not registered
as merchants share one set of books there, as one account's old and new keys do at Toss. Sent
again under the new key, the cancel Toss already carried out would be a second refund."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.reliability.stack import CANCEL_GLOB, Stack, running_stack

NEW_SECRET_KEY = "test_sk_Pq7Kz2Rotated0Key4Sunap9Ab"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    # No reconciler at first: the shop's retry is the first to meet the new key.
    with running_stack(tmp_path, SUNAP_RUN_WORKERS="false") as running:
        yield running


def restart(stack: Stack, **env: str) -> None:
    stack.service.stop()
    stack.service.env.update(env)
    stack.service.start()


def test_a_cancel_toss_carried_out_is_not_sent_again_under_a_new_secret_key(
    stack: Stack,
) -> None:
    payment = stack.new_payment(10000)
    payment_key = stack.pay_in_window(payment)
    assert stack.confirm(payment, payment_key).status_code == 200
    stack.fault(path=CANCEL_GLOB, afterApply=True, status=500)  # refunded; the answer lost
    assert stack.cancel(payment["id"], 4000, "refund-1").status_code == 502

    restart(stack, TOSS_SECRET_KEY=NEW_SECRET_KEY)  # the merchant replaced the key
    again = stack.cancel(payment["id"], 4000, "refund-1")  # the shop's retry

    assert again.status_code == 502, again.text
    assert again.json()["code"] == "PG_UNAVAILABLE"
    assert "secret key was replaced" in again.json()["message"]
    restart(stack, SUNAP_RUN_WORKERS="true")
    settled = stack.settled(payment["id"])  # the reconciler books Toss's refund
    toss = stack.toss_payment(payment_key)
    assert [c["cancelAmount"] for c in toss["cancels"]] == [4000]
    assert (settled["balanceAmount"], settled["pendingCancelAmount"]) == (6000, 0)
    assert toss["balanceAmount"] == 6000
