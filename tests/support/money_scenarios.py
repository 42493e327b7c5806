"""Seeded money scenarios against a real `sunap serve` while Toss misbehaves at random.

One *round* (one seed) plays several *scenarios* at once on one service. A scenario is one order
of a tenant that shares the default Toss account with the others: the customer pays in the
window (or is refused there), the merchant confirms it two or three times at once, then asks for
two to four partial refunds at once. While that happens an attacker tenant on the same Toss
account tries the victims' orderIds and paymentKeys (claiming the orderId, confirming its own
order with the victim's key, confirming, reading and canceling the victim's payment), made-up
keys, and forged webhooks. Toss's faults (late answers, 5xx, dropped connections, changes applied
and their answers lost) are drawn per round from the sandbox's fault control plane.

When Toss recovers, the reconciler must settle everything in doubt; then every invariant is
checked and each broken one is reported as a violation (a sentence naming the seed), never
raised, so a soak can count them:
- never charged twice (one Toss confirm idempotency key per payment);
- never refunded beyond the amount paid, and every Toss refund is one of ours, booked once;
- every Sunap payment agrees with Toss (status, balance, cancels) and nothing is left in doubt;
- no tenant's payment touched by another: the attacker reads 404, its orders never adopt a
  victim's key, the victim's order stays the victim's;
- every change has its outbox event (in sequence) and the audit trail records every Toss call.

Used by tests/e2e/test_property_money.py (a few seeds in CI) and bench/money_soak.py (`make soak`).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.tables import outbox
from tests.support.databases import create_database, drop_database
from tests.support.sandbox_server import SANDBOX_SECRET_KEY
from tests.support.service import RunningService, running_service

CONFIRM_PATH = "/v1/payments/confirm"
CANCEL_GLOB = "/v1/payments/*/cancel"
LOOKUP_GLOB = "/v1/payments/orders/*"
# Fast enough for a soak, long enough that a breaker's cool-off (10 s) fits inside the schedule.
RECONCILE_DELAYS = "1,1,1,2,2,3,5,8"
SHOPS = ("shop-1", "shop-2")  # tenants sharing the default Toss account
ATTACKER = "shop-mallory"  # another tenant on the same account

# What a caller may be told while Toss misbehaves; never a 5xx of ours (500, 503).
CONFIRM_ANSWERS = {200, 402, 409, 502, 504}
CANCEL_ANSWERS = {200, 400, 402, 409, 422, 502, 504}
# The attacker's tries: refused (400/404/409), or Toss's fault answered as Toss's fault.
ATTACK_ANSWERS = {400, 404, 409, 502, 504}
WEBHOOK_ANSWERS = {200, 400, 401}
OVERLOADED = "503 with Retry-After"
VICTIMS_KEY = "the attacker confirms its order with the key of"
CHARGED = ("DONE", "PARTIAL_CANCELED", "CANCELED")
REJECTIONS = ("REJECT_CARD_PAYMENT", "EXCEED_MAX_DAILY_PAYMENT_COUNT", "INVALID_CARD_EXPIRATION")


@dataclass
class Target:
    """A running service, its tenants' API clients, and Toss (the sandbox) with our secret key."""

    service: RunningService
    database_url: str
    toss: httpx.Client
    shops: dict[str, httpx.Client]
    attacker: httpx.Client
    settle_timeout: float = 90.0


@dataclass
class Scenario:
    owner: str
    payment: dict[str, Any]
    payment_key: str
    rejected: bool
    decoys: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.payment["id"])


@dataclass
class RoundResult:
    seed: int
    scenarios: int = 0
    requests: int = 0
    # 503 SERVICE_UNAVAILABLE with Retry-After: a burst waited longer for a database connection
    # than the pool allows. Counted, not a violation: nothing is promised but a retry, and the
    # checks after settling still hold the money to account.
    overloaded: int = 0
    violations: list[str] = field(default_factory=list)


Request = tuple[httpx.Client, str, str, dict[str, Any] | None, set[int], str]


