"""The door-neutral Idempotency-Key protocol (application/idempotency.py) around the real confirm
and cancel use cases, with the fake Toss and an in-memory key store: replay, 422, 409, and what
is kept, decided from the use case's result or exception."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from sunap.application.idempotency import (
    LOCK_TIMEOUT,
    IdempotentCall,
    fingerprint,
    require_valid_key,
    run_idempotently,
)
from sunap.application.ports.idempotency import StoredResponse
from sunap.domain.errors import InvalidRequest, SunapError
from sunap.domain.payment import Payment
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.idempotency import InMemoryIdempotencyStore

TENANT = "tenant_a"
CONFIRM = "POST /v1/payments/confirm"


@dataclass
class TextDoor:
    """A door that renders an outcome as a line of text and remembers what it sent."""

    sent: list[tuple[bytes, bool]] = field(default_factory=list)

    async def render(self, outcome: Payment | SunapError) -> StoredResponse:
        if isinstance(outcome, SunapError):
            return StoredResponse(400, f"refused {outcome.code}".encode(), "text/plain")
        line = f"{outcome.id} {outcome.status} balance {outcome.balance_amount}"
        return StoredResponse(200, line.encode(), "text/plain")

    async def send(self, response: StoredResponse, *, replayed: bool) -> bytes:
        self.sent.append((response.body, replayed))
        return response.body


@pytest.fixture
def keys() -> InMemoryIdempotencyStore:
    return InMemoryIdempotencyStore()


@pytest.fixture
async def ready(deps: Deps) -> Payment:
    command = CreatePayment(
        tenant_id=TENANT,
        pg_account_id="default",
        order_name="Blue socks",
        amount=15000,
        order_id="order-0001",
    )
    return await create_payment(command, deps)


def confirming(payment_key: str, amount: int = 15000) -> ConfirmPayment:
    return ConfirmPayment(
        tenant_id=TENANT, payment_key=payment_key, order_id="order-0001", amount=amount
    )


def call(
    key: str | None, body: str, operation: str = CONFIRM, tenant: str = TENANT
) -> IdempotentCall:
    return IdempotentCall(tenant, key, fingerprint(operation, body.encode()))


def runner(
    deps: Deps, keys: InMemoryIdempotencyStore, door: TextDoor
) -> Callable[[IdempotentCall, Callable[[], Awaitable[Payment]]], Awaitable[bytes]]:
    async def run(idempotent: IdempotentCall, execute: Callable[[], Awaitable[Payment]]) -> bytes:
        return await run_idempotently(idempotent, keys, deps.clock, execute, door)

    return run


async def test_a_repeat_with_the_same_key_replays_the_first_answer_and_calls_the_pg_once(
    deps: Deps, toss: FakeGateway, keys: InMemoryIdempotencyStore, ready: Payment
) -> None:
    door = TextDoor()
    run = runner(deps, keys, door)
    payment_key = toss.pay_in_window("order-0001", 15000)

    def confirm() -> Awaitable[Payment]:
        return confirm_payment(confirming(payment_key), deps)

    first = await run(call("k-1", "body"), confirm)
    second = await run(call("k-1", "body"), confirm)

    assert first == second == f"{ready.id} DONE balance 15000".encode()
    assert door.sent == [(first, False), (first, True)]
    assert len(toss.calls_of("confirm")) == 1


async def test_the_same_key_with_another_request_or_operation_is_refused_and_runs_nothing(
    deps: Deps, toss: FakeGateway, keys: InMemoryIdempotencyStore, ready: Payment
) -> None:
    run = runner(deps, keys, TextDoor())
    payment_key = toss.pay_in_window("order-0001", 15000)
    await run(call("k-1", "body"), lambda: confirm_payment(confirming(payment_key), deps))
    ran: list[str] = []

    async def never() -> Payment:
        ran.append("ran")
        raise AssertionError("a refused key must not run anything")

    with pytest.raises(IdempotencyKeyReused):
        await run(call("k-1", "another body"), never)
    with pytest.raises(IdempotencyKeyReused):
        await run(call("k-1", "body", operation="/sunap.v1.PaymentService/ConfirmPayment"), never)
    assert ran == []


async def test_a_key_whose_first_request_still_runs_is_in_use(
    deps: Deps, toss: FakeGateway, keys: InMemoryIdempotencyStore, ready: Payment
) -> None:
    run = runner(deps, keys, TextDoor())
    payment_key = toss.pay_in_window("order-0001", 15000)
    gate = toss.hold("confirm")
    first = asyncio.create_task(
        run(call("k-1", "body"), lambda: confirm_payment(confirming(payment_key), deps))
    )
    await gate.arrived.wait()

    with pytest.raises(IdempotencyKeyInUse):
        await run(call("k-1", "body"), lambda: confirm_payment(confirming(payment_key), deps))
    gate.release()
    assert (await first).endswith(b"DONE balance 15000")
    assert len(toss.calls_of("confirm")) == 1


async def test_a_definitive_refusal_is_kept_and_replayed_without_running_again(
    deps: Deps, toss: FakeGateway, keys: InMemoryIdempotencyStore, ready: Payment
) -> None:
    run = runner(deps, keys, TextDoor())
    payment_key = toss.pay_in_window("order-0001", 15000, fail_with="REJECT_CARD_PAYMENT")

    def confirm() -> Awaitable[Payment]:
        return confirm_payment(confirming(payment_key), deps)

    assert await run(call("k-1", "body"), confirm) == b"refused PG_REJECTED"
    assert await run(call("k-1", "body"), confirm) == b"refused PG_REJECTED"
    assert len(toss.calls_of("confirm")) == 1


async def test_an_unknown_pg_outcome_is_not_kept_so_a_retry_with_the_key_resolves_it(
    deps: Deps, toss: FakeGateway, keys: InMemoryIdempotencyStore, ready: Payment
) -> None:
    run = runner(deps, keys, TextDoor())
    payment_key = toss.pay_in_window("order-0001", 15000)
    toss.apply_then_fail("confirm")  # Toss approved it; its answer was lost

    def confirm() -> Awaitable[Payment]:
        return confirm_payment(confirming(payment_key), deps)

    assert await run(call("k-1", "body"), confirm) == b"refused PG_TIMEOUT"
    assert len(keys) == 0
    assert (await run(call("k-1", "body"), confirm)).endswith(b"DONE balance 15000")


async def test_a_refusal_before_anything_ran_is_not_kept(
    deps: Deps, keys: InMemoryIdempotencyStore, ready: Payment
) -> None:
    run = runner(deps, keys, TextDoor())

    async def invalid() -> Payment:
        raise InvalidRequest("amount must be greater than zero.")

    assert await run(call("k-1", "body"), invalid) == b"refused INVALID_REQUEST"
    assert len(keys) == 0


async def test_a_crash_releases_the_key_and_a_retry_runs(
    deps: Deps, keys: InMemoryIdempotencyStore, ready: Payment
) -> None:
    run = runner(deps, keys, TextDoor())

    async def crash() -> Payment:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        await run(call("k-1", "body"), crash)
    cancel = CancelPayment(tenant_id=TENANT, payment_id=ready.id, reason="changed mind")
    assert (await run(call("k-1", "body"), lambda: cancel_payment(cancel, deps))).endswith(
        b"CANCELED balance 0"
    )


async def test_keys_belong_to_a_tenant(
    deps: Deps, keys: InMemoryIdempotencyStore, ready: Payment
) -> None:
    run = runner(deps, keys, TextDoor())
    cancel = CancelPayment(tenant_id=TENANT, payment_id=ready.id, reason="changed mind")
    await run(call("k-1", "body"), lambda: cancel_payment(cancel, deps))
    other = CancelPayment(tenant_id="tenant_b", payment_id=ready.id, reason="changed mind")

    assert await run(
        call("k-1", "body", tenant="tenant_b"), lambda: cancel_payment(other, deps)
    ) == (b"refused PAYMENT_NOT_FOUND")


async def test_without_a_key_nothing_is_claimed_and_every_call_runs(
    deps: Deps, toss: FakeGateway, keys: InMemoryIdempotencyStore, ready: Payment
) -> None:
    door = TextDoor()
    run = runner(deps, keys, door)
    payment_key = toss.pay_in_window("order-0001", 15000)
    for _ in range(2):
        await run(call(None, "body"), lambda: confirm_payment(confirming(payment_key, 100), deps))
    assert len(keys) == 0
    assert door.sent == [(b"refused AMOUNT_MISMATCH", False)] * 2


@pytest.mark.parametrize("key", ["", "k" * 301, "tab\tkey", "키"])
def test_a_key_that_is_not_1_to_300_printable_ascii_characters_is_invalid(key: str) -> None:
    with pytest.raises(InvalidRequest):
        require_valid_key(key)


def test_a_key_of_300_printable_characters_is_valid() -> None:
    key = "A-z 0~9" + "k" * 293
    assert require_valid_key(key) == key and require_valid_key(None) is None


def test_the_fingerprint_names_the_operation() -> None:
    body = b'{"amount":15000}'
    assert fingerprint("POST /v1/payments", body) != fingerprint("POST /v1/payments/confirm", body)
    assert fingerprint("POST /v1/payments", body).startswith("POST /v1/payments ")


async def test_a_key_held_past_its_lock_is_taken_over(
    deps: Deps, clock: FakeClock, keys: InMemoryIdempotencyStore, ready: Payment
) -> None:
    """Its first holder died without finishing or releasing it."""
    run = runner(deps, keys, TextDoor())
    cancel = CancelPayment(tenant_id=TENANT, payment_id=ready.id, reason="changed mind")
    now = clock.now()
    await keys.claim(TENANT, "k-1", fingerprint(CONFIRM, b"body"), now, now + LOCK_TIMEOUT)

    with pytest.raises(IdempotencyKeyInUse):
        await run(call("k-1", "body"), lambda: cancel_payment(cancel, deps))
    clock.advance(LOCK_TIMEOUT, seconds=1)
    assert (await run(call("k-1", "body"), lambda: cancel_payment(cancel, deps))).endswith(
        b"CANCELED balance 0"
    )
