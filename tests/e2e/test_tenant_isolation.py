"""No tenant reaches another's money, and no paymentKey a browser sends can block an order: tried
as an attacker would, against a real `sunap serve` on every database."""

from __future__ import annotations

import asyncio
import concurrent.futures
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from sunap.adapters.crypto.fernet_box import new_key
from sunap.adapters.sql.tables import pg_accounts, tenants
from tests.e2e.flows import (
    confirm,
    create_payment,
    new_order_id,
    paid_payment,
    pay_in_window,
    toss_calls,
    wait_for,
)
from tests.support.databases import create_database, drop_database, selected_backends
from tests.support.service import SUNAP, RunningService, running_service

SCOPES = ("payments:read", "payments:write", "payments:cancel")


@pytest.fixture(scope="module", params=selected_backends())
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp(f"isolation-{request.param}"))
    url = create_database(request.param, workdir)
    try:
        # A short Toss timeout keeps the slow-Toss case quick; a secrets key lets a tenant keep
        # its own Toss account on any database.
        with running_service(
            workdir,
            SUNAP_DATABASE_URL=url,
            SUNAP_TOSS_READ_TIMEOUT="1",
            SUNAP_SECRETS_KEY=new_key(),
        ) as svc:
            yield svc
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def shop_a(service: RunningService) -> str:
    return service.create_key("shop-a", *SCOPES)


@pytest.fixture(scope="module")
def shop_b(service: RunningService) -> str:
    return service.create_key("shop-b", *SCOPES)


@pytest.fixture()
def a(service: RunningService, shop_a: str) -> Iterator[httpx.Client]:
    with service.client(shop_a) as client:
        yield client


@pytest.fixture()
def b(service: RunningService, shop_b: str) -> Iterator[httpx.Client]:
    with service.client(shop_b) as client:
        yield client


def get(api: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"/v1/payments/{payment['id']}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_tenant_cannot_take_over_another_tenants_payment_on_the_shared_account(
    a: httpx.Client, b: httpx.Client, sandbox: httpx.Client
) -> None:
    theirs = paid_payment(a, sandbox)

    # The same orderId is the same Toss order: taken, and the answer names nobody.
    same_order = b.post(
        "/v1/payments",
        json={"orderName": "x", "amount": theirs["amount"], "orderId": theirs["orderId"]},
    )
    assert same_order.status_code == 409
    assert same_order.json()["code"] == "DUPLICATE_ORDER_ID"
    assert "shop-a" not in same_order.text

    # Its own order, confirmed with the other tenant's paymentKey.
    mine = create_payment(b, theirs["amount"])
    taken = confirm(b, mine, theirs["paymentKey"])
    assert taken.status_code == 400, taken.text
    assert taken.json()["code"] == "INVALID_PAYMENT_KEY"
    assert "card" not in taken.text and theirs["orderId"] not in taken.text
    after = get(b, mine)
    assert after["status"] == "READY" and after["paymentKey"] is None and after["card"] is None

    # Its cancel refunds nobody at Toss, and the other tenant's payment is untouched.
    canceled = b.post(f"/v1/payments/{mine['id']}/cancel", json={"cancelReason": "try"})
    assert canceled.json()["status"] == "CANCELED"
    assert toss_calls(sandbox, f"/v1/payments/{theirs['paymentKey']}/cancel") == []
    assert get(a, theirs)["status"] == "DONE"
    assert b.get(f"/v1/payments/{theirs['id']}").status_code == 404


