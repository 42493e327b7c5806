"""The OpenAPI document against the real thing: every status it documents for a route is
produced here by a real `sunap serve` (on PostgreSQL behind a proxy this test can cut, with the
embedded Toss sandbox), and nothing the process answered in the meantime is undocumented.

Statuses every route of a kind can answer are produced for every documented route, so a new
route is covered by declaring it with `documented(...)`: 400 (a control character in the query),
401 (no key), 403 (a key without the scope), 413 (a body over the limit), 429 (a key over its
rate), 503 (the database cut off). A route's own statuses need a recipe in RECIPES; a documented
status with no recipe fails the test, naming it (docs/money-soak-and-fuzzing.md, "The document").
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.billing_flows import customer_key
from tests.e2e.flows import create_payment, new_order_id, pay_in_window
from tests.support.databases import create_database, drop_database
from tests.support.service import SUNAP, TEST_SECRETS_KEY, RunningService, running_service
from tests.support.thread_proxy import ThreadedTcpProxy

pytestmark = pytest.mark.slow

METRICS_TOKEN = "metrics-token-for-tests"
OWN_SECRET_KEY = "test_sk_ownAccountForDocumentTest0001"
RATE = 150  # per minute, per key; a bucket of twice that, which the tests' own keys never drain
Produced = tuple[str, str, int]  # method, path template, status


@dataclass
class Ctx:
    service: RunningService
    proxy: ThreadedTcpProxy
    keys: dict[str, str]
    toss: httpx.Client
    produced: set[Produced] = field(default_factory=set)
    drained: bool = False

    def call(
        self,
        method: str,
        template: str,
        path: str | None = None,
        key: str | None = "admin",
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {self.keys[key]}"
        with httpx.Client(base_url=self.service.base_url, timeout=60) as client:
            answer = client.request(method, path or template, headers=headers, **kwargs)
        self.produced.add((method, template, answer.status_code))
        return answer

    def payment(self, amount: int = 15000) -> dict[str, Any]:
        with self.service.client(self.keys["admin"]) as api:
            return create_payment(api, amount)

    def paid(self, amount: int = 15000, **window: Any) -> tuple[dict[str, Any], str]:
        payment = self.payment(amount)
        return payment, pay_in_window(self.toss, payment, **window)

    def done(self, amount: int = 15000) -> dict[str, Any]:
        payment, key = self.paid(amount)
        answer = self.call("POST", "/v1/payments/confirm", json=confirm_body(payment, key))
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def fault(self, **spec: Any) -> None:
        self.toss.post("/sandbox/faults", json={"times": 3, **spec}).raise_for_status()


def confirm_body(payment: dict[str, Any], key: str) -> dict[str, Any]:
    return {"paymentKey": key, "orderId": payment["orderId"], "amount": payment["amount"]}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctx]:
    workdir = Path(tmp_path_factory.mktemp("openapi"))
    url = create_database("postgresql", workdir)
    parsed = make_url(url)
    assert parsed.port is not None
    proxy = ThreadedTcpProxy(parsed.port)
    proxy.start()
    through_proxy = parsed.set(host="127.0.0.1", port=proxy.port)
    env = {
        "SUNAP_DATABASE_URL": through_proxy.render_as_string(hide_password=False),
        "SUNAP_SECRETS_KEY": TEST_SECRETS_KEY,
        "SUNAP_METRICS_TOKEN": METRICS_TOKEN,
        "SUNAP_RATE_LIMIT": f"{RATE}/m",
        "SUNAP_TOSS_READ_TIMEOUT": "1",
        "SUNAP_TOSS_BILLING_READ_TIMEOUT": "1",
    }
    try:
        with running_service(workdir, **env) as service:
            keys = {
                "admin": service.create_key("shop-doc", "admin"),
                "read": service.create_key("shop-doc", "payments:read"),
                "cancel": service.create_key("shop-doc", "payments:cancel"),
                "limited": service.create_key("shop-doc", "admin"),
            }
            own_account(service)
            with httpx.Client(base_url=service.sandbox_url, timeout=60) as toss:
                yield Ctx(service, proxy, keys, toss)
    finally:
        proxy.stop()
        drop_database(url)


def own_account(service: RunningService) -> None:
    """shop-own has a Toss account of its own, so it has a webhook URL of its own."""
    (service.workdir / "own.key").write_text(OWN_SECRET_KEY)
    args = ["tenants", "set-toss", "--tenant", "shop-own", "--secret-key-file", "own.key"]
    service.create_key("shop-own", "admin")
    subprocess.run(
        [*SUNAP, *args], env=service.env, cwd=service.workdir, check=True, capture_output=True
    )


# -- a route's own statuses -------------------------------------------------------------------
PAY = "/v1/payments"
ONE = "/v1/payments/{payment_id}"
CONFIRM = "/v1/payments/confirm"
CANCEL = "/v1/payments/{payment_id}/cancel"
TRAIL = "/v1/payments/{payment_id}/transactions"
HOOK = "/v1/webhooks/toss"
OWN_HOOK = "/v1/webhooks/toss/{tenant}"
MISSING = "/v1/payments/pay_doesnotexist0000000000000"
Recipe = Callable[[Ctx], httpx.Response]


def reused_key(ctx: Ctx, template: str, path: str, first: Any, second: Any) -> httpx.Response:
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    ctx.call("POST", template, path, json=first, headers=headers)
    return ctx.call("POST", template, path, json=second, headers=headers)


def new_body(amount: int = 15000) -> dict[str, Any]:
    return {"orderName": "생수 외 1건", "amount": amount, "orderId": new_order_id()}


def duplicate_order(ctx: Ctx) -> httpx.Response:
    taken = ctx.payment()
    return ctx.call("POST", PAY, json={**new_body(), "orderId": taken["orderId"]})


def confirm_refused(ctx: Ctx) -> httpx.Response:
    payment, key = ctx.paid(failWith="REJECT_CARD_PAYMENT")
    return ctx.call("POST", CONFIRM, json=confirm_body(payment, key))


def confirm_faulted(ctx: Ctx, **fault: Any) -> httpx.Response:
    payment, key = ctx.paid()
    ctx.fault(path=CONFIRM, **fault)
    try:
        return ctx.call("POST", CONFIRM, json=confirm_body(payment, key))
    finally:
        ctx.toss.delete("/sandbox/faults")


def cancel_faulted(ctx: Ctx, **fault: Any) -> httpx.Response:
    done = ctx.done()
    ctx.fault(path=f"/v1/payments/{done['paymentKey']}/cancel", **fault)
    try:
        path = f"/v1/payments/{done['id']}/cancel"
        return ctx.call("POST", CANCEL, path, json={"cancelReason": "고객 변심"})
    finally:
        ctx.toss.delete("/sandbox/faults")


def cancel_of(ctx: Ctx, payment: dict[str, Any], **body: Any) -> httpx.Response:
    path = f"/v1/payments/{payment['id']}/cancel"
    return ctx.call("POST", CANCEL, path, json={"cancelReason": "고객 변심", **body})


def aborted(ctx: Ctx) -> dict[str, Any]:
    return dict(confirm_refused(ctx).json()["payment"])


def unknown_event(ctx: Ctx, template: str, path: str) -> httpx.Response:
    body = {"eventType": "SOMETHING_NEW", "data": {}}
    return ctx.call("POST", template, path, key=None, json=body)


def forged_deposit(ctx: Ctx, template: str, path: str) -> httpx.Response:
    body = {"secret": "forged", "status": "DONE", "orderId": new_order_id()}
    return ctx.call("POST", template, path, key=None, json=body)


OWN = "/v1/webhooks/toss/shop-own"
RECIPES: dict[Produced, Recipe] = {
    ("POST", PAY, 201): lambda c: c.call("POST", PAY, json=new_body()),
    ("POST", PAY, 409): duplicate_order,
    ("POST", PAY, 422): lambda c: reused_key(c, PAY, PAY, new_body(), new_body()),
    ("GET", PAY, 200): lambda c: c.call("GET", PAY, params={"limit": 2}),
    ("POST", CONFIRM, 200): lambda c: c.call("POST", CONFIRM, json=confirm_body(*c.paid())),
    ("POST", CONFIRM, 402): confirm_refused,
    ("POST", CONFIRM, 404): lambda c: c.call(
        "POST", CONFIRM, json={"paymentKey": "tgen_x", "orderId": new_order_id(), "amount": 100}
    ),
    ("POST", CONFIRM, 409): lambda c: c.call(
        "POST", CONFIRM, json=confirm_body(c.done(), "tgen_another")
    ),
    ("POST", CONFIRM, 422): lambda c: reused_key(
        c, CONFIRM, CONFIRM, confirm_body(c.payment(), "k1"), confirm_body(c.payment(), "k2")
    ),
    ("POST", CONFIRM, 502): lambda c: confirm_faulted(c, status=500),
    ("POST", CONFIRM, 504): lambda c: confirm_faulted(c, delayMs=2500),
    ("GET", ONE, 200): lambda c: c.call("GET", ONE, f"/v1/payments/{c.payment()['id']}"),
    ("GET", ONE, 404): lambda c: c.call("GET", ONE, MISSING),
    ("POST", CANCEL, 200): lambda c: cancel_of(c, c.done(), cancelAmount=1000),
    ("POST", CANCEL, 402): lambda c: cancel_faulted(c, status=403, code="NOT_CANCELABLE_PAYMENT"),
    ("POST", CANCEL, 404): lambda c: c.call(
        "POST", CANCEL, f"{MISSING}/cancel", json={"cancelReason": "고객 변심"}
    ),
    ("POST", CANCEL, 409): lambda c: cancel_of(c, aborted(c)),
    ("POST", CANCEL, 422): lambda c: cancel_of(c, c.done(10000), cancelAmount=20000),
    ("POST", CANCEL, 502): lambda c: cancel_faulted(c, status=500),
    ("POST", CANCEL, 504): lambda c: cancel_faulted(c, delayMs=2500),
    ("GET", TRAIL, 200): lambda c: c.call("GET", TRAIL, f"/v1/payments/{c.payment()['id']}/transactions"),
    ("GET", TRAIL, 404): lambda c: c.call("GET", TRAIL, f"{MISSING}/transactions"),
    ("POST", HOOK, 200): lambda c: unknown_event(c, HOOK, HOOK),
    ("POST", HOOK, 401): lambda c: forged_deposit(c, HOOK, HOOK),
    ("POST", OWN_HOOK, 200): lambda c: unknown_event(c, OWN_HOOK, OWN),
    ("POST", OWN_HOOK, 401): lambda c: forged_deposit(c, OWN_HOOK, OWN),
    ("POST", OWN_HOOK, 404): lambda c: unknown_event(c, OWN_HOOK, f"{HOOK}/nobody-{uuid.uuid4().hex[:6]}"),
    ("GET", "/healthz", 200): lambda c: c.call("GET", "/healthz", key=None),
    ("GET", "/readyz", 200): lambda c: c.call("GET", "/readyz", key=None),
    ("GET", "/metrics", 200): lambda c: c.call(
        "GET", "/metrics", key=None, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ),
    ("GET", "/metrics", 401): lambda c: c.call("GET", "/metrics", key=None),
}  # fmt: skip


# -- billing: a key from the sandbox's card registration, subscriptions on it -----------------
KEYS = "/v1/billing-keys"
KEY = "/v1/billing-keys/{key_id}"
CHARGES = "/v1/billing-keys/{key_id}/charges"
SUBS = "/v1/subscriptions"
SUB = "/v1/subscriptions/{sub_id}"
SUB_PAYMENTS = "/v1/subscriptions/{sub_id}/payments"
SUB_CANCEL = "/v1/subscriptions/{sub_id}/cancel"
SUB_PAUSE = "/v1/subscriptions/{sub_id}/pause"
SUB_RESUME = "/v1/subscriptions/{sub_id}/resume"
NO_KEY = "/v1/billing-keys/bk_doesnotexist0000000000000"
NO_SUB = "/v1/subscriptions/sub_doesnotexist0000000000000"
ISSUE_AT_TOSS = "/v1/billing/authorizations/issue"
KEY_AT_TOSS = "/v1/billing/*"  # a charge (POST) or a deletion (DELETE) of a billing key


def auth_body(ctx: Ctx) -> dict[str, Any]:
    answer = ctx.toss.post("/sandbox/billing/auth", json={"customerKey": customer_key()})
    answer.raise_for_status()
    return dict(answer.json())


def issued(ctx: Ctx) -> dict[str, Any]:
    answer = ctx.call("POST", KEYS, json=auth_body(ctx))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def deleted(ctx: Ctx) -> dict[str, Any]:
    key = issued(ctx)
    answer = ctx.call("DELETE", KEY, f"{KEYS}/{key['id']}")
    assert answer.status_code == 200, answer.text
    return key


def with_fault(ctx: Ctx, call: Callable[[], httpx.Response], **fault: Any) -> httpx.Response:
    ctx.fault(**fault)
    try:
        return call()
    finally:
        ctx.toss.delete("/sandbox/faults")


def issue_faulted(ctx: Ctx, **fault: Any) -> httpx.Response:
    body = auth_body(ctx)
    call = lambda: ctx.call("POST", KEYS, json=body)  # noqa: E731
    return with_fault(ctx, call, method="POST", path=ISSUE_AT_TOSS, **fault)


def issue_in_use(ctx: Ctx) -> httpx.Response:
    """The same Idempotency-Key twice while Toss holds the first issue: whichever comes second
    finds the key running."""
    body, headers = auth_body(ctx), {"Idempotency-Key": uuid.uuid4().hex}
    ctx.fault(method="POST", path=ISSUE_AT_TOSS, delayMs=2500)
    send = lambda _: ctx.call("POST", KEYS, json=body, headers=headers)  # noqa: E731
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(send, range(2)))
    finally:
        ctx.toss.delete("/sandbox/faults")
    return next((a for a in answers if a.status_code == 409), answers[-1])


def delete_faulted(ctx: Ctx, **fault: Any) -> httpx.Response:
    path = f"{KEYS}/{issued(ctx)['id']}"
    call = lambda: ctx.call("DELETE", KEY, path)  # noqa: E731
    return with_fault(ctx, call, method="DELETE", path=KEY_AT_TOSS, **fault)


def charge_body(amount: int = 4900) -> dict[str, Any]:
    return {"orderName": "추가 요금", "amount": amount, "orderId": new_order_id()}


def charge_of(ctx: Ctx, key: dict[str, Any], **fault: Any) -> httpx.Response:
    path = f"{KEYS}/{key['id']}/charges"
    call = lambda: ctx.call("POST", CHARGES, path, json=charge_body())  # noqa: E731
    return with_fault(ctx, call, method="POST", path=KEY_AT_TOSS, **fault) if fault else call()


def sub_body(key: dict[str, Any]) -> dict[str, Any]:
    return {
        "customerKey": key["customerKey"],
        "billingKeyId": key["id"],
        "plan": "pro",
        "orderName": "Pro plan",
        "amount": 9900,
        "interval": "month",
    }


def subscribe_on(ctx: Ctx, key: dict[str, Any], **fault: Any) -> httpx.Response:
    call = lambda: ctx.call("POST", SUBS, json=sub_body(key))  # noqa: E731
    return with_fault(ctx, call, method="POST", path=KEY_AT_TOSS, **fault) if fault else call()


def subscribed(ctx: Ctx) -> dict[str, Any]:
    answer = subscribe_on(ctx, issued(ctx))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def sub_call(ctx: Ctx, template: str, sub: dict[str, Any], **kwargs: Any) -> httpx.Response:
    method = {SUB: "PATCH", SUB_PAYMENTS: "GET"}.get(template, "POST")
    method = kwargs.pop("method", method)
    return ctx.call(method, template, template.replace("{sub_id}", sub["id"]), **kwargs)


def canceled(ctx: Ctx) -> dict[str, Any]:
    sub = subscribed(ctx)
    answer = sub_call(ctx, SUB_CANCEL, sub, json={"atPeriodEnd": False})
    assert answer.status_code == 200, answer.text
    return sub


def paused(ctx: Ctx) -> dict[str, Any]:
    sub = subscribed(ctx)
    answer = sub_call(ctx, SUB_PAUSE, sub)
    assert answer.status_code == 200, answer.text
    return sub


def reused_on_two(
    ctx: Ctx, template: str, first: dict[str, Any], second: dict[str, Any]
) -> httpx.Response:
    """One Idempotency-Key on two subscriptions: a different request, refused."""
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    sub_call(ctx, template, first, headers=headers)
    return sub_call(ctx, template, second, headers=headers)


REFUSED = {"status": 403, "code": "REJECT_CARD_COMPANY"}
SLOW = {"delayMs": 2500, "times": 20}  # a charge is retried with its Idempotency-Key: every try
BILLING_RECIPES: dict[Produced, Recipe] = {
    ("POST", KEYS, 201): lambda c: c.call("POST", KEYS, json=auth_body(c)),
    ("POST", KEYS, 402): lambda c: c.call("POST", KEYS, json={**auth_body(c), "authKey": "bln_unknown"}),
    ("POST", KEYS, 409): issue_in_use,
    ("POST", KEYS, 422): lambda c: reused_key(c, KEYS, KEYS, auth_body(c), auth_body(c)),
    ("POST", KEYS, 502): lambda c: issue_faulted(c, status=500),
    ("POST", KEYS, 504): lambda c: issue_faulted(c, delayMs=2500),
    ("GET", KEYS, 200): lambda c: c.call("GET", KEYS, params={"limit": 2}),
    ("GET", KEY, 200): lambda c: c.call("GET", KEY, f"{KEYS}/{issued(c)['id']}"),
    ("GET", KEY, 404): lambda c: c.call("GET", KEY, NO_KEY),
    ("DELETE", KEY, 200): lambda c: c.call("DELETE", KEY, f"{KEYS}/{issued(c)['id']}"),
    ("DELETE", KEY, 404): lambda c: c.call("DELETE", KEY, NO_KEY),
    ("DELETE", KEY, 502): lambda c: delete_faulted(c, status=500),
    ("DELETE", KEY, 504): lambda c: delete_faulted(c, delayMs=2500),
    ("POST", CHARGES, 200): lambda c: charge_of(c, issued(c)),
    ("POST", CHARGES, 402): lambda c: charge_of(c, issued(c), **REFUSED),
    ("POST", CHARGES, 404): lambda c: c.call("POST", CHARGES, f"{NO_KEY}/charges", json=charge_body()),
    ("POST", CHARGES, 409): lambda c: charge_of(c, deleted(c)),
    ("POST", CHARGES, 422): lambda c: (lambda path: reused_key(c, CHARGES, path, charge_body(), charge_body()))(f"{KEYS}/{issued(c)['id']}/charges"),
    ("POST", CHARGES, 502): lambda c: charge_of(c, issued(c), status=500),
    ("POST", CHARGES, 504): lambda c: charge_of(c, issued(c), **SLOW),
    ("POST", SUBS, 201): lambda c: subscribe_on(c, issued(c)),
    ("POST", SUBS, 402): lambda c: subscribe_on(c, issued(c), **REFUSED),
    ("POST", SUBS, 404): lambda c: subscribe_on(c, {**issued(c), "id": NO_KEY.rsplit("/", 1)[-1]}),
    ("POST", SUBS, 409): lambda c: subscribe_on(c, deleted(c)),
    ("POST", SUBS, 422): lambda c: (lambda key: reused_key(c, SUBS, SUBS, sub_body(key), {**sub_body(key), "amount": 19900}))(issued(c)),
    ("POST", SUBS, 502): lambda c: subscribe_on(c, issued(c), status=500),
    ("POST", SUBS, 504): lambda c: subscribe_on(c, issued(c), **SLOW),
    ("GET", SUBS, 200): lambda c: c.call("GET", SUBS, params={"limit": 2}),
    ("GET", SUB, 200): lambda c: sub_call(c, SUB, subscribed(c), method="GET"),
    ("GET", SUB, 404): lambda c: c.call("GET", SUB, NO_SUB),
    ("GET", SUB_PAYMENTS, 200): lambda c: sub_call(c, SUB_PAYMENTS, subscribed(c)),
    ("GET", SUB_PAYMENTS, 404): lambda c: c.call("GET", SUB_PAYMENTS, f"{NO_SUB}/payments"),
    ("PATCH", SUB, 200): lambda c: sub_call(c, SUB, subscribed(c), json={"amount": 12900}),
    ("PATCH", SUB, 404): lambda c: c.call("PATCH", SUB, NO_SUB, json={"amount": 12900}),
    ("PATCH", SUB, 409): lambda c: sub_call(c, SUB, canceled(c), json={"amount": 12900}),
    ("POST", SUB_CANCEL, 200): lambda c: sub_call(c, SUB_CANCEL, subscribed(c), json={}),
    ("POST", SUB_CANCEL, 404): lambda c: c.call("POST", SUB_CANCEL, f"{NO_SUB}/cancel", json={}),
    ("POST", SUB_CANCEL, 409): lambda c: sub_call(c, SUB_CANCEL, canceled(c), json={"atPeriodEnd": False}),
    ("POST", SUB_CANCEL, 422): lambda c: (lambda path: reused_key(c, SUB_CANCEL, path, {}, {"atPeriodEnd": False}))(f"{SUBS}/{subscribed(c)['id']}/cancel"),
    ("POST", SUB_PAUSE, 200): lambda c: sub_call(c, SUB_PAUSE, subscribed(c)),
    ("POST", SUB_PAUSE, 404): lambda c: c.call("POST", SUB_PAUSE, f"{NO_SUB}/pause"),
    ("POST", SUB_PAUSE, 409): lambda c: sub_call(c, SUB_PAUSE, canceled(c)),
    ("POST", SUB_PAUSE, 422): lambda c: reused_on_two(c, SUB_PAUSE, subscribed(c), subscribed(c)),
    ("POST", SUB_RESUME, 200): lambda c: sub_call(c, SUB_RESUME, paused(c)),
    ("POST", SUB_RESUME, 404): lambda c: c.call("POST", SUB_RESUME, f"{NO_SUB}/resume"),
    ("POST", SUB_RESUME, 409): lambda c: sub_call(c, SUB_RESUME, canceled(c)),
    ("POST", SUB_RESUME, 422): lambda c: reused_on_two(c, SUB_RESUME, paused(c), paused(c)),
}  # fmt: skip
RECIPES.update(BILLING_RECIPES)


# -- what every route of a kind can answer ---------------------------------------------------
Operation = tuple[str, str]  # method, path template


def documented_statuses(ctx: Ctx) -> dict[Operation, set[int]]:
    document = httpx.get(f"{ctx.service.base_url}/openapi.json", timeout=60).json()
    return {
        (method.upper(), path): {int(status) for status in operation["responses"]}
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def scopes(ctx: Ctx) -> dict[Operation, str | None]:
    document = httpx.get(f"{ctx.service.base_url}/openapi.json", timeout=60).json()
    found: dict[Operation, str | None] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            required = [s for rule in operation.get("security", []) for s in rule.values()]
            found[(method.upper(), path)] = required[0][0] if required else None
    return found


def request_examples(ctx: Ctx) -> dict[Operation, Any]:
    """The example body each operation documents (a webhook must parse before it is stored)."""
    document = httpx.get(f"{ctx.service.base_url}/openapi.json", timeout=60).json()
    return {
        (method.upper(), path): content["example"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for content in operation.get("requestBody", {}).get("content", {}).values()
        if "example" in content
    }


def concrete(template: str) -> str:
    """A path for the template: a payment nobody has, the tenant with its own account."""
    path = template.replace("{payment_id}", MISSING.rsplit("/", 1)[-1])
    path = path.replace("{tenant}", "shop-own")
    return re.sub(r"\{[^}]+\}", "x", path)  # any other parameter: a value nobody has


def oversized(template: str) -> bytes:
    size = 300 * 1024 if template.startswith("/v1/webhooks/") else 70 * 1024
    return b'{"orderName": "' + b"a" * size + b'"}'


def key_without(scope: str) -> str:
    return "cancel" if scope == "payments:read" else "read"


def generic(ctx: Ctx, op: Operation, status: int, scope: str | None) -> httpx.Response | None:
    method, template = op
    path = concrete(template)
    key = "admin" if scope else None
    if status == 400:
        return ctx.call(method, template, f"{path}?probe=%01", key=key)
    if status == 401 and scope:
        return ctx.call(method, template, path, key=None)
    if status == 403 and scope:
        return ctx.call(method, template, path, key=key_without(scope))
    if status == 413:
        headers = {"Content-Type": "application/json"}
        return ctx.call(
            method, template, path, key=key, content=oversized(template), headers=headers
        )
    if status == 429 and scope:
        return over_the_rate(ctx, method, template, path)
    return None


def over_the_rate(ctx: Ctx, method: str, template: str, path: str) -> httpx.Response | None:
    """The `limited` key's bucket is drained once (far more than it holds, faster than it
    refills), and refills slowly: a few tries on any route then meet the limit."""
    if not ctx.drained:
        with ThreadPoolExecutor(max_workers=32) as pool:
            drain = lambda _: ctx.call("GET", ONE, MISSING, key="limited")  # noqa: E731
            list(pool.map(drain, range(2 * RATE + 200)))
        ctx.drained = True
    answer = None
    for _ in range(5):
        answer = ctx.call(method, template, path, key="limited")
        if answer.status_code == 429:
            break
    return answer


def test_every_documented_status_is_produced_and_nothing_undocumented_is(ctx: Ctx) -> None:
    documented = documented_statuses(ctx)
    needed = scopes(ctx)
    examples = request_examples(ctx)
    wrong: list[str] = []

    def expect(produced: Produced, answer: httpx.Response | None) -> None:
        if answer is None:
            return
        if answer.status_code != produced[2]:
            wrong.append(f"{produced}: got {answer.status_code} {answer.text[:200]}")
        elif produced[2] >= 400 and not {"code", "message"} <= set(answer.json()):
            wrong.append(f"{produced}: the body is not {{code, message}}: {answer.text[:200]}")

    for produced, recipe in RECIPES.items():
        expect(produced, recipe(ctx))
    for op, statuses in documented.items():
        for status in sorted(statuses - {503}):
            if (*op, status) not in RECIPES:
                expect((*op, status), generic(ctx, op, status, needed[op]))
    ctx.proxy.stop()  # the database is gone: every route that needs it answers 503
    try:
        for op in documented:
            method, template = op
            body = examples.get(op, {})
            answer = ctx.call(method, template, concrete(template), json=body)
            if 503 in documented[op]:
                expect((*op, 503), answer)
        token = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        ctx.call("GET", "/metrics", key=None, headers=token)
    finally:
        ctx.proxy.start()

    produced_by_route = {(m, t): set[int]() for m, t in documented}
    for method, template, status in ctx.produced:
        produced_by_route.setdefault((method, template), set()).add(status)
    never = {
        op: sorted(documented[op] - got)
        for op, got in produced_by_route.items()
        if op in documented and documented[op] - got
    }
    undocumented = {
        op: sorted(got - documented.get(op, set()))
        for op, got in produced_by_route.items()
        if got - documented.get(op, set())
    }
    assert wrong == [], "\n".join(wrong)
    assert never == {}, f"documented, never produced (add a recipe): {never}"
    assert undocumented == {}, f"produced, not documented: {undocumented}"