@contextmanager
def running_target(
    workdir: Path, sandbox_url: str, backend: str = "sqlite", **env: str
) -> Iterator[Target]:
    """A `sunap serve` on a fresh database of `backend`, pointed at the sandbox at `sandbox_url`,
    with two shops and an attacker, all on the default Toss account."""
    url = create_database(backend, workdir)
    service_env = {
        "SUNAP_DATABASE_URL": url,
        "SUNAP_WORKER_POLL_SECONDS": "0.1",
        "SUNAP_RECONCILE_DELAYS": RECONCILE_DELAYS,
        "SUNAP_RATE_LIMIT": "off",  # a round sends bursts on purpose
        "TOSS_SECRET_KEY": SANDBOX_SECRET_KEY,
        "TOSS_API_BASE_URL": sandbox_url,
        **env,
    }
    try:
        with running_service(workdir, **service_env) as service, ExitStack() as clients:
            toss = clients.enter_context(
                httpx.Client(base_url=sandbox_url, auth=(SANDBOX_SECRET_KEY, ""), timeout=60)
            )
            shops = {
                name: clients.enter_context(
                    service.client(service.create_key(name, "admin"), timeout=120)
                )
                for name in SHOPS
            }
            attacker = clients.enter_context(
                service.client(service.create_key(ATTACKER, "admin"), timeout=120)
            )
            yield Target(service, url, toss, shops, attacker)
    finally:
        drop_database(url)


def play_round(target: Target, seed: int, scenarios: int) -> RoundResult:
    """Plays `scenarios` orders at once under the faults drawn from `seed`; checks them all.
    The attacker's confirms with the victims' keys race the shops' own."""
    rng = random.Random(seed)
    result = RoundResult(seed)
    clear_faults(target)
    played = [_new_scenario(target, rng) for _ in range(scenarios)]
    result.violations += _attack_before_confirm(target, played, seed)

    for fault in random_faults(rng, [CONFIRM_PATH, LOOKUP_GLOB]):
        add_fault(target, fault)
    confirms = _confirms(target, played, rng) + _attacks_during_confirm(target, played, rng)
    _tally(result, send_all(confirms, seed))

    clear_faults(target)
    for fault in random_faults(rng, [CANCEL_GLOB, CANCEL_GLOB, LOOKUP_GLOB]):
        add_fault(target, fault)
    cancels = _cancels(target, played, rng) + _attacks_during_cancel(target, played)
    _tally(result, send_all(cancels, seed))

    clear_faults(target)  # Toss recovers; the reconciler must now settle everything in doubt
    calls = target.toss.get("/sandbox/calls").json()["items"]
    with ThreadPoolExecutor(max_workers=len(played)) as pool:
        checks = pool.map(lambda s: check_scenario(target, s, calls, seed), played)
        result.violations += [v for found in checks for v in found]
    result.scenarios = len(played)
    result.requests = len(confirms) + len(cancels)
    return result


def _tally(result: RoundResult, problems: list[str]) -> None:
    overloaded = [p for p in problems if OVERLOADED in p]
    result.overloaded += len(overloaded)
    result.violations += [p for p in problems if OVERLOADED not in p]


# -- Toss's fault control plane ---------------------------------------------------------------
def random_faults(rng: random.Random, paths: list[str]) -> list[dict[str, Any]]:
    faults = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["delay", "status", "drop", "applied-then-lost", "applied-then-500"])
        fault: dict[str, Any] = {"path": rng.choice(paths), "times": rng.randint(1, 2)}
        if kind == "delay":
            fault["delayMs"] = rng.randint(100, 1200)
        elif kind == "status":
            fault["status"] = rng.choice([500, 502, 503])
        elif kind == "drop":
            fault["dropConnection"] = True
        elif kind == "applied-then-lost":
            fault.update(afterApply=True, dropConnection=True, delayMs=rng.randint(0, 300))
        else:
            fault.update(afterApply=True, status=500)
        faults.append(fault)
    return faults


def add_fault(target: Target, spec: dict[str, Any]) -> None:
    target.toss.post("/sandbox/faults", json=spec).raise_for_status()


def clear_faults(target: Target) -> None:
    target.toss.delete("/sandbox/faults").raise_for_status()


# -- the customers, the shops and the attacker ------------------------------------------------
def new_order_id() -> str:
    return f"soak-{uuid.uuid4().hex[:24]}"