def test_a_made_up_payment_key_never_blocks_the_order(
    a: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(a)
    made_up = confirm(a, payment, "tgen_made_up_by_a_stranger_0001")
    assert made_up.status_code == 400, made_up.text
    assert made_up.json()["code"] == "INVALID_PAYMENT_KEY"
    assert made_up.json()["pgCode"] in ("NOT_FOUND_PAYMENT", "NOT_FOUND_PAYMENT_SESSION")
    assert get(a, payment)["status"] == "READY"

    real = confirm(a, payment, pay_in_window(sandbox, payment))
    assert real.status_code == 200, real.text
    assert real.json()["status"] == "DONE"


def test_the_key_of_another_older_payment_never_blocks_the_order(
    a: httpx.Client, sandbox: httpx.Client
) -> None:
    older = paid_payment(a, sandbox)
    payment = create_payment(a, older["amount"])
    reused = confirm(a, payment, older["paymentKey"])
    assert reused.status_code == 400, reused.text
    assert reused.json()["code"] == "INVALID_PAYMENT_KEY"
    assert get(a, payment)["status"] == "READY"
    assert get(a, older)["status"] == "DONE"
    assert confirm(a, payment, pay_in_window(sandbox, payment)).json()["status"] == "DONE"


def test_the_key_of_another_orders_open_window_never_blocks_either_order(
    a: httpx.Client, sandbox: httpx.Client
) -> None:
    first, second = create_payment(a), create_payment(a)
    first_window = pay_in_window(sandbox, first)
    crossed = confirm(a, second, first_window)
    assert crossed.status_code == 400, crossed.text
    assert crossed.json()["code"] == "INVALID_PAYMENT_KEY"
    assert confirm(a, first, first_window).json()["status"] == "DONE"
    assert confirm(a, second, pay_in_window(sandbox, second)).json()["status"] == "DONE"


def test_a_slow_toss_is_a_timeout_and_the_payment_settles_by_itself(
    a: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(a)
    key = pay_in_window(sandbox, payment)
    fault = {"path": "/v1/payments/confirm", "delayMs": 2500, "times": 3}
    assert sandbox.post("/sandbox/faults", json=fault).status_code in (200, 201)
    other = create_payment(a)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(confirm, a, payment, key)
            assert wait_for(lambda: get(a, payment)["status"] == "IN_PROGRESS", timeout=10)
            # Nothing is held while Toss keeps us waiting: other requests are answered while
            # the confirm still waits (each try of it takes the whole 1 s read timeout).
            assert a.get(f"/v1/payments/{other['id']}").status_code == 200
            assert not waiting.done()
            slow = waiting.result()
    finally:
        sandbox.delete("/sandbox/faults")
    assert slow.status_code == 504, slow.text
    assert slow.json()["code"] == "PG_TIMEOUT"
    assert get(a, payment)["status"] in ("IN_PROGRESS", "DONE")
    assert wait_for(lambda: get(a, payment)["status"] == "DONE", timeout=60)


def test_a_tenant_without_its_own_account_has_no_webhook_url(service: RunningService) -> None:
    with service.client() as anonymous:
        response = anonymous.post(
            "/v1/webhooks/toss/shop-a",
            json={"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "x"}},
        )
        nobody = anonymous.post(f"/v1/webhooks/toss/{new_order_id()}", json={})
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    assert nobody.status_code == 404


OWN_SECRET_KEY = "test_sk_shop_c_own_account_0001"
OWN_CLIENT_KEY = "test_ck_shop_c_own_account_0001"


@pytest.fixture(scope="module")
def shop_c(service: RunningService) -> str:
    """A tenant on a Toss account of its own, known to the sandbox as a separate merchant."""
    (service.workdir / "shop-c.key").write_text(OWN_SECRET_KEY)
    set_toss = ("tenants", "set-toss", "--tenant", "shop-c", "--secret-key-file", "shop-c.key")
    subprocess.run(
        [*SUNAP, *set_toss, "--client-key", OWN_CLIENT_KEY],
        env=service.env,
        cwd=service.workdir,
        check=True,
        capture_output=True,
    )
    registered = httpx.post(
        f"{service.sandbox_url}/sandbox/accounts",
        json={
            "secretKey": OWN_SECRET_KEY,
            "clientKey": OWN_CLIENT_KEY,
            "webhookUrl": f"{service.base_url}/v1/webhooks/toss/shop-c",
        },
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    return service.create_key("shop-c", *SCOPES)


@pytest.fixture()
def c(service: RunningService, shop_c: str) -> Iterator[httpx.Client]:
    with service.client(shop_c) as client:
        yield client


@pytest.fixture()
def c_window(service: RunningService) -> Iterator[httpx.Client]:
    """The payment window of shop-c's own Toss account."""
    with httpx.Client(
        base_url=service.sandbox_url, auth=(OWN_SECRET_KEY, ""), timeout=30
    ) as client:
        yield client


def test_a_tenant_on_its_own_account_holds_its_own_orders_and_keys(
    service: RunningService,
    a: httpx.Client,
    c: httpx.Client,
    sandbox: httpx.Client,
    c_window: httpx.Client,
) -> None:
    theirs = paid_payment(a, sandbox)  # on the default account
    created = c.post(
        "/v1/payments",
        json={"orderName": "x", "amount": theirs["amount"], "orderId": theirs["orderId"]},
    )
    assert created.status_code == 201, created.text  # another account: another order
    mine = created.json()
    assert mine["checkout"]["clientKey"] == OWN_CLIENT_KEY
    done = confirm(c, mine, pay_in_window(c_window, mine))
    assert done.status_code == 200, done.text
    assert done.json()["paymentKey"] != theirs["paymentKey"]

    # The default account's paymentKey means nothing on shop-c's account.
    other = create_payment(c, theirs["amount"])
    taken = confirm(c, other, theirs["paymentKey"])
    assert taken.status_code == 400 and taken.json()["code"] == "INVALID_PAYMENT_KEY"

    # shop-c's cancel reaches its own account only.
    canceled = c.post(f"/v1/payments/{mine['id']}/cancel", json={"cancelReason": "test"})
    assert canceled.json()["status"] == "CANCELED"
    assert get(a, theirs)["status"] == "DONE"
    assert toss_calls(sandbox, f"/v1/payments/{theirs['paymentKey']}/cancel") == []

    # Its webhooks arrive at its own URL and touch only its payment.
    def applied() -> bool:
        trail = c.get(f"/v1/payments/{mine['id']}/transactions").json()["items"]
        return any(t["type"] == "webhook.PAYMENT_STATUS_CHANGED" for t in trail)

    assert wait_for(applied, timeout=30)
    theirs_trail = a.get(f"/v1/payments/{theirs['id']}/transactions").json()["items"]
    assert mine["id"] not in str(theirs_trail)


def test_a_tenant_moving_to_its_own_account_makes_its_next_payment_there_at_once(
    service: RunningService,
) -> None:
    """The server remembers API keys it found for a few seconds; where a tenant's new payments
    are made is read afresh for each, so a move with `set-toss` is followed at once."""
    key = service.create_key("shop-d", *SCOPES)
    with service.client(key) as d:
        before = create_payment(d)  # the key is now remembered by the server
        assert before["checkout"]["clientKey"] != "test_ck_shop_d_own_account_0001"
        (service.workdir / "shop-d.key").write_text("test_sk_shop_d_own_account_0001")
        set_toss = ("tenants", "set-toss", "--tenant", "shop-d", "--secret-key-file", "shop-d.key")
        subprocess.run(
            [*SUNAP, *set_toss, "--client-key", "test_ck_shop_d_own_account_0001"],
            env=service.env,
            cwd=service.workdir,
            check=True,
            capture_output=True,
        )
        after = create_payment(d)
    assert after["checkout"]["clientKey"] == "test_ck_shop_d_own_account_0001"


def test_an_own_account_never_registered_with_the_sandbox_has_books_of_its_own(
    service: RunningService, a: httpx.Client, sandbox: httpx.Client
) -> None:
    """The embedded sandbox let a test key it did not know share its default books, where
    shop-a's payments are: shop-e, on such a key, created shop-a's orderId on its own account,
    confirmed it with shop-a's paymentKey (the record matched: adopted) and refunded shop-a's
    customer. `sunap serve` now registers a tenant's own account with its sandbox."""
    theirs = paid_payment(a, sandbox)
    (service.workdir / "shop-e.key").write_text("test_sk_shop_e_never_registered_0001")
    set_toss = ("tenants", "set-toss", "--tenant", "shop-e", "--secret-key-file", "shop-e.key")
    subprocess.run(
        [*SUNAP, *set_toss], env=service.env, cwd=service.workdir, check=True, capture_output=True
    )
    with service.client(service.create_key("shop-e", *SCOPES)) as e:
        body = {"orderName": "x", "amount": theirs["amount"], "orderId": theirs["orderId"]}
        mine = e.post("/v1/payments", json=body)
        assert mine.status_code == 201, mine.text  # another account: another order
        adopted = confirm(e, mine.json(), theirs["paymentKey"])
        assert adopted.status_code == 400, adopted.text
        assert adopted.json()["code"] == "INVALID_PAYMENT_KEY"
        assert get(e, mine.json())["status"] == "READY"
    assert get(a, theirs)["status"] == "DONE"
    assert toss_calls(sandbox, f"/v1/payments/{theirs['paymentKey']}/cancel") == []


def test_a_webhook_naming_another_accounts_payment_changes_nothing(
    service: RunningService, c: httpx.Client, c_window: httpx.Client
) -> None:
    mine = create_payment(c)
    done = confirm(c, mine, pay_in_window(c_window, mine)).json()
    forged = {
        "eventType": "PAYMENT_STATUS_CHANGED",
        "data": {"paymentKey": done["paymentKey"], "status": "CANCELED"},
    }
    with service.client() as anonymous:
        answer = anonymous.post("/v1/webhooks/toss", json=forged)  # the default account's URL
    assert answer.status_code == 200
    time.sleep(1.5)  # the processor runs every 0.2 s here
    assert get(c, mine)["status"] == "DONE"


def test_a_tenant_given_anothers_toss_account_by_hand_reaches_nothing_on_it(
    service: RunningService, c: httpx.Client, c_window: httpx.Client
) -> None:
    """`tenants set-toss` refuses keys another account has (tests/e2e/test_tenants_cli.py).
    Set up by hand, or before that check: shop-h's own account row holds shop-c's sealed keys.
    Had Sunap used it, shop-h's confirm with shop-c's paymentKey would adopt shop-c's payment
    and its cancel refund shop-c's customer. Nothing is sent on either account instead."""
    theirs = create_payment(c)
    theirs = confirm(c, theirs, pay_in_window(c_window, theirs)).json()
    assert theirs["status"] == "DONE"
    h_key = service.create_key("shop-h", *SCOPES)
    url = service.env["SUNAP_DATABASE_URL"]
    asyncio.run(_share_account(url, owner="shop-c", taker="shop-h"))
    try:
        with service.client(h_key) as h:
            body = {"orderName": "x", "amount": theirs["amount"], "orderId": theirs["orderId"]}
            mine = h.post("/v1/payments", json=body)
            assert mine.status_code == 201, mine.text
            assert mine.json()["checkout"] is None  # no page to pay on an account nothing reaches
            taken = confirm(h, mine.json(), theirs["paymentKey"])
            assert taken.status_code == 503 and taken.json()["code"] == "SERVICE_UNAVAILABLE"
            assert get(h, mine.json())["status"] == "READY"
        with service.client() as toss_side:  # Toss's delivery to shop-h's own URL waits
            delivery = {"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "x"}}
            held = toss_side.post("/v1/webhooks/toss/shop-h", json=delivery)
        assert held.status_code == 503 and held.json()["code"] == "SERVICE_UNAVAILABLE"
        assert get(c, theirs)["status"] == "DONE"
        assert toss_calls(c_window, f"/v1/payments/{theirs['paymentKey']}/cancel") == []
        assert "also" in service.logs() and "nothing is sent on it" in service.logs()
    finally:
        asyncio.run(_share_account(url, owner="shop-c", taker="shop-h", undo=True))


async def _share_account(url: str, *, owner: str, taker: str, undo: bool = False) -> None:
    """Give `taker` an own account row holding `owner`'s sealed keys, or take it away."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as db:
            ids = dict((await db.execute(select(tenants.c.name, tenants.c.id))).all())
            if undo:
                await db.execute(delete(pg_accounts).where(pg_accounts.c.id == ids[taker]))
                await db.execute(
                    update(tenants).where(tenants.c.id == ids[taker]).values(pg_account_id=None)
                )
                return
            row = (
                (await db.execute(select(pg_accounts).where(pg_accounts.c.id == ids[owner])))
                .mappings()
                .one()
            )
            await db.execute(insert(pg_accounts).values({**row, "id": ids[taker]}))
            await db.execute(
                update(tenants).where(tenants.c.id == ids[taker]).values(pg_account_id=ids[taker])
            )
    finally:
        await engine.dispose()
