"""READY payments nobody paid expire in a real `sunap serve` (`SUNAP_READY_TTL_SECONDS=5`):
`EXPIRED` through the API, once Toss says it was not paid, with the `payment.expired` event and
an audit row; a payment that was paid in time is left alone; one the customer authenticated
(Toss IN_PROGRESS, confirmable at Toss for 10 more minutes) waits until Toss's window has closed
(`SUNAP_TOSS_RECHECK_SECONDS=3` here, Toss's clock moved on); and a late confirm or cancel of
an expired one changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.flows import (
    confirm,
    create_payment,
    paid_payment,
    pay_in_window,
    toss_calls,
    wait_for,
)
from tests.support.service import RunningService, running_service

TTL_SECONDS = 5
RECHECK_SECONDS = 3


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp("sunap-expiry"))
    with running_service(
        workdir,
        SUNAP_READY_TTL_SECONDS=str(TTL_SECONDS),
        SUNAP_TOSS_RECHECK_SECONDS=str(RECHECK_SECONDS),
    ) as svc:
        yield svc


def events_logged(service: RunningService, payment_id: str) -> list[str]:
    """The event types the log publisher wrote for the payment, in order."""
    types = []
    for line in service.logs().splitlines():
        _, marker, logged = line.partition(" sunap.events ")
        if marker and json.loads(logged).get("subject") == payment_id:
            types.append(json.loads(logged)["type"])
    return types


def status_of(api: httpx.Client, payment: dict[str, Any]) -> str:
    return str(api.get(f"/v1/payments/{payment['id']}").json()["status"])


def test_an_unpaid_payment_expires_after_its_ttl_and_a_paid_one_does_not(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    paid = paid_payment(api, sandbox, 15000)
    unpaid = create_payment(api, 12000)
    assert status_of(api, unpaid) == "READY"

    assert wait_for(lambda: status_of(api, unpaid) == "EXPIRED", timeout=TTL_SECONDS + 30)
    assert status_of(api, paid) == "DONE"
    trail = api.get(f"/v1/payments/{unpaid['id']}/transactions").json()["items"]
    # Toss was asked first, and did not know the order.
    assert [(e["type"], e["status"]) for e in trail] == [
        ("payment.created", "ok"),
        ("pg.lookup", "not_found"),
        ("payment.expired", "ok"),
    ]
    assert wait_for(
        lambda: events_logged(service, unpaid["id"]) == ["payment.created", "payment.expired"]
    )
    assert "payment.expired" not in events_logged(service, paid["id"])


def trail_of(api: httpx.Client, payment: dict[str, Any]) -> list[tuple[str, str]]:
    items = api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    return [(e["type"], e["status"]) for e in items]


def test_an_authenticated_payment_expires_only_once_tosss_window_has_closed_and_then_stays_so(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(api, 9000)
    payment_key = pay_in_window(sandbox, payment)  # the customer was too slow to come back
    assert wait_for(
        lambda: ("payment.expiry_postponed", "ok") in trail_of(api, payment),
        timeout=TTL_SECONDS + 30,
    ), trail_of(api, payment)
    assert status_of(api, payment) == "READY"  # Toss may still approve it: never guessed
    assert "payment.expired" not in events_logged(service, payment["id"])

    moved = sandbox.post("/sandbox/clock", json={"advanceSeconds": 11 * 60})  # Toss's 10 min
    assert moved.status_code == 200, moved.text
    assert wait_for(lambda: status_of(api, payment) == "EXPIRED", timeout=RECHECK_SECONDS + 30)
    assert wait_for(
        lambda: events_logged(service, payment["id"]) == ["payment.created", "payment.expired"]
    )
    confirms_before = len(toss_calls(sandbox, "/v1/payments/confirm"))

    late = confirm(api, payment, payment_key)
    assert late.status_code == 409 and late.json()["code"] == "NOT_CONFIRMABLE_STATUS"
    cancel = api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "r"})
    assert cancel.status_code == 409 and cancel.json()["code"] == "NOT_CANCELABLE_STATUS"
    assert len(toss_calls(sandbox, "/v1/payments/confirm")) == confirms_before
    assert status_of(api, payment) == "EXPIRED"