def _create(api: httpx.Client, amount: int, order_id: str | None = None) -> httpx.Response:
    body = {"orderName": "생수 외 1건", "amount": amount, "orderId": order_id or new_order_id()}
    return api.post("/v1/payments", json=body)


def _new_scenario(target: Target, rng: random.Random) -> Scenario:
    owner = rng.choice(SHOPS)
    response = _create(target.shops[owner], rng.randrange(1000, 30000, 100))
    response.raise_for_status()
    payment = dict(response.json())
    rejected = rng.random() < 0.15
    window: dict[str, Any] = {"orderId": payment["orderId"], "amount": payment["amount"]}
    if rejected:
        window["failWith"] = rng.choice(REJECTIONS)
    paid = target.toss.post("/sandbox/payments", json=window)
    paid.raise_for_status()
    return Scenario(owner, payment, str(paid.json()["paymentKey"]), rejected)


def _attack_before_confirm(target: Target, played: list[Scenario], seed: int) -> list[str]:
    """The attacker claims each victim's orderId and makes decoy orders of the same amount."""
    violations = []
    for scenario in played:
        taken = _create(target.attacker, scenario.payment["amount"], scenario.payment["orderId"])
        if taken.status_code != 409 or taken.json().get("code") != "DUPLICATE_ORDER_ID":
            violations.append(
                f"seed {seed}: the attacker claimed {scenario.payment['orderId']}: "
                f"{taken.status_code} {taken.text[:200]}"
            )
        for _ in range(2):  # one for the victim's key, one for a made-up key
            decoy = _create(target.attacker, scenario.payment["amount"])
            decoy.raise_for_status()
            scenario.decoys.append(dict(decoy.json()))
    return violations


def _confirm_body(payment: dict[str, Any], payment_key: str) -> dict[str, Any]:
    return {"paymentKey": payment_key, "orderId": payment["orderId"], "amount": payment["amount"]}


def _confirms(target: Target, played: list[Scenario], rng: random.Random) -> list[Request]:
    return [
        (
            target.shops[s.owner],
            "POST",
            CONFIRM_PATH,
            _confirm_body(s.payment, s.payment_key),
            CONFIRM_ANSWERS,
            f"{s.owner} confirms {s.id}",
        )
        for s in played
        for _ in range(rng.randint(2, 3))
    ]


def _attacks_during_confirm(
    target: Target, played: list[Scenario], rng: random.Random
) -> list[Request]:
    attacks: list[Request] = []
    mallory = target.attacker
    for s in played:
        with_victims_key, with_made_up_key = s.decoys
        made_up = f"tgen_{uuid.uuid4().hex[:20]}"
        attacks += [
            (mallory, "POST", CONFIRM_PATH, _confirm_body(with_victims_key, s.payment_key),
             ATTACK_ANSWERS, f"{VICTIMS_KEY} {s.id}"),
            (mallory, "POST", CONFIRM_PATH, _confirm_body(with_made_up_key, made_up),
             ATTACK_ANSWERS, "the attacker confirms its order with a made-up key"),
            (mallory, "POST", CONFIRM_PATH, _confirm_body(s.payment, s.payment_key),
             {404}, f"the attacker confirms {s.id} itself"),
            (mallory, "GET", f"/v1/payments/{s.id}", None, {404},
             f"the attacker reads {s.id}"),
        ]  # fmt: skip
        forged = {
            "eventType": "PAYMENT_STATUS_CHANGED",
            "createdAt": "2026-01-01T00:00:00.000000",
            "data": {
                "paymentKey": s.payment_key,
                "orderId": s.payment["orderId"],
                "status": rng.choice(["CANCELED", "ABORTED", "DONE"]),
                "totalAmount": s.payment["amount"],
                "balanceAmount": 0,
            },
        }
        attacks.append(
            (mallory, "POST", "/v1/webhooks/toss", forged, WEBHOOK_ANSWERS,
             f"a forged webhook about {s.id}")
        )  # fmt: skip
    return attacks


