"""Billing keys and subscriptions over HTTP against a real `sunap serve` with its embedded Toss
sandbox, on SQLite, PostgreSQL and MariaDB; renewals are driven by `sunap billing run-due --at`."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from sunap.adapters.sql.tables import payments
from tests.e2e.billing_flows import (
    active_subscription,
    after,
    billing_key,
    cancel_every_other_subscription,
    charges,
    customer_key,
    get,
    refuse_next_charges,
    rows_of,
    run_due,
    subscribe,
)
from tests.e2e.flows import new_order_id, toss_calls, wait_for
from tests.support.databases import selected_backends
from tests.support.service import RunningService, running_service_on
from tests.support.vault import toss_billing_keys_of


@pytest.fixture(scope="module", params=selected_backends())
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp(f"billing-{request.param}"))
    with running_service_on(str(request.param), workdir) as svc:
        yield svc


@pytest.fixture(scope="module")
def billing_api_key(service: RunningService) -> str:
    return service.create_key("saas-a", "billing")


@pytest.fixture()
def api(service: RunningService, billing_api_key: str) -> Iterator[httpx.Client]:
    with service.client(billing_api_key) as client:
        yield client


@pytest.fixture()
def sandbox(service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as client:
        client.delete("/sandbox/faults")
        yield client
        client.delete("/sandbox/faults")


def test_a_registered_card_is_subscribed_and_renewed_each_month_clamped_to_month_end(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    key = billing_key(api, sandbox, customer_key())
    assert key["status"] == "ACTIVE" and key["card"]["number"].count("*") > 0
    assert set(key) == {"id", "customerKey", "method", "card", "status", "createdAt", "deletedAt"}
    sub = subscribe(api, key).json()
    assert sub["status"] == "ACTIVE" and sub["failedAttempts"] == 0
    first = charges(api, sub["id"])
    assert [(p["status"], p["amount"], p["billingKeyId"]) for p in first] == [
        ("DONE", 9900, key["id"])
    ]
    assert first[0]["orderId"] == f"{sub['id']}-p0-a1"

    ends = [sub["currentPeriodEnd"]]
    for _ in range(3):
        printed = run_due(service, after(ends[-1], minutes=1))
        assert [r[1] for r in rows_of(printed, sub["id"])] == ["approved"]
        renewed = get(api, f"/v1/subscriptions/{sub['id']}")
        assert renewed["currentPeriodStart"] == ends[-1]
        ends.append(renewed["currentPeriodEnd"])
    # Each boundary keeps the anchor's day (Seoul time), clamped in a short month.
    days = [after(e, hours=9).day for e in ends]
    anchor_day = days[0]
    assert all(d == anchor_day or d >= 28 for d in days), days
    assert len(charges(api, sub["id"])) == 4
    # Nothing more is due now: a second pass at the same time charges nothing.
    assert rows_of(run_due(service, after(ends[-2], minutes=2)), sub["id"]) == []


def test_the_full_dunning_ladder_ends_in_cancel_after_the_last_retry(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    sub = active_subscription(api, sandbox)
    due = sub["currentPeriodEnd"]
    refuse_next_charges(sandbox, times=4)
    outcomes = []
    for days in (0, 1, 3, 5):
        printed = run_due(service, after(due, days=days, minutes=1))
        outcomes.append(rows_of(printed, sub["id"])[0][1:5:3])
    assert outcomes == [
        ["refused", "PAST_DUE"],
        ["refused", "PAST_DUE"],
        ["refused", "PAST_DUE"],
        ["refused", "CANCELED"],
    ]
    ended = get(api, f"/v1/subscriptions/{sub['id']}")
    assert (ended["status"], ended["cancelReason"], ended["nextChargeAt"]) == (
        "CANCELED",
        "PAYMENT_FAILED",
        None,
    )
    orders = [p["orderId"].rsplit("-", 2)[1:] for p in charges(api, sub["id"])]
    assert orders == [["p1", "a4"], ["p1", "a3"], ["p1", "a2"], ["p1", "a1"], ["p0", "a1"]]


def test_a_past_due_subscription_recovers_on_a_retry(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    sub = active_subscription(api, sandbox)
    refuse_next_charges(sandbox)
    run_due(service, after(sub["currentPeriodEnd"], minutes=1))
    past_due = get(api, f"/v1/subscriptions/{sub['id']}")
    assert (past_due["status"], past_due["failedAttempts"]) == ("PAST_DUE", 1)
    assert past_due["nextChargeAt"] is not None
    # Not retried before its day.
    assert rows_of(run_due(service, after(sub["currentPeriodEnd"], hours=12)), sub["id"]) == []
    run_due(service, after(past_due["nextChargeAt"], minutes=1))
    recovered = get(api, f"/v1/subscriptions/{sub['id']}")
    assert (recovered["status"], recovered["failedAttempts"]) == ("ACTIVE", 0)
    assert recovered["currentPeriodStart"] == sub["currentPeriodEnd"]


def test_a_trial_charges_nothing_until_it_ends(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    sub = active_subscription(api, sandbox, trialDays=14)
    assert sub["status"] == "TRIALING" and sub["trialEnd"] == sub["nextChargeAt"]
    assert charges(api, sub["id"]) == []
    assert rows_of(run_due(service, after(sub["trialEnd"], days=-1)), sub["id"]) == []
    run_due(service, after(sub["trialEnd"], minutes=1))
    paid = get(api, f"/v1/subscriptions/{sub['id']}")
    assert paid["status"] == "ACTIVE" and paid["currentPeriodStart"] == sub["trialEnd"]
    assert [p["status"] for p in charges(api, sub["id"])] == ["DONE"]


def test_cancel_at_period_end_keeps_the_period_then_ends_without_a_charge(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    sub = active_subscription(api, sandbox)
    canceled = api.post(f"/v1/subscriptions/{sub['id']}/cancel", json={"cancelReason": "bye"})
    assert canceled.status_code == 200, canceled.text
    assert (canceled.json()["status"], canceled.json()["cancelAtPeriodEnd"]) == ("ACTIVE", True)
    printed = run_due(service, after(sub["currentPeriodEnd"], minutes=1))
    assert [r[1] for r in rows_of(printed, sub["id"])] == ["ended"]
    ended = get(api, f"/v1/subscriptions/{sub['id']}")
    assert (ended["status"], ended["cancelReason"]) == ("CANCELED", "bye")
    assert len(charges(api, sub["id"])) == 1
    again = api.post(f"/v1/subscriptions/{sub['id']}/pause")
    assert again.status_code == 409 and again.json()["code"] == "SUBSCRIPTION_NOT_CHANGEABLE"


def test_a_cancel_with_no_body_at_all_cancels_at_period_end_as_an_empty_object_would(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    sub = active_subscription(api, sandbox)
    canceled = api.post(f"/v1/subscriptions/{sub['id']}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert (canceled.json()["status"], canceled.json()["cancelAtPeriodEnd"]) == ("ACTIVE", True)
    bad = api.post(f"/v1/subscriptions/{sub['id']}/cancel", json={"atPeriodEnd": "yes"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_REQUEST"


def test_cancel_now_and_change_from_the_next_charge(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    sub = active_subscription(api, sandbox)
    changed = api.patch(f"/v1/subscriptions/{sub['id']}", json={"amount": 19900, "plan": "team"})
    assert changed.status_code == 200 and changed.json()["amount"] == 19900
    run_due(service, after(sub["currentPeriodEnd"], minutes=1))
    assert [p["amount"] for p in charges(api, sub["id"])] == [19900, 9900]
    now = api.post(f"/v1/subscriptions/{sub['id']}/cancel", json={"atPeriodEnd": False})
    assert now.json()["status"] == "CANCELED" and now.json()["canceledAt"] is not None


def test_pause_charges_nothing_and_resume_starts_a_new_period_charged_at_once(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    sub = active_subscription(api, sandbox)
    paused = api.post(f"/v1/subscriptions/{sub['id']}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "PAUSED"
    assert paused.json()["nextChargeAt"] is None
    assert rows_of(run_due(service, after(sub["currentPeriodEnd"], days=2)), sub["id"]) == []
    resumed = api.post(f"/v1/subscriptions/{sub['id']}/resume")
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert body["status"] == "ACTIVE" and body["currentPeriodStart"] > sub["currentPeriodStart"]
    assert [p["orderId"][-5:] for p in charges(api, sub["id"])] == ["p1-a1", "p0-a1"]


def test_resume_undoes_a_period_end_cancel_without_a_charge_and_the_period_renews_at_its_end(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    """It answered 409 "A ACTIVE subscription cannot be resumed": the only way back was pause and
    resume, which charged a new period at once, the current one being paid already."""
    sub = active_subscription(api, sandbox)
    cancel_every_other_subscription(api, keep=sub["id"])
    canceled = api.post(f"/v1/subscriptions/{sub['id']}/cancel", json={"cancelReason": "asked"})
    assert canceled.json()["cancelAtPeriodEnd"] is True

    resumed = api.post(f"/v1/subscriptions/{sub['id']}/resume")

    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert (body["status"], body["cancelAtPeriodEnd"], body["cancelReason"]) == (
        "ACTIVE",
        False,
        None,
    )
    for field in ("currentPeriodStart", "currentPeriodEnd", "nextChargeAt"):
        assert body[field] == sub[field], field
    assert len(charges(api, sub["id"])) == 1  # nothing charged
    again = api.post(f"/v1/subscriptions/{sub['id']}/resume")
    assert again.status_code == 409 and again.json()["code"] == "SUBSCRIPTION_NOT_CHANGEABLE"
    assert "this one is ACTIVE" in again.json()["message"]
    printed = run_due(service, after(sub["currentPeriodEnd"], minutes=1))
    assert rows_of(printed, sub["id"])[0][1] == "approved"  # renewed, not ended
    assert get(api, f"/v1/subscriptions/{sub['id']}")["status"] == "ACTIVE"
    assert [p["orderId"][-5:] for p in charges(api, sub["id"])] == ["p1-a1", "p0-a1"]


def test_a_past_due_subscription_paused_then_resumed_is_charged_under_a_new_order_id(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    """The resume's charge reused the refused attempt's orderId (-p1-a1): 409
    DUPLICATE_ORDER_ID on every resume, for good."""
    sub = active_subscription(api, sandbox)
    cancel_every_other_subscription(api, keep=sub["id"])
    refuse_next_charges(sandbox)
    printed = run_due(service, after(sub["currentPeriodEnd"], minutes=1))
    assert rows_of(printed, sub["id"])[0][1:5:3] == ["refused", "PAST_DUE"]
    assert api.post(f"/v1/subscriptions/{sub['id']}/pause").status_code == 200

    resumed = api.post(f"/v1/subscriptions/{sub['id']}/resume")

    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["status"], resumed.json()["failedAttempts"]) == ("ACTIVE", 0)
    assert sorted((p["orderId"][-5:], p["status"]) for p in charges(api, sub["id"])) == [
        ("p0-a1", "DONE"),
        ("p1-a1", "ABORTED"),
        ("p1-a2", "DONE"),
    ]


@pytest.mark.parametrize("change", ["pause", "cancel"])
def test_a_renewal_in_flight_is_not_paused_or_canceled_under_it(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client, change: str
) -> None:
    """Toss answers the renewal, and the reconciler's replays of it, slowly (a real billing
    charge may take a minute). Paused under
    it, the paid period was lost and every resume got 409 DUPLICATE_ORDER_ID; canceled under
    it, the customer was charged after the merchant was told CANCELED."""
    sub = active_subscription(api, sandbox)
    slow = {"method": "POST", "path": "/v1/billing/*", "times": 3, "delayMs": 3000}
    assert sandbox.post("/sandbox/faults", json=slow).status_code in (200, 201)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        renewal = pool.submit(run_due, service, after(sub["currentPeriodEnd"], seconds=1))
        in_flight = wait_for(
            lambda: [p for p in charges(api, sub["id"]) if p["status"] == "IN_PROGRESS"]
        )
        assert in_flight, (renewal.done() and renewal.result(), charges(api, sub["id"]))
        body = {"atPeriodEnd": False} if change == "cancel" else {}
        refused = api.post(f"/v1/subscriptions/{sub['id']}/{change}", json=body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "SUBSCRIPTION_NOT_CHANGEABLE"
        assert rows_of(renewal.result(), sub["id"])[0][1] == "approved"
    renewed = get(api, f"/v1/subscriptions/{sub['id']}")
    assert (
        renewed["status"] == "ACTIVE" and renewed["currentPeriodStart"] == sub["currentPeriodEnd"]
    )
    changed = api.post(f"/v1/subscriptions/{sub['id']}/{change}", json=body)
    assert changed.status_code == 200, changed.text
    if change == "pause":
        resumed = api.post(f"/v1/subscriptions/{sub['id']}/resume")
        assert resumed.status_code == 200, resumed.text
        ordered = sorted(p["orderId"][-5:] for p in charges(api, sub["id"]))
        assert ordered == ["p0-a1", "p1-a1", "p2-a1"]
    else:
        assert changed.json()["status"] == "CANCELED"
        assert all(p["status"] == "DONE" for p in charges(api, sub["id"]))


def test_a_refused_first_charge_cancels_the_subscription_and_says_why(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    key = billing_key(api, sandbox, customer_key())
    refuse_next_charges(sandbox)
    refused = subscribe(api, key)
    assert refused.status_code == 402, refused.text
    body = refused.json()
    assert (body["code"], body["pgCode"]) == ("PG_REJECTED", "REJECT_CARD_COMPANY")
    assert body["subscription"]["status"] == "CANCELED"
    assert body["subscription"]["cancelReason"] == "FIRST_CHARGE_FAILED"
    assert body["payment"]["status"] == "ABORTED"


def test_an_unknown_first_charge_leaves_it_incomplete_until_the_reconciler_settles_it_once(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    key = billing_key(api, sandbox, customer_key())
    # Every connection to Toss's charge drops, the client's same-key retries' too.
    lost = {"method": "POST", "path": "/v1/billing/*", "dropConnection": True, "times": 50}
    sandbox.post("/sandbox/faults", json=lost)
    answered = subscribe(api, key, idempotency_key=f"sub-{key['id']}")
    assert answered.status_code in (502, 504), answered.text
    sub = answered.json()["subscription"]
    assert sub["status"] == "INCOMPLETE" and answered.json()["payment"]["status"] == "IN_PROGRESS"
    # The shop retries with its key: the same answer, not a second subscription and charge.
    again = subscribe(api, key, idempotency_key=f"sub-{key['id']}")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["subscription"]["id"] == sub["id"]
    sandbox.delete("/sandbox/faults")  # Toss answers again
    settled = wait_for(
        lambda: (s := get(api, f"/v1/subscriptions/{sub['id']}"))["status"] == "ACTIVE" and s,
        timeout=30,
    )
    assert settled, get(api, f"/v1/subscriptions/{sub['id']}")
    order_id = f"{sub['id']}-p0-a1"
    approved = [c for c in toss_calls(sandbox, "/v1/billing/") if c["status"] == 200]
    assert [p["orderId"] for p in charges(api, sub["id"])] == [order_id]
    listed = api.get("/v1/subscriptions", params={"customerKey": key["customerKey"]}).json()
    assert [s["id"] for s in listed["items"]] == [sub["id"]]
    assert len({c["idempotencyKey"] for c in approved if order_id in c["idempotencyKey"]}) == 1


def test_a_one_off_charge_and_a_deleted_key_that_charges_nothing(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    key = billing_key(api, sandbox, customer_key())
    order_id = new_order_id()
    charged = api.post(
        f"/v1/billing-keys/{key['id']}/charges",
        json={"orderName": "Extra seats", "amount": 3000, "orderId": order_id},
    )
    assert charged.status_code == 200, charged.text
    assert (charged.json()["status"], charged.json()["billingKeyId"]) == ("DONE", key["id"])
    twice = api.post(
        f"/v1/billing-keys/{key['id']}/charges",
        json={"orderName": "Extra seats", "amount": 3000, "orderId": order_id},
    )
    assert twice.status_code == 409 and twice.json()["code"] == "DUPLICATE_ORDER_ID"
    sub = subscribe(api, key, trialDays=30).json()
    deleted = api.delete(f"/v1/billing-keys/{key['id']}")
    assert deleted.status_code == 200 and deleted.json()["status"] == "DELETED"
    gone = get(api, f"/v1/subscriptions/{sub['id']}")
    assert (gone["status"], gone["cancelReason"]) == ("CANCELED", "BILLING_KEY_DELETED")
    refused = api.post(
        f"/v1/billing-keys/{key['id']}/charges", json={"orderName": "More", "amount": 1000}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "BILLING_KEY_NOT_ACTIVE"


def test_a_charge_sends_its_tax_free_part_to_toss_and_one_above_the_amount_is_refused(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    key = billing_key(api, sandbox, customer_key())
    charged = api.post(
        f"/v1/billing-keys/{key['id']}/charges",
        json={"orderName": "Books", "amount": 12000, "taxFreeAmount": 10000},
    )
    assert charged.status_code == 200, charged.text
    at_toss = sandbox.get(
        f"/v1/payments/{charged.json()['paymentKey']}", auth=(_toss_secret(service), "")
    ).json()
    assert (at_toss["totalAmount"], at_toss["taxFreeAmount"]) == (12000, 10000)

    with service.client(service.create_key("saas-a", "payments:read")) as reader:
        before = reader.get("/v1/payments", params={"limit": 100}).json()["items"]
        for tax_free in (12001, -1, 1.5, "100"):
            refused = api.post(
                f"/v1/billing-keys/{key['id']}/charges",
                json={"orderName": "Books", "amount": 12000, "taxFreeAmount": tax_free},
            )
            assert refused.status_code == 400, refused.text
            assert refused.json()["code"] == "INVALID_REQUEST"
        assert reader.get("/v1/payments", params={"limit": 100}).json()["items"] == before


def test_a_key_deleted_at_toss_cancels_its_subscriptions_through_the_webhook(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    sub = active_subscription(api, sandbox, trialDays=3)
    key_id = sub["billingKeyId"]
    charge = api.post(f"/v1/billing-keys/{key_id}/charges", json={"orderName": "x", "amount": 500})
    assert charge.status_code == 200
    # Sunap's vault, opened with the service's secrets key, is the only place to learn the key.
    toss_key = toss_billing_keys_of(service)[key_id]
    deleted_at_toss = sandbox.delete(f"/v1/billing/{toss_key}", auth=(_toss_secret(service), ""))
    assert deleted_at_toss.status_code == 200, deleted_at_toss.text
    gone = wait_for(
        lambda: (k := get(api, f"/v1/billing-keys/{key_id}"))["status"] == "DELETED" and k,
        timeout=30,
    )
    assert gone, get(api, f"/v1/billing-keys/{key_id}")
    ended = get(api, f"/v1/subscriptions/{sub['id']}")
    assert (ended["status"], ended["cancelReason"]) == ("CANCELED", "BILLING_KEY_DELETED")


def test_another_tenant_sees_none_of_it_and_a_payments_key_cannot_bill(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    sub = active_subscription(api, sandbox)
    other = service.create_key("saas-b", "billing")
    payments_only = service.create_key("saas-a", "payments:read", "payments:write")
    with service.client(other) as stranger, service.client(payments_only) as shop:
        assert stranger.get(f"/v1/subscriptions/{sub['id']}").status_code == 404
        assert stranger.get(f"/v1/billing-keys/{sub['billingKeyId']}").status_code == 404
        assert stranger.post(f"/v1/subscriptions/{sub['id']}/cancel", json={}).status_code == 404
        assert stranger.get("/v1/subscriptions").json()["items"] == []
        assert shop.get("/v1/subscriptions").status_code == 403
    mine = api.get("/v1/subscriptions", params={"customerKey": sub["customerKey"]}).json()
    assert [s["id"] for s in mine["items"]] == [sub["id"]]


def test_another_tenant_cannot_take_a_renewals_order_id_first_and_the_renewal_is_charged(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    """A charge's orderId (`{subscription}-p{period}-a{attempt}`) reaches Toss and the card
    holder's receipt. Held first by another tenant's payment on the shared Toss account, it
    would have made every renewal skip for good: such orderIds are refused to everyone."""
    sub = active_subscription(api, sandbox)
    next_order_id = f"{sub['id']}-p1-a1"
    squatter = service.create_key("saas-squat", "payments:write", "billing")
    with service.client(squatter) as other:
        taken = other.post(
            "/v1/payments",
            json={"orderName": "squat", "amount": 9900, "orderId": next_order_id},
        )
        assert taken.status_code == 400, taken.text
        assert (
            taken.json()["code"] == "INVALID_REQUEST" and "subscription" in taken.json()["message"]
        )
        own_key = billing_key(other, sandbox, customer_key())
        charged = other.post(
            f"/v1/billing-keys/{own_key['id']}/charges",
            json={"orderName": "squat", "amount": 1000, "orderId": f"{sub['id']}-p2-a1"},
        )
        assert charged.status_code == 400 and charged.json()["code"] == "INVALID_REQUEST"
    printed = run_due(service, after(sub["currentPeriodEnd"], minutes=1))
    assert [r[1] for r in rows_of(printed, sub["id"])] == ["approved"]
    assert next_order_id in [c["orderId"] for c in charges(api, sub["id"])]


def test_a_renewal_whose_order_id_another_payment_took_before_is_reported_blocked(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    """A payment created with the next renewal's orderId before such orderIds were refused: the
    scheduler read the duplicate as another scheduler's claim and skipped it, every run, in
    silence. It is now `blocked`, logged at ERROR, and nothing is charged."""
    sub = active_subscription(api, sandbox)
    next_order_id = f"{sub['id']}-p1-a1"
    with service.client(service.create_key("saas-early", "payments:write")) as other:
        early = other.post(
            "/v1/payments", json={"orderName": "early", "amount": 9900, "orderId": new_order_id()}
        ).json()
    asyncio.run(_rename_order(service.env["SUNAP_DATABASE_URL"], early["id"], next_order_id))
    logs: list[str] = []

    printed = run_due(service, after(sub["currentPeriodEnd"], minutes=1), logs_into=logs)

    [row] = rows_of(printed, sub["id"])
    assert row[1:3] == ["blocked", next_order_id]
    assert "cannot be charged" in logs[0] and early["id"] in logs[0]
    assert len(charges(api, sub["id"])) == 1  # the first period's only
    assert get(api, f"/v1/subscriptions/{sub['id']}")["failedAttempts"] == 0


async def _rename_order(url: str, payment_id: str, order_id: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as db:
            await db.execute(
                update(payments).where(payments.c.id == payment_id).values(order_id=order_id)
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 9900.0},
        {"amount": "9900"},
        {"amount": 0},
        {"interval": "fortnight"},
        {"intervalCount": 0},
        {"trialDays": -1},
        {"billingKey": "smuggled"},
        {"customerKey": "someone-else"},
    ],
)
def test_bad_subscription_input_is_refused_and_changes_nothing(
    api: httpx.Client, sandbox: httpx.Client, body: dict[str, object]
) -> None:
    key = billing_key(api, sandbox, customer_key())
    refused = subscribe(api, key, **body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "INVALID_REQUEST"
    listed = api.get("/v1/subscriptions", params={"customerKey": key["customerKey"]}).json()
    assert listed["items"] == []


def _toss_secret(service: RunningService) -> str:
    """The embedded sandbox takes any test secret key of its default account."""
    return "test_sk_any_for_the_embedded_sandbox"


@pytest.mark.parametrize("body", [{"x": 1}, {"atPeriodEnd": False}, [1]], ids=str)
def test_pause_and_resume_refuse_a_body_with_fields_and_change_nothing(
    api: httpx.Client, sandbox: httpx.Client, body: object
) -> None:
    """They took any body and ignored it (200): an unknown field is 400 everywhere else."""
    sub = active_subscription(api, sandbox)
    path = f"/v1/subscriptions/{sub['id']}"
    refused = api.post(f"{path}/pause", json=body)
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_REQUEST")
    assert get(api, path)["status"] == "ACTIVE"
    assert api.post(f"{path}/pause", json={}).status_code == 200
    refused = api.post(f"{path}/resume", json=body)
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_REQUEST")
    assert get(api, path)["status"] == "PAUSED" and len(charges(api, sub["id"])) == 1
    assert api.post(f"{path}/resume").status_code == 200  # no body at all, as before
