"""Tenants' own Toss accounts in the embedded sandbox, against a real `sunap serve`: registered
when the service starts, kept across a sandbox reset, and unusable if the sandbox refuses them.
An own key the sandbox does not know shares its default books, where every payment of the
tenants on the default account is: there it would adopt and refund another tenant's payment."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sunap.adapters.crypto.fernet_box import new_key
from tests.e2e.flows import (
    confirm,
    create_payment,
    paid_payment,
    pay_in_window,
    toss_calls,
    wait_for,
)
from tests.support.service import RunningService, running_service

SCOPES = ("payments:read", "payments:write", "payments:cancel")
SHOP_C = ("test_sk_own_account_of_shop_c_0001", "test_ck_own_account_of_shop_c_0001")
SHOP_F = ("test_sk_own_account_of_shop_f_0001", "test_ck_own_account_of_shop_f_0001")
SHOP_G = ("test_sk_own_account_of_shop_g_0001", "test_ck_own_account_of_shop_g_0001")
SHOP_H = ("test_sk_own_account_of_shop_h_0001", "test_ck_own_account_of_shop_h_0001")
OWN = {"shop-c": SHOP_C, "shop-f": SHOP_F, "shop-h": SHOP_H}
SQUATTER = "test_sk_someone_else_entirely_0001"


def set_toss(service: RunningService, tenant: str, keys: tuple[str, str]) -> None:
    secret_key, client_key = keys
    (service.workdir / f"{tenant}.key").write_text(secret_key)
    service.cli(
        *("tenants", "set-toss", "--tenant", tenant, "--secret-key-file", f"{tenant}.key"),
        *("--client-key", client_key),
    )


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """shop-c and shop-f got their own accounts before this `sunap serve` started."""
    workdir = Path(tmp_path_factory.mktemp("sandbox-own-accounts"))
    with running_service(workdir, SUNAP_SECRETS_KEY=new_key()) as svc:
        set_toss(svc, "shop-c", SHOP_C)
        set_toss(svc, "shop-f", SHOP_F)
        svc.stop()
        svc.start()
        yield svc


@pytest.fixture(scope="module")
def keys(service: RunningService) -> dict[str, str]:
    return {t: service.create_key(t, *SCOPES) for t in ("shop-a", "shop-c", "shop-f", "shop-g")}


def client_of(service: RunningService, keys: dict[str, str], tenant: str) -> httpx.Client:
    return service.client(keys[tenant])


@pytest.fixture()
def sandbox(service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as client:
        yield client


def registered_client_keys(sandbox: httpx.Client) -> list[str]:
    return [item["clientKey"] for item in sandbox.get("/sandbox/accounts").json()["items"]]


def status_of(api: httpx.Client, payment: dict[str, Any]) -> str:
    return str(api.get(f"/v1/payments/{payment['id']}").json()["status"])


def test_own_accounts_are_registered_when_the_service_starts_so_the_first_customer_can_pay(
    service: RunningService, keys: dict[str, str], sandbox: httpx.Client
) -> None:
    """The payment window of an own account opens only with a client key the sandbox knows:
    registered on the account's first call to Toss, the first customers got 401."""
    assert SHOP_F[1] in registered_client_keys(sandbox)  # before any call on shop-f
    with client_of(service, keys, "shop-f") as f:
        payment = create_payment(f)
        page = httpx.get(payment["checkout"]["url"], timeout=30)
        assert page.status_code == 200
        link = re.search(r'href="([^"]*/sandbox/checkout\?[^"]*)"', page.text)
        assert link is not None and f"clientKey={SHOP_F[1]}" in link.group(1)
        window = httpx.get(html.unescape(link.group(1)), timeout=30)
        assert window.status_code == 200, window.text
        with httpx.Client(base_url=service.sandbox_url, auth=(SHOP_F[0], ""), timeout=30) as w:
            done = confirm(f, payment, pay_in_window(w, payment))
    assert done.status_code == 200 and done.json()["status"] == "DONE", done.text


