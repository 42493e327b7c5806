"""Virtual accounts end to end: a real `sunap serve` whose embedded sandbox delivers its webhooks
to the service's own `/v1/webhooks/toss`, as Toss would."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.e2e.flows import confirm, create_payment, pay_in_window, wait_for
from tests.support.service import RunningService

REFUND_ACCOUNT = {"bank": "88", "accountNumber": "11012345678901", "holderName": "김토스"}


def issued_account(api: httpx.Client, sandbox: httpx.Client) -> dict[str, Any]:
    """The customer chose a virtual account in the payment window; the merchant confirmed."""
    payment = create_payment(api, 32000)
    key = pay_in_window(sandbox, payment, method="VIRTUAL_ACCOUNT")
    response = confirm(api, payment, key)
    assert response.status_code == 200, response.text
    return dict(response.json())


def current(api: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    return dict(api.get(f"/v1/payments/{payment['id']}").json())


def deposited(api: httpx.Client, sandbox: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    """The customer pays into the account; the deposit webhook makes the payment DONE."""
    response = sandbox.post(f"/sandbox/virtual-accounts/{payment['paymentKey']}/deposit")
    assert response.status_code == 200, response.text
    done = wait_for(lambda: (p := current(api, payment))["status"] == "DONE" and p)
    assert done, f"the deposit never arrived: {current(api, payment)}"
    return dict(done)


def trail(api: httpx.Client, payment: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.get(f"/v1/payments/{payment['id']}/transactions")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_confirm_returns_the_account_to_pay_into_and_waits_for_the_deposit(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = issued_account(api, sandbox)
    assert payment["status"] == "WAITING_FOR_DEPOSIT"
    assert payment["method"] == "VIRTUAL_ACCOUNT"
    account = payment["virtualAccount"]
    assert account["accountNumber"] and account["bank"] and account["dueDate"]
    assert payment["balanceAmount"] == 32000
    assert "secret" not in payment


def test_a_deposit_makes_the_payment_done_through_the_webhook(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = issued_account(api, sandbox)
    done = deposited(api, sandbox, payment)
    assert done["balanceAmount"] == 32000 and done["virtualAccount"]["accountNumber"]
    assert done["approvedAt"] is not None  # when it was paid, as for a card
    applied = wait_for(
        lambda: [
            t
            for t in trail(api, payment)
            if t["type"].startswith("webhook.") and t["status"] == "applied"
        ]
    )
    assert applied, trail(api, payment)
    secret_free = str(trail(api, payment))
    sent = [
        d
        for d in sandbox.get("/sandbox/webhooks").json()["items"]
        if d["body"].get("orderId") == payment["orderId"] and "secret" in d["body"]
    ]
    assert sent, "the sandbox sent no deposit callback"
    assert all(d["body"]["secret"] not in secret_free for d in sent)
    assert all(d["state"] == "SUCCEEDED" for d in sent)  # we answered 200


def logged_events(service: RunningService, payment: dict[str, Any]) -> list[str]:
    """The types of the payment's events, as the embedded default writes them to the log."""
    types = []
    for line in service.logs().splitlines():
        _, marker, logged = line.partition(" sunap.events ")
        if marker and payment["id"] in logged:
            event = json.loads(logged)
            if event["subject"] == payment["id"]:
                types.append(str(event["type"]))
    return types


def test_a_deposit_the_bank_reverses_is_flagged_and_announced_to_consumers(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    """Toss moves the paid account back to WAITING_FOR_DEPOSIT (a deposit error). A consumer
    that ships on payment.completed must hear of it: the flag comes with its own event."""
    payment = issued_account(api, sandbox)
    deposited(api, sandbox, payment)
    response = sandbox.post(f"/sandbox/virtual-accounts/{payment['paymentKey']}/deposit-error")
    assert response.status_code == 200, response.text

    flagged = wait_for(lambda: (p := current(api, payment))["needsReview"] and p)
    assert flagged, f"the reversed deposit was never flagged: {current(api, payment)}"
    assert flagged["status"] == "DONE" and "deposit" in flagged["reviewReason"]
    announced = wait_for(lambda: "payment.review_required" in logged_events(service, payment))
    assert announced, logged_events(service, payment)
    assert logged_events(service, payment)[-2:] == ["payment.completed", "payment.review_required"]


def test_a_virtual_account_canceled_before_the_deposit_needs_no_refund_account(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = issued_account(api, sandbox)
    response = api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "품절"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CANCELED"
    assert response.json()["balanceAmount"] == 0


def test_a_paid_virtual_account_is_refunded_only_to_a_refund_account(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = deposited(api, sandbox, issued_account(api, sandbox))
    cancel = f"/v1/payments/{payment['id']}/cancel"
    refused = api.post(cancel, json={"cancelReason": "단순 변심"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "REFUND_ACCOUNT_REQUIRED"
    assert current(api, payment)["status"] == "DONE"
    refunded = api.post(
        cancel, json={"cancelReason": "단순 변심", "refundReceiveAccount": REFUND_ACCOUNT}
    )
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "CANCELED"
    assert REFUND_ACCOUNT["accountNumber"] not in str(trail(api, payment))


def test_a_deposit_after_the_due_date_is_refused_and_the_payment_keeps_waiting(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    """Toss sends no webhook when an account expires (docs/toss.md, Payment statuses): nothing moves on our side,
    and the bank refuses the late deposit."""
    payment = issued_account(api, sandbox)
    assert sandbox.post("/sandbox/clock", json={"advanceSeconds": 8 * 24 * 3600}).status_code == 200
    late = sandbox.post(f"/sandbox/virtual-accounts/{payment['paymentKey']}/deposit")
    assert late.status_code >= 400
    assert current(api, payment)["status"] == "WAITING_FOR_DEPOSIT"
