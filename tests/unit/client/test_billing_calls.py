"""The client's billing calls against scripted answers (httpx's MockTransport, a transport the
client takes): what each sends, which are sent again with which Idempotency-Key, and what a
refused or unknown first charge carries back."""

from __future__ import annotations

import json

import httpx
import pytest

from sunap_client import (
    AsyncSunapClient,
    OutcomeUnknown,
    PaymentRejected,
    SunapError,
)
from tests.unit.client.test_retries import NO_WAIT, PAYMENT, Script, client, error

BILLING_KEY = {"id": "bk_1", "customerKey": "cust-1", "method": "CARD", "status": "ACTIVE",
               "card": {"company": "61", "number": "43301234****123*", "cardType": "신용",
                        "ownerType": "개인"},
               "createdAt": "2026-12-01T12:00:00+09:00", "deletedAt": None,
               "addedLater": 1}  # fmt: skip
SUBSCRIPTION = {"id": "sub_1", "customerKey": "cust-1", "billingKeyId": "bk_1", "plan": "basic",
                "orderName": "베이직 플랜", "amount": 9900, "currency": "KRW",
                "interval": "month", "intervalCount": 1, "status": "ACTIVE",
                "cancelAtPeriodEnd": False, "failedAttempts": 0}  # fmt: skip


def body(request: httpx.Request) -> object:
    return json.loads(request.content) if request.content else None


def test_a_charge_keeps_one_key_across_its_retries_and_sends_only_what_was_given() -> None:
    script = Script(httpx.ConnectError("refused"), error(503, "SERVICE_UNAVAILABLE"),
                    httpx.Response(200, json=PAYMENT | {"billingKeyId": "bk_1"}))  # fmt: skip
    with client(script) as sunap:
        paid = sunap.billing_keys.charge("bk_1", order_name="저장공간", amount=3300)
    assert paid.billing_key_id == "bk_1" and paid.subscription_id is None
    assert [r.url.path for r in script.requests] == ["/v1/billing-keys/bk_1/charges"] * 3
    assert script.keys[0] and len(set(script.keys)) == 1
    assert body(script.requests[0]) == {"orderName": "저장공간", "amount": 3300}


def test_every_billing_post_has_a_key_and_patch_and_delete_are_sent_again_without_one() -> None:
    answers = [httpx.Response(201, json=BILLING_KEY), httpx.Response(201, json=SUBSCRIPTION),
               *(httpx.Response(200, json=SUBSCRIPTION) for _ in range(3)),
               error(503, "SERVICE_UNAVAILABLE"), httpx.Response(200, json=SUBSCRIPTION),
               httpx.ReadTimeout("slow"), httpx.Response(200, json=BILLING_KEY)]  # fmt: skip
    script = Script(*answers)
    with client(script) as sunap:
        sunap.billing_keys.issue(auth_key="ak", customer_key="cust-1")
        sunap.subscriptions.create(
            customer_key="cust-1", billing_key_id="bk_1", plan="basic", order_name="베이직",
            amount=9900, interval="month", idempotency_key="subscribe-cust-1",
        )  # fmt: skip
        sunap.subscriptions.cancel("sub_1")
        sunap.subscriptions.pause("sub_1")
        sunap.subscriptions.resume("sub_1")
        sunap.subscriptions.change("sub_1", amount=14900)
        sunap.billing_keys.delete("bk_1")
    sent = [(r.method, r.url.path) for r in script.requests]
    assert sent == [
        ("POST", "/v1/billing-keys"),
        ("POST", "/v1/subscriptions"),
        ("POST", "/v1/subscriptions/sub_1/cancel"),
        ("POST", "/v1/subscriptions/sub_1/pause"),
        ("POST", "/v1/subscriptions/sub_1/resume"),
        ("PATCH", "/v1/subscriptions/sub_1"),
        ("PATCH", "/v1/subscriptions/sub_1"),
        ("DELETE", "/v1/billing-keys/bk_1"),
        ("DELETE", "/v1/billing-keys/bk_1"),
    ]
    posts = script.keys[:5]
    assert all(posts) and len(set(posts)) == 5 and posts[1] == "subscribe-cust-1"
    assert script.keys[5:] == [None] * 4
    assert body(script.requests[1]) == {
        "customerKey": "cust-1", "billingKeyId": "bk_1", "plan": "basic", "orderName": "베이직",
        "amount": 9900, "interval": "month",
    }  # fmt: skip
    assert body(script.requests[2]) == {"atPeriodEnd": True}
    assert body(script.requests[3]) is None and body(script.requests[5]) == {"amount": 14900}