def _cancels(target: Target, played: list[Scenario], rng: random.Random) -> list[Request]:
    cancels: list[Request] = []
    for s in played:
        amount = s.payment["amount"]
        for _ in range(rng.randint(2, 4)):
            part = rng.randrange(100, amount // 2 + 100, 100)
            body = {"cancelReason": "부분 환불", "cancelAmount": part}
            path = f"/v1/payments/{s.id}/cancel"
            cancels.append(
                (target.shops[s.owner], "POST", path, body, CANCEL_ANSWERS, f"{s.owner} cancels")
            )
    return cancels


def _attacks_during_cancel(target: Target, played: list[Scenario]) -> list[Request]:
    attacks: list[Request] = []
    for s in played:
        other = next(name for name in SHOPS if name != s.owner)
        body = {"cancelReason": "탈취", "cancelAmount": 100}
        for api, who in ((target.attacker, "the attacker"), (target.shops[other], other)):
            attacks.append(
                (api, "POST", f"/v1/payments/{s.id}/cancel", body, {404}, f"{who} cancels {s.id}")
            )
    return attacks


def send_all(requests: list[Request], seed: int) -> list[str]:
    """Sends every request at once, each on its own connection, as concurrent callers would;
    returns a violation for each answer outside the ones allowed."""

    def send(request: Request) -> str | None:
        api, method, path, body, allowed, what = request
        with httpx.Client(base_url=api.base_url, headers=dict(api.headers), timeout=120) as own:
            answer = own.request(method, path, json=body)
        if answer.status_code in allowed:
            return None
        if answer.status_code == 503 and "Retry-After" in answer.headers:
            return f"seed {seed}: {what}: {OVERLOADED}"
        return f"seed {seed}: {what}: {answer.status_code} {answer.text[:200]}"

    with ThreadPoolExecutor(max_workers=min(64, len(requests))) as pool:
        return [v for v in pool.map(send, requests) if v is not None]


# -- the checks -------------------------------------------------------------------------------
def settled(api: httpx.Client, payment_id: str, timeout: float) -> dict[str, Any]:
    """The payment once nothing about it is in doubt any more (or the last view)."""
    view: dict[str, Any] = {}
    for _ in _polls(timeout):
        response = api.get(f"/v1/payments/{payment_id}")
        response.raise_for_status()
        view = dict(response.json())
        if view["status"] != "IN_PROGRESS" and not view["pendingCancelAmount"]:
            break
    return view


def _polls(timeout: float, interval: float = 0.2) -> Iterator[None]:
    deadline = time.monotonic() + timeout
    while True:
        yield
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)


def check_scenario(
    target: Target,
    s: Scenario,
    calls: list[dict[str, Any]],
    seed: int,
) -> list[str]:
    ours = settled(target.shops[s.owner], s.id, target.settle_timeout)
    # Read once it is settled: the reconciler may settle a cancel, and announce it, only now.
    events = outbox_events(target.database_url, [s.id])
    toss_answer = target.toss.get(f"/v1/payments/{s.payment_key}")
    toss_answer.raise_for_status()
    toss = toss_answer.json()
    where = f"seed {seed}, {s.owner}'s payment {s.id}"
    problems: list[str] = []

    def expect(holds: bool, what: str) -> None:
        if not holds:
            problems.append(f"{where}: {what} (ours {_brief(ours)}; Toss {_brief(toss)})")

    expect(ours["status"] == toss["status"], "status differs from Toss")
    expect(not ours["pendingCancelAmount"] and not ours["needsReview"], "left in doubt")
    expect(ours["balanceAmount"] == toss["balanceAmount"], "balance differs from Toss")
    expect(toss["orderId"] == s.payment["orderId"], "Toss's record names another order")
    expect(not s.rejected or toss["status"] not in CHARGED, "a refused card was charged")
    toss_cancels = toss.get("cancels") or []
    refunded = sum(c["cancelAmount"] for c in toss_cancels)
    expect(refunded <= toss["totalAmount"], "refunded beyond the amount paid")
    expect(toss["balanceAmount"] == toss["totalAmount"] - refunded, "Toss's books do not add up")
    ours_keys = [c["transactionKey"] for c in ours["cancels"]]
    expect(
        sorted(ours_keys) == sorted(c["transactionKey"] for c in toss_cancels),
        "refunds differ from Toss's (missing, doubled or someone else's)",
    )
    expect(len(set(ours_keys)) == len(ours_keys), "a refund booked twice")
    confirm_calls = [
        c for c in calls if c["path"] == CONFIRM_PATH and s.id in (c["idempotencyKey"] or "")
    ]
    expect(len({c["idempotencyKey"] for c in confirm_calls}) <= 1, "charged more than once")
    expect(
        _events_in_order(events.get(s.id, []), toss),
        f"outbox events missing or out of order: {events.get(s.id, [])}, Toss's cancels "
        f"{[c['cancelAmount'] for c in toss_cancels]}",
    )
    problems += _audit_problems(target.shops[s.owner], s, calls, where)
    problems += _isolation_problems(target, s, where)
    return problems


