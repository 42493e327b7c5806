"""The typed client against a real `sunap serve` (embedded SQLite, Toss sandbox over real HTTP):
what a merchant's backend does with it, and what it gets back when Sunap refuses."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from sunap_client import (
    NO_RETRIES,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PaymentRejected,
    RetryPolicy,
    SunapClient,
    Unauthorized,
    Unprocessable,
)
from tests.support.service import RunningService

Pay = Callable[..., str]


def order_id() -> str:
    return f"order-{uuid.uuid4().hex[:20]}"


@pytest.fixture()
def sunap(service: RunningService, api_key: str) -> Iterator[SunapClient]:
    with SunapClient(service.base_url, api_key, timeout=120) as client:
        yield client


def test_a_payment_is_created_confirmed_partly_canceled_and_audited(
    sunap: SunapClient, pay: Pay
) -> None:
    created = sunap.payments.create(
        order_name="생수 외 1건", amount=15000, order_id=order_id(), metadata={"cart": "c-1"}
    )
    assert (created.status, created.amount, created.currency) == ("READY", 15000, "KRW")
    assert created.checkout is not None and "/checkout/" in created.checkout.url
    assert created.metadata == {"cart": "c-1"}

    paid = sunap.payments.confirm(
        payment_key=pay(created.order_id, 15000), order_id=created.order_id, amount=15000
    )
    assert (paid.id, paid.status, paid.balance_amount) == (created.id, "DONE", 15000)
    assert paid.approved_at is not None and paid.card is not None

    canceled = sunap.payments.cancel(
        created.id, cancel_reason="one bottle broke", cancel_amount=5000
    )
    assert (canceled.status, canceled.balance_amount) == ("PARTIAL_CANCELED", 10000)
    assert [c.cancel_amount for c in canceled.cancels] == [5000]
    assert sunap.payments.get(created.id) == canceled

    trail = sunap.payments.transactions(created.id)
    assert len(trail) >= 2  # the confirm and the cancel, each a call to Toss
    assert all(entry.created_at is not None for entry in trail)


def test_iterating_follows_the_cursor_through_every_page_newest_first(
    sunap: SunapClient,
) -> None:
    customer = f"cust-{uuid.uuid4().hex[:12]}"
    ids = [
        sunap.payments.create(order_name=f"item {n}", amount=1000 + n, customer_key=customer).id
        for n in range(5)
    ]

    first = sunap.payments.list(customer_key=customer, limit=2)
    assert [p.id for p in first.items] == ids[::-1][:2] and first.next_cursor is not None
    every = list(sunap.payments.iterate(customer_key=customer, page_size=2))
    assert [p.id for p in every] == ids[::-1]
    assert list(sunap.payments.iterate(customer_key=customer, status="DONE")) == []


def test_every_post_gets_a_key_of_its_own_unless_the_caller_gives_one(
    sunap: SunapClient,
) -> None:
    first = sunap.payments.create(order_name="a", amount=1000)
    second = sunap.payments.create(order_name="a", amount=1000)
    assert first.id != second.id  # two calls, two payments

    key = f"create-{uuid.uuid4().hex}"
    once = sunap.payments.create(order_name="b", amount=2000, idempotency_key=key)
    again = sunap.payments.create(order_name="b", amount=2000, idempotency_key=key)
    assert again.id == once.id  # replayed by Sunap, not executed twice
    with pytest.raises(Unprocessable) as reused:
        sunap.payments.create(order_name="b", amount=3000, idempotency_key=key)
    assert (reused.value.status, reused.value.code) == (422, "IDEMPOTENCY_KEY_REUSED")


def test_refusals_are_typed_exceptions_with_the_api_code_and_status(
    service: RunningService, sunap: SunapClient, pay: Pay
) -> None:
    created = sunap.payments.create(order_name="생수", amount=15000, order_id=order_id())
    payment_key = pay(created.order_id, 15000)

    with pytest.raises(InvalidRequest) as mismatch:
        sunap.payments.confirm(payment_key=payment_key, order_id=created.order_id, amount=1)
    assert (mismatch.value.status, mismatch.value.code) == (400, "AMOUNT_MISMATCH")
    assert mismatch.value.message
    assert sunap.payments.get(created.id).status == "READY"  # nothing changed

    with pytest.raises(Conflict) as duplicate:
        sunap.payments.create(order_name="생수", amount=15000, order_id=created.order_id)
    assert duplicate.value.code == "DUPLICATE_ORDER_ID"

    sunap.payments.confirm(payment_key=payment_key, order_id=created.order_id, amount=15000)
    with pytest.raises(Unprocessable) as too_much:
        sunap.payments.cancel(created.id, cancel_reason="x", cancel_amount=15001)
    assert too_much.value.code == "EXCEEDS_BALANCE"

    with pytest.raises(NotFound) as missing:
        sunap.payments.get("pay_does_not_exist")
    assert (missing.value.status, missing.value.code) == (404, "PAYMENT_NOT_FOUND")
    with pytest.raises(InvalidRequest) as bad_amount:
        sunap.payments.create(order_name="생수", amount=0)
    assert bad_amount.value.code == "INVALID_REQUEST"

    stranger = SunapClient(service.base_url, "sk_not_a_key", retry=NO_RETRIES)
    with stranger, pytest.raises(Unauthorized) as unknown:
        stranger.payments.get(created.id)
    assert (unknown.value.status, unknown.value.code) == (401, "UNAUTHORIZED")
    reader_key = service.create_key("client-shop", "payments:read")
    with SunapClient(service.base_url, reader_key) as reader:
        assert reader.payments.get(created.id).status == "DONE"
        with pytest.raises(Forbidden) as denied:
            reader.payments.cancel(created.id, cancel_reason="not mine to cancel")
    assert (denied.value.status, denied.value.code) == (403, "FORBIDDEN")


def test_a_refusal_by_toss_names_toss_code(sunap: SunapClient, pay: Pay) -> None:
    created = sunap.payments.create(order_name="생수", amount=15000, order_id=order_id())
    payment_key = pay(created.order_id, 15000, failWith="REJECT_CARD_PAYMENT")

    with pytest.raises(PaymentRejected) as refused:
        sunap.payments.confirm(payment_key=payment_key, order_id=created.order_id, amount=15000)

    assert (refused.value.status, refused.value.code) == (402, "PG_REJECTED")
    assert refused.value.pg_code == "REJECT_CARD_PAYMENT"
    assert sunap.payments.get(created.id).status == "ABORTED"


def toss_fails_confirms(sandbox: httpx.Client, times: int) -> None:
    """Toss answers the next `times` confirms with 500 and applies nothing."""
    fault = {"path": "/v1/payments/confirm", "times": times, "status": 500,
             "code": "FAILED_INTERNAL_SYSTEM_PROCESSING"}  # fmt: skip
    assert sandbox.post("/sandbox/faults", json=fault).status_code in (200, 201)


def test_an_unknown_outcome_is_never_a_failure_and_a_retry_with_the_same_key_settles_it(
    service: RunningService, api_key: str, sandbox: httpx.Client, pay: Pay
) -> None:
    with SunapClient(service.base_url, api_key, timeout=120, retry=NO_RETRIES) as once:
        created = once.payments.create(order_name="생수", amount=15000, order_id=order_id())
        payment_key = pay(created.order_id, 15000)
        toss_fails_confirms(sandbox, times=50)  # more than Sunap's own retries toward Toss
        with pytest.raises(OutcomeUnknown) as unknown:
            once.payments.confirm(payment_key=payment_key, order_id=created.order_id, amount=15000)
        assert (unknown.value.status, unknown.value.code) == (502, "PG_UNAVAILABLE")
        assert once.payments.get(created.id).status in ("READY", "IN_PROGRESS")
        sandbox.delete("/sandbox/faults")
        settled = wait_for(lambda: once.payments.get(created.id).status != "IN_PROGRESS")
        assert settled, "Sunap did not learn the outcome from Toss by itself"
    charges_before = successful_confirms(sandbox)

    second = SunapClient(service.base_url, api_key, timeout=120, retry=RetryPolicy(max_retries=6))
    with second:
        created = second.payments.create(order_name="생수", amount=15000, order_id=order_id())
        payment_key = pay(created.order_id, 15000)
        toss_fails_confirms(sandbox, times=3)  # Sunap's first request gives up; Toss recovers
        paid = second.payments.confirm(
            payment_key=payment_key, order_id=created.order_id, amount=15000
        )
    assert paid.status == "DONE"
    assert successful_confirms(sandbox) == charges_before + 1  # charged once, however retried


def successful_confirms(sandbox: httpx.Client) -> int:
    calls = sandbox.get("/sandbox/calls").json()["items"]
    return sum(1 for c in calls if c["path"].endswith("/confirm") and c["status"] == 200)


def wait_for(check: Callable[[], bool], seconds: float = 90.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True