def test_a_replayed_answer_is_not_sent_again() -> None:
    """A charge's unknown outcome is kept for its key: retrying it would only get it back."""
    kept = httpx.Response(
        502,
        json={"code": "PG_UNAVAILABLE", "message": "m",
              "payment": PAYMENT | {"status": "IN_PROGRESS"}},
        headers={"Idempotent-Replayed": "true"},
    )  # fmt: skip
    script = Script(kept)
    with client(script) as sunap, pytest.raises(OutcomeUnknown) as unknown:
        sunap.billing_keys.charge("bk_1", order_name="저장공간", amount=3300)
    assert len(script.requests) == 1
    assert unknown.value.replayed
    assert unknown.value.payment is not None and unknown.value.payment.status == "IN_PROGRESS"


def test_a_refused_first_charge_carries_the_ended_subscription_and_its_payment() -> None:
    ended = SUBSCRIPTION | {"status": "CANCELED", "cancelReason": "FIRST_CHARGE_FAILED"}
    refusal = {"code": "PG_REJECTED", "message": "m", "pgCode": "REJECT_CARD_PAYMENT",
               "pgMessage": "한도초과", "subscription": ended,
               "payment": PAYMENT | {"status": "ABORTED"}}  # fmt: skip
    script = Script(httpx.Response(402, json=refusal))
    with client(script) as sunap, pytest.raises(PaymentRejected) as refused:
        sunap.subscriptions.create(
            customer_key="cust-1", billing_key_id="bk_1", plan="basic", order_name="베이직",
            amount=9900, interval="month",
        )  # fmt: skip
    assert len(script.requests) == 1  # a refusal is final
    sub = refused.value.subscription
    assert sub is not None and (sub.status, sub.cancel_reason) == (
        "CANCELED",
        "FIRST_CHARGE_FAILED",
    )
    assert refused.value.payment is not None and refused.value.payment.status == "ABORTED"
    assert refused.value.pg_code == "REJECT_CARD_PAYMENT"


def test_an_error_without_a_resource_or_with_a_broken_one_has_none() -> None:
    script = Script(error(409, "BILLING_KEY_NOT_ACTIVE"),
                    httpx.Response(402, json={"code": "PG_REJECTED", "message": "m",
                                              "subscription": {"id": "sub_1"}}))  # fmt: skip
    with client(script) as sunap:
        for _ in range(2):
            with pytest.raises(SunapError) as raised:
                sunap.billing_keys.charge("bk_1", order_name="x", amount=1000)
            assert raised.value.subscription is None and raised.value.payment is None


def test_a_billing_key_is_read_with_fields_added_later_kept_in_raw_only() -> None:
    script = Script(httpx.Response(200, json=BILLING_KEY))
    with client(script) as sunap:
        key = sunap.billing_keys.get("bk_1")
    assert (key.status, key.card and key.card.number) == ("ACTIVE", "43301234****123*")
    assert key.raw["addedLater"] == 1 and "addedLater" not in repr(key)


async def test_the_async_billing_calls_iterate_by_cursor_and_retry_with_one_key() -> None:
    pages = [{"items": [SUBSCRIPTION], "nextCursor": "c1"},
             {"items": [SUBSCRIPTION | {"id": "sub_2"}], "nextCursor": None}]  # fmt: skip
    script = Script(httpx.Response(200, json=pages[0]), error(503, "SERVICE_UNAVAILABLE"),
                    httpx.Response(200, json=pages[1]), error(504, "PG_TIMEOUT"),
                    httpx.Response(200, json=SUBSCRIPTION))  # fmt: skip
    async with AsyncSunapClient(
        "http://sunap.test", "sk_test", retry=NO_WAIT, transport=httpx.MockTransport(script)
    ) as sunap:
        listed = [s.id async for s in sunap.subscriptions.iterate(customer_key="cust-1")]
        resumed = await sunap.subscriptions.resume("sub_1")
    assert listed == ["sub_1", "sub_2"] and resumed.status == "ACTIVE"
    assert script.requests[2].url.params["cursor"] == "c1"
    assert script.keys[:3] == [None] * 3 and script.keys[3] and script.keys[3] == script.keys[4]