def test_after_a_sandbox_reset_an_own_account_still_cannot_reach_the_default_books(
    service: RunningService, keys: dict[str, str], sandbox: httpx.Client
) -> None:
    """The audit's repro_reset.sh: the reset forgot shop-c's account, shop-c's key then reached
    the default books, confirmed shop-a's paymentKey as its own and refunded shop-a's customer."""
    with client_of(service, keys, "shop-a") as a, client_of(service, keys, "shop-c") as c:
        with httpx.Client(base_url=service.sandbox_url, auth=(SHOP_C[0], ""), timeout=30) as w:
            assert paid_payment(c, w)["status"] == "DONE"
        assert sandbox.post("/sandbox/reset").status_code == 200
        assert SHOP_C[1] in registered_client_keys(sandbox)

        theirs = paid_payment(a, sandbox, amount=4444)
        body = {"orderName": "x", "amount": 4444, "orderId": theirs["orderId"]}
        mine = c.post("/v1/payments", json=body)
        assert mine.status_code == 201, mine.text
        adopted = confirm(c, mine.json(), theirs["paymentKey"])
        assert adopted.status_code == 400 and adopted.json()["code"] == "INVALID_PAYMENT_KEY"
        assert status_of(c, mine.json()) == "READY"
        assert status_of(a, theirs) == "DONE"
    assert toss_calls(sandbox, f"/v1/payments/{theirs['paymentKey']}/cancel") == []


def test_an_own_account_whose_client_key_someone_registered_first_is_used_for_nothing(
    service: RunningService, keys: dict[str, str], sandbox: httpx.Client
) -> None:
    """The client key is public (the checkout page shows it). Registered first with another
    secret key, it made the sandbox refuse shop-g's registration: Sunap only logged it and went
    on with shop-g's key in the default books. Nothing is sent on shop-g's account now."""
    set_toss(service, "shop-g", SHOP_G)  # while the service runs: registered when first used
    squat = sandbox.post("/sandbox/accounts", json={"secretKey": SQUATTER, "clientKey": SHOP_G[1]})
    assert squat.status_code == 201, squat.text
    with client_of(service, keys, "shop-a") as a, client_of(service, keys, "shop-g") as g:
        theirs = paid_payment(a, sandbox, amount=3333)
        body = {"orderName": "x", "amount": 3333, "orderId": theirs["orderId"]}
        mine = g.post("/v1/payments", json=body)
        assert mine.status_code == 201, mine.text
        assert mine.json()["checkout"] is None  # no page to pay on an account nothing reaches
        adopted = confirm(g, mine.json(), theirs["paymentKey"])
        assert adopted.status_code == 503, adopted.text
        assert adopted.json()["code"] == "SERVICE_UNAVAILABLE"
        assert status_of(g, mine.json()) == "READY"
        assert status_of(a, theirs) == "DONE"
    assert toss_calls(sandbox, f"/v1/payments/{theirs['paymentKey']}/cancel") == []
    assert "the embedded sandbox refused it" in service.logs()


def deposit_is_applied(service: RunningService, tenant: str, keys: dict[str, str]) -> bool:
    """A virtual account of `tenant`'s own account is paid at Toss: whether the payment becomes
    DONE. Only Toss's webhooks can tell Sunap before the account's due date."""
    secret_key, client_key = OWN[tenant]
    with (
        client_of(service, keys, tenant) as api,
        httpx.Client(base_url=service.sandbox_url, auth=(secret_key, ""), timeout=30) as toss,
    ):
        payment = create_payment(api, 30000, method="VIRTUAL_ACCOUNT")
        key = pay_in_window(toss, payment, method="VIRTUAL_ACCOUNT")
        waiting = confirm(api, payment, key)
        assert waiting.status_code == 200, waiting.text
        assert waiting.json()["status"] == "WAITING_FOR_DEPOSIT"
        paid = toss.post(f"/sandbox/virtual-accounts/{key}/deposit")
        assert paid.status_code == 200, paid.text
        sent = toss.get("/sandbox/webhooks").json()["items"]
        sent_to = {w["url"] for w in sent if w["account"] == client_key}
        assert sent_to == {f"{service.base_url}/v1/webhooks/toss/{tenant}"}, sent_to
        return bool(wait_for(lambda: status_of(api, payment) == "DONE", timeout=30))


def test_an_own_accounts_webhooks_go_to_its_tenants_url_and_are_applied(
    service: RunningService, keys: dict[str, str]
) -> None:
    """The sandbox sent an own account's webhooks to the default account's URL, where nothing
    of that account is ever matched: a deposit to a virtual account stayed WAITING_FOR_DEPOSIT.
    An account registered at startup and one given while the service runs alike."""
    assert deposit_is_applied(service, "shop-f", keys)
    set_toss(service, "shop-h", SHOP_H)
    keys["shop-h"] = service.create_key("shop-h", *SCOPES)
    assert deposit_is_applied(service, "shop-h", keys)
