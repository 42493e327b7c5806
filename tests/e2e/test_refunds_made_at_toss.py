"""A real `sunap serve` on a sandbox that sends no webhooks: part of a paid order is refunded in
Toss's console, then the merchant asks Sunap to cancel the whole order. Toss cancels only what
it has left; Sunap must answer with that truth and keep books and events equal to Toss's."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.integration.reliability.stack import Stack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("console-refund"))) as running:
        yield running


def cancel_events(stack: Stack, payment_id: str) -> list[tuple[str, int]]:
    """(type, balanceAmount the event left) of each cancel event Sunap wrote, in order."""
    with closing(sqlite3.connect(f"file:{stack.db_path}?mode=ro", uri=True, timeout=30)) as db:
        rows = db.execute(
            "SELECT type, payload FROM outbox WHERE aggregateid = ? ORDER BY seq", (payment_id,)
        ).fetchall()
    return [
        (kind, int(json.loads(payload)["data"]["balanceAmount"]))
        for kind, payload in rows
        if "canceled" in kind
    ]


def books(cancels: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return sorted((c["cancelAmount"], c["transactionKey"]) for c in cancels)


def test_a_full_cancel_after_a_refund_in_tosss_console_leaves_sunaps_books_as_tosss(
    stack: Stack,
) -> None:
    payment = stack.new_payment(10000)
    payment_key = stack.pay_in_window(payment)
    assert stack.confirm(payment, payment_key).status_code == 200
    console = stack.toss.post(
        f"/v1/payments/{payment_key}/cancel",
        json={"cancelReason": "콘솔 환불", "cancelAmount": 3000},
        headers={"Idempotency-Key": f"console-{uuid.uuid4().hex}"},
    )
    assert console.status_code == 200, console.text

    answer = stack.cancel(payment["id"], idempotency_key="full-cancel-1")

    assert answer.status_code == 200, answer.text
    told = answer.json()
    toss = stack.toss_payment(payment_key)
    assert (told["status"], told["balanceAmount"], told["pendingCancelAmount"]) == (
        "CANCELED",
        0,
        0,
    )
    assert told["balanceAmount"] == toss["balanceAmount"]
    assert books(told["cancels"]) == books(toss["cancels"])
    assert sorted(c["cancelAmount"] for c in told["cancels"]) == [3000, 7000]
    assert cancel_events(stack, payment["id"]) == [
        ("payment.partially_canceled", 7000),  # the console's 3,000, as Toss ran it first
        ("payment.canceled", 0),  # this request's: the 7,000 Toss had left
    ]
    trail = stack.api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    external = [t for t in trail if t["type"] == "cancel.external"]
    assert [t["responseData"]["amount"] for t in external] == [3000]
