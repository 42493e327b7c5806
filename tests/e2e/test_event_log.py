"""With no broker (the embedded default) events go to the log: a line names the event and its
payment, and nothing personal or secret of the payment reaches the log."""

from __future__ import annotations

import json

import httpx

from tests.e2e.flows import create_payment, new_order_id, wait_for
from tests.support.service import RunningService


def test_an_event_log_line_holds_no_personal_field(
    service: RunningService, api: httpx.Client
) -> None:
    customer_key = "cust-" + new_order_id()
    note = "010-" + new_order_id()
    payment = create_payment(
        api,
        15000,
        customerKey=customer_key,
        metadata={"phone": note},
        successUrl=f"https://shop.example/ok?customer={customer_key}",
    )

    def logged_line() -> dict[str, object] | None:
        for line in service.logs().splitlines():
            _, marker, logged = line.partition(" sunap.events ")
            if marker and payment["id"] in logged:
                return dict(json.loads(logged))
        return None

    line = wait_for(logged_line)
    assert line is not None
    assert line["type"] == "payment.created" and line["subject"] == payment["id"]
    assert line["sequence"] == 1 and line["topic"] == "commerce.payment.created"
    logs = service.logs()
    assert customer_key not in logs and note not in logs
