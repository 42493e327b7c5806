"""The client's billing calls against a real `sunap serve` (embedded SQLite, Toss sandbox over real
HTTP): a card registered, charged once, refused; a subscription's whole life; and answers lost on
the way back from Toss."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sunap_client import (
    Conflict,
    OutcomeUnknown,
    PaymentRejected,
    SunapClient,
)
from tests.support.service import RunningService

RegisterCard = Callable[[str], str]
CHARGE_PATH = "/v1/billing/{billingKey}"  # how the sandbox lists a charge: the key named, not shown
# Every field Sunap's billing key has (docs/billing.md): Toss's billingKey is not among them.
BILLING_KEY_FIELDS = {"id", "customerKey", "method", "card", "status", "createdAt", "deletedAt"}


def customer() -> str:
    return f"cust-{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def sunap(service: RunningService, billing_api_key: str) -> Iterator[SunapClient]:
    with SunapClient(service.base_url, billing_api_key, timeout=120) as client:
        yield client


def fault(sandbox: httpx.Client, **spec: Any) -> None:
    """The next matching Toss call misbehaves (the sandbox's control plane)."""
    answer = sandbox.post("/sandbox/faults", json=spec)
    assert answer.status_code in (200, 201), answer.text


def toss_calls(sandbox: httpx.Client) -> list[dict[str, Any]]:
    return list(sandbox.get("/sandbox/calls").json()["items"])


class Recording(httpx.HTTPTransport):
    """A real transport that notes each request the client sends and the status it got."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, int, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        key = request.headers.get("Idempotency-Key")
        self.sent.append((request.method, request.url.path, response.status_code, key))
        return response


def wait_for(check: Callable[[], bool], seconds: float = 90.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_a_card_is_registered_charged_once_looked_up_and_deleted(
    sunap: SunapClient, register_card: RegisterCard
) -> None:
    buyer = customer()
    first = sunap.billing_keys.issue(auth_key=register_card(buyer), customer_key=buyer)
    key = sunap.billing_keys.issue(auth_key=register_card(buyer), customer_key=buyer)
    assert (key.status, key.customer_key, key.method) == ("ACTIVE", buyer, "CARD")
    assert key.id.startswith("bk_") and key.created_at is not None and key.deleted_at is None
    assert key.card is not None and key.card.number is not None and "*" in key.card.number
    # Only what Sunap answers, and it answers no credential: Toss's billing key stays inside.
    assert set(key.raw) == BILLING_KEY_FIELDS
    assert "raw" not in repr(key)
    assert sunap.billing_keys.get(key.id) == key
    assert [k.id for k in sunap.billing_keys.iterate(customer_key=buyer, page_size=1)] == [
        key.id,
        first.id,
    ]  # newest first, one page at a time

    paid = sunap.billing_keys.charge(
        key.id, order_name="추가 저장공간", amount=3300, metadata={"addon": "storage"}
    )
    assert (paid.status, paid.amount, paid.balance_amount) == ("DONE", 3300, 3300)
    assert paid.billing_key_id == key.id and paid.subscription_id is None
    assert paid.metadata == {"addon": "storage"}

    deleted = sunap.billing_keys.delete(key.id)
    assert (deleted.id, deleted.status) == (key.id, "DELETED") and deleted.deleted_at is not None
    assert [k.id for k in sunap.billing_keys.iterate(customer_key=buyer, status="ACTIVE")] == [
        first.id
    ]
    with pytest.raises(Conflict) as gone:
        sunap.billing_keys.charge(key.id, order_name="again", amount=3300)
    assert (gone.value.status, gone.value.code) == (409, "BILLING_KEY_NOT_ACTIVE")


def test_a_refused_charge_and_a_refused_first_period_carry_what_they_left(
    sunap: SunapClient, sandbox: httpx.Client, register_card: RegisterCard
) -> None:
    buyer = customer()
    key = sunap.billing_keys.issue(auth_key=register_card(buyer), customer_key=buyer)

    fault(sandbox, method="POST", path=CHARGE_PATH.replace("{billingKey}", "*"),
          code="REJECT_CARD_PAYMENT")  # fmt: skip
    with pytest.raises(PaymentRejected) as refused:
        sunap.billing_keys.charge(key.id, order_name="추가 저장공간", amount=3300)
    assert (refused.value.status, refused.value.code) == (402, "PG_REJECTED")
    assert refused.value.pg_code == "REJECT_CARD_PAYMENT"
    assert refused.value.payment is not None and refused.value.payment.status == "ABORTED"
    assert refused.value.subscription is None

    fault(sandbox, method="POST", path=CHARGE_PATH.replace("{billingKey}", "*"),
          code="REJECT_CARD_PAYMENT")  # fmt: skip
    with pytest.raises(PaymentRejected) as first_refused:
        sunap.subscriptions.create(
            customer_key=buyer, billing_key_id=key.id, plan="basic", order_name="베이직 플랜",
            amount=9900, interval="month",
        )  # fmt: skip
    ended = first_refused.value.subscription
    assert ended is not None
    assert (ended.status, ended.cancel_reason, ended.amount) == (
        "CANCELED",
        "FIRST_CHARGE_FAILED",
        9900,
    )
    assert first_refused.value.pg_code == "REJECT_CARD_PAYMENT"
    charge = first_refused.value.payment
    assert charge is not None and (charge.status, charge.subscription_id) == ("ABORTED", ended.id)
    assert sunap.subscriptions.get(ended.id).status == "CANCELED"


def test_a_subscription_is_created_listed_changed_paused_resumed_and_canceled(
    sunap: SunapClient, register_card: RegisterCard
) -> None:
    buyer = customer()
    key = sunap.billing_keys.issue(auth_key=register_card(buyer), customer_key=buyer)

    sub = sunap.subscriptions.create(
        customer_key=buyer, billing_key_id=key.id, plan="basic", order_name="베이직 플랜",
        amount=9900, interval="month", metadata={"seat": "3"},
    )  # fmt: skip
    assert (sub.status, sub.amount, sub.interval, sub.interval_count) == (
        "ACTIVE",
        9900,
        "month",
        1,
    )
    assert sub.current_period_end is not None and sub.next_charge_at is not None
    assert sub.metadata == {"seat": "3"} and sub.latest_payment_id is not None
    first_charge = sunap.subscriptions.payments(sub.id).items
    assert [(p.id, p.status, p.amount, p.subscription_id) for p in first_charge] == [
        (sub.latest_payment_id, "DONE", 9900, sub.id)
    ]
    trial = sunap.subscriptions.create(
        customer_key=buyer, billing_key_id=key.id, plan="pro", order_name="프로 플랜",
        amount=29000, interval="year", trial_days=14,
    )  # fmt: skip
    assert (trial.status, trial.latest_payment_id) == ("TRIALING", None)
    assert trial.trial_end is not None
    listed = [s.id for s in sunap.subscriptions.iterate(customer_key=buyer, page_size=1)]
    assert listed == [trial.id, sub.id]  # newest first, following the cursor
    assert [s.id for s in sunap.subscriptions.iterate(customer_key=buyer, status="TRIALING")] == [
        trial.id
    ]

    changed = sunap.subscriptions.change(sub.id, plan="standard", amount=14900)
    assert (changed.plan, changed.amount, changed.status) == ("standard", 14900, "ACTIVE")
    assert changed.order_name == sub.order_name  # what was not named is kept

    paused = sunap.subscriptions.pause(sub.id)
    assert (paused.status, paused.next_charge_at) == ("PAUSED", None)
    resumed = sunap.subscriptions.resume(sub.id)
    assert resumed.status == "ACTIVE" and resumed.next_charge_at is not None
    charges = list(sunap.subscriptions.iterate_payments(sub.id, page_size=1))
    assert [(p.status, p.amount) for p in charges] == [("DONE", 14900), ("DONE", 9900)]
    assert charges[0].id == resumed.latest_payment_id  # the new period, at the new price

    at_end = sunap.subscriptions.cancel(sub.id, cancel_reason="moving to another tool")
    assert (at_end.status, at_end.cancel_at_period_end) == ("ACTIVE", True)
    assert at_end.cancel_reason == "moving to another tool"
    now = sunap.subscriptions.cancel(sub.id, at_period_end=False)
    assert now.status == "CANCELED" and now.canceled_at is not None
    with pytest.raises(Conflict) as over:
        sunap.subscriptions.pause(sub.id)
    assert over.value.code == "SUBSCRIPTION_NOT_CHANGEABLE"
    assert sunap.subscriptions.cancel(trial.id, at_period_end=False).status == "CANCELED"


def test_a_registration_whose_answer_was_lost_is_settled_by_the_clients_retry_once(
    sunap: SunapClient, sandbox: httpx.Client, register_card: RegisterCard
) -> None:
    """Sunap answers 502 and lets the key go; the client sends the same request with the same
    key, Sunap sends Toss the same registration, and Toss answers with the one key it made."""
    buyer = customer()
    auth_key = register_card(buyer)
    seen = len(toss_calls(sandbox))
    fault(sandbox, method="POST", path="/v1/billing/authorizations/issue", status=500,
          afterApply=True)  # fmt: skip

    key = sunap.billing_keys.issue(auth_key=auth_key, customer_key=buyer)

    assert key.status == "ACTIVE"
    issues = [c for c in toss_calls(sandbox)[seen:] if c["path"].endswith("/issue")]
    assert [c["status"] for c in issues] == [500, 200]  # the lost answer, then the retry's
    assert len({c["idempotencyKey"] for c in issues}) == 1  # the same registration: one key
    assert [k.id for k in sunap.billing_keys.iterate(customer_key=buyer)] == [key.id]


def test_a_deletion_whose_answer_was_lost_is_sent_again_by_the_client_and_ends_deleted(
    service: RunningService,
    billing_api_key: str,
    sandbox: httpx.Client,
    register_card: RegisterCard,
) -> None:
    """Toss deleted the key and its answer was lost: Sunap answers 502 with the key still ACTIVE
    and asks for the same DELETE again, which the client sends by itself; by then Toss no longer
    has the key (and said so by its BILLING_DELETED webhook), so Sunap has deleted it too."""
    transport = Recording()
    with SunapClient(service.base_url, billing_api_key, timeout=120, transport=transport) as sunap:
        buyer = customer()
        key = sunap.billing_keys.issue(auth_key=register_card(buyer), customer_key=buyer)
        fault(sandbox, method="DELETE", path=CHARGE_PATH.replace("{billingKey}", "*"),
              status=500, afterApply=True)  # fmt: skip

        deleted = sunap.billing_keys.delete(key.id)

    assert (deleted.id, deleted.status) == (key.id, "DELETED")
    deletes = [status for method, _, status, _ in transport.sent if method == "DELETE"]
    assert deletes == [502, 200]


def test_a_charge_whose_answer_was_lost_is_unknown_never_failed_and_charged_once(
    service: RunningService,
    billing_api_key: str,
    sunap: SunapClient,
    sandbox: httpx.Client,
    register_card: RegisterCard,
) -> None:
    """Toss charged the card and its answer was lost. Sunap keeps its 502 for the request's key
    (docs/billing.md): the client's retry, with the same key, gets that answer back rather than
    a second charge, and the client stops there; Sunap settles the charge with Toss by itself,
    under the same Toss key."""
    buyer = customer()
    key = sunap.billing_keys.issue(auth_key=register_card(buyer), customer_key=buyer)
    seen = len(toss_calls(sandbox))
    fault(sandbox, method="POST", path=CHARGE_PATH.replace("{billingKey}", "*"), status=500,
          afterApply=True)  # fmt: skip
    transport = Recording()

    with (
        SunapClient(service.base_url, billing_api_key, timeout=120, transport=transport) as once,
        pytest.raises(OutcomeUnknown) as unknown,
    ):
        once.billing_keys.charge(key.id, order_name="추가 저장공간", amount=3300)

    assert (unknown.value.status, unknown.value.code) == (502, "PG_UNAVAILABLE")
    assert [status for _, _, status, _ in transport.sent] == [502, 502]  # sent, then sent again
    assert len({key for _, _, _, key in transport.sent}) == 1  # under one Idempotency-Key
    assert unknown.value.replayed  # the kept answer: the client sends it no third time
    pending = unknown.value.payment
    assert pending is not None and pending.status == "IN_PROGRESS"
    assert wait_for(lambda: sunap.payments.get(pending.id).status != "IN_PROGRESS")
    settled = sunap.payments.get(pending.id)
    assert (settled.status, settled.amount, settled.billing_key_id) == ("DONE", 3300, key.id)
    charges = [c for c in toss_calls(sandbox)[seen:] if c["path"] == CHARGE_PATH]
    assert charges[0]["status"] == 500  # applied, its answer lost
    assert len({c["idempotencyKey"] for c in charges}) == 1  # one charge at Toss, however asked
    assert [p.id for p in sunap.payments.iterate(customer_key=buyer)] == [pending.id]


def test_a_subscription_whose_first_charge_went_unanswered_is_incomplete_then_active(
    sunap: SunapClient, sandbox: httpx.Client, register_card: RegisterCard
) -> None:
    buyer = customer()
    key = sunap.billing_keys.issue(auth_key=register_card(buyer), customer_key=buyer)
    fault(sandbox, method="POST", path=CHARGE_PATH.replace("{billingKey}", "*"), status=500,
          afterApply=True)  # fmt: skip

    with pytest.raises(OutcomeUnknown) as unknown:
        sunap.subscriptions.create(
            customer_key=buyer, billing_key_id=key.id, plan="basic", order_name="베이직 플랜",
            amount=9900, interval="month",
        )  # fmt: skip

    waiting = unknown.value.subscription
    assert waiting is not None and waiting.status == "INCOMPLETE"
    assert wait_for(lambda: sunap.subscriptions.get(waiting.id).status != "INCOMPLETE")
    assert sunap.subscriptions.get(waiting.id).status == "ACTIVE"
    assert [p.status for p in sunap.subscriptions.iterate_payments(waiting.id)] == ["DONE"]
    assert [s.id for s in sunap.subscriptions.iterate(customer_key=buyer)] == [waiting.id]