def _brief(payment: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "balanceAmount", "totalAmount", "pendingCancelAmount", "needsReview")
    return {k: payment[k] for k in keys if k in payment}


def _events_in_order(events: list[tuple[str, int]], toss: dict[str, Any]) -> bool:
    expected = ["payment.created"]
    if toss["status"] in ("DONE", "PARTIAL_CANCELED", "CANCELED"):
        expected.append("payment.completed")
        balance = toss["totalAmount"]
        for cancel in toss.get("cancels") or []:
            balance -= cancel["cancelAmount"]
            expected.append("payment.canceled" if balance == 0 else "payment.partially_canceled")
    elif toss["status"] == "ABORTED":
        expected.append("payment.failed")
    sequences = [seq for _, seq in events]
    return [kind for kind, _ in events] == expected and sequences == list(range(1, len(events) + 1))


def _audit_problems(
    api: httpx.Client, s: Scenario, calls: list[dict[str, Any]], where: str
) -> list[str]:
    """Every Toss confirm or cancel call made for this payment left an audit row."""
    trail = api.get(f"/v1/payments/{s.id}/transactions").json()["items"]
    mine = [c for c in calls if s.id in (c["idempotencyKey"] or "")]
    sent = {
        kind: sum(1 for c in mine if c["path"].endswith(kind)) for kind in ("confirm", "cancel")
    }
    problems = []
    for kind, count in sent.items():
        rows = [e for e in trail if kind in e["type"].lower()]
        if count and not rows:
            problems.append(f"{where}: {count} Toss {kind} calls and no {kind} in the audit trail")
    return problems


def _isolation_problems(target: Target, s: Scenario, where: str) -> list[str]:
    problems = []
    for decoy in s.decoys:
        view = settled(target.attacker, decoy["id"], target.settle_timeout)
        if view["status"] != "READY" or view["paymentKey"] is not None:
            problems.append(f"{where}: the attacker's order {decoy['id']} ended {_brief(view)}")
    others = [target.attacker] + [api for name, api in target.shops.items() if name != s.owner]
    for api in others:
        if api.get(f"/v1/payments/{s.id}").status_code != 404:
            problems.append(f"{where}: another tenant can read it")
        listed = api.get("/v1/payments", params={"orderId": s.payment["orderId"]}).json()
        if listed["items"]:
            problems.append(f"{where}: another tenant lists it")
    return problems


def outbox_events(database_url: str, payment_ids: list[str]) -> dict[str, list[tuple[str, int]]]:
    """(type, sequence) of every outbox row of each payment, in the order they were written,
    read from the service's own database (any backend)."""

    async def read() -> dict[str, list[tuple[str, int]]]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as db:
                rows = await db.execute(
                    select(outbox.c.aggregateid, outbox.c.type, outbox.c.payload)
                    .where(outbox.c.aggregateid.in_(payment_ids))
                    .order_by(outbox.c.seq)
                )
                found: dict[str, list[tuple[str, int]]] = {}
                for aggregate, kind, payload in rows:
                    found.setdefault(aggregate, []).append((kind, int(payload["sequence"])))
                return found
        finally:
            await engine.dispose()

    return _on_a_thread(lambda: asyncio.run(read()))


def _on_a_thread(work: Callable[[], Any]) -> Any:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()
