"""The confirm rules of docs/api.md, at the use-case level, against the fake Toss."""

from __future__ import annotations

import asyncio

import pytest

from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import PaymentRejected, PgTimeout, PgUnavailable
from sunap.application.ports.gateway import GatewayUnknown
from sunap.application.reconcile import reconcile_due
from sunap.domain.errors import (
    AlreadyProcessedPayment,
    AmountMismatch,
    ConfirmInProgress,
    DuplicateOrderId,
    PaymentNotFound,
)
from sunap.domain.payment import Payment, PaymentMethod, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway, GatewayCall
from tests.fakes.uow import InMemoryStore

S = PaymentStatus
TENANT = "tenant_a"


async def ready(deps: Deps, order_id: str = "order-0001", amount: int = 15000) -> Payment:
    return await create_payment(
        CreatePayment(
            tenant_id=TENANT,
            pg_account_id="default",
            order_name="Blue socks",
            amount=amount,
            order_id=order_id,
        ),
        deps,
    )


def confirming(
    payment_key: str, order_id: str = "order-0001", amount: int = 15000
) -> ConfirmPayment:
    return ConfirmPayment(
        tenant_id=TENANT, payment_key=payment_key, order_id=order_id, amount=amount
    )


def event_types(store: InMemoryStore, payment_id: str) -> list[str]:
    return [e.type for e in store.events_of(payment_id)]


async def test_a_created_payment_is_ready_with_one_event_and_one_audit_row(
    deps: Deps, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    assert store.payment(payment.id).status is S.READY
    assert event_types(store, payment.id) == ["payment.created"]
    assert [a.type for a in store.audit_of(payment.id)] == ["payment.created"]


async def test_an_order_id_is_used_once_per_tenant_and_once_per_pg_account(
    deps: Deps, store: InMemoryStore
) -> None:
    await ready(deps)
    with pytest.raises(DuplicateOrderId):
        await ready(deps)
    with pytest.raises(DuplicateOrderId):  # another tenant on the same (default) account
        await create_payment(
            CreatePayment("tenant_b", "default", "x", 100, order_id="order-0001"), deps
        )
    other = await create_payment(
        CreatePayment("tenant_b", "tenant_b", "x", 100, order_id="order-0001"), deps
    )
    assert (other.tenant_id, other.pg_account_id) == ("tenant_b", "tenant_b")
    assert len(store.payments) == 2


async def test_a_payment_without_an_order_id_gets_one_minted(deps: Deps) -> None:
    payment = await create_payment(
        CreatePayment(tenant_id=TENANT, pg_account_id="default", order_name="x", amount=100), deps
    )
    assert 6 <= len(payment.order_id) <= 64


async def test_a_confirm_completes_the_payment_with_one_pg_call(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    confirmed = await confirm_payment(confirming(key), deps)
    assert confirmed.status is S.DONE
    assert confirmed.payment_key == key
    assert store.payment(payment.id).status is S.DONE
    assert len(toss.calls_of("confirm")) == 1
    assert event_types(store, payment.id) == ["payment.created", "payment.completed"]
    assert [a.type for a in store.audit_of(payment.id)] == [
        "payment.created",
        "confirm.claimed",
        "pg.confirm",
    ]
    assert store.payment(payment.id).next_reconcile_at is None


async def test_the_outbound_key_is_stored_before_the_pg_is_called(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    at_call: list[tuple[S, str | None]] = []

    def look(call: GatewayCall) -> None:
        committed = store.payment(payment.id)
        at_call.append((committed.status, committed.confirm_idempotency_key))

    toss.on_call(look)
    await confirm_payment(confirming(key), deps)
    sent = toss.calls_of("confirm")[0].idempotency_key
    assert sent is not None and len(sent) <= 300
    assert at_call == [(S.IN_PROGRESS, sent)]


async def test_rule_1_an_unknown_order_id_is_not_found_with_no_pg_call(
    deps: Deps, toss: FakeGateway
) -> None:
    with pytest.raises(PaymentNotFound):
        await confirm_payment(confirming("pk_x", order_id="order-missing"), deps)
    assert toss.calls == []


async def test_rule_1_another_tenants_order_id_is_not_found(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    with pytest.raises(PaymentNotFound):
        await confirm_payment(
            ConfirmPayment(
                tenant_id="tenant_b", payment_key=key, order_id="order-0001", amount=15000
            ),
            deps,
        )
    assert toss.calls == []
    assert store.payment(payment.id).status is S.READY


async def test_rule_2_a_wrong_amount_is_refused_audited_and_changes_nothing(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    with pytest.raises(AmountMismatch):
        await confirm_payment(confirming(key, amount=16000), deps)
    assert toss.calls == []
    after = store.payment(payment.id)
    assert (after.status, after.payment_key, after.version) == (S.READY, None, 1)
    mismatch = store.audit_of(payment.id)[-1]
    assert (mismatch.type, mismatch.status) == ("confirm.amount_mismatch", "rejected")
    assert mismatch.request_data is not None and mismatch.request_data["amount"] == 16000
    assert event_types(store, payment.id) == ["payment.created"]


async def test_rule_3_a_second_confirm_returns_the_first_result_with_no_pg_call(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    first = await confirm_payment(confirming(key), deps)
    second = await confirm_payment(confirming(key), deps)
    assert (second.id, second.status, second.payment_key) == (first.id, S.DONE, key)
    assert len(toss.calls) == 1
    assert event_types(store, payment.id) == ["payment.created", "payment.completed"]


async def test_rule_3_a_done_payment_refuses_another_payment_key(
    deps: Deps, toss: FakeGateway
) -> None:
    await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    await confirm_payment(confirming(key), deps)
    with pytest.raises(AlreadyProcessedPayment):
        await confirm_payment(confirming("pk_someone_else"), deps)
    assert len(toss.calls) == 1


async def test_rule_4_a_confirm_while_another_is_at_the_pg_is_in_progress(
    deps: Deps, toss: FakeGateway
) -> None:
    await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    gate = toss.hold("confirm")
    first = asyncio.create_task(confirm_payment(confirming(key), deps))
    await gate.arrived.wait()
    with pytest.raises(ConfirmInProgress):
        await confirm_payment(confirming(key), deps)
    gate.release()
    assert (await first).status is S.DONE
    assert len(toss.calls_of("confirm")) == 1


async def test_rule_4_many_concurrent_confirms_make_one_pg_call_and_agree(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    results = await asyncio.gather(
        *(confirm_payment(confirming(key), deps) for _ in range(10)), return_exceptions=True
    )
    assert len(toss.calls_of("confirm")) == 1
    done = [r for r in results if isinstance(r, Payment)]
    assert done and all(r.status is S.DONE and r.payment_key == key for r in done)
    assert all(isinstance(r, Payment | ConfirmInProgress) for r in results)
    assert event_types(store, payment.id) == ["payment.created", "payment.completed"]


async def test_rule_5_a_refusal_aborts_the_payment_and_says_why(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000, fail_with="REJECT_CARD_PAYMENT")
    with pytest.raises(PaymentRejected) as raised:
        await confirm_payment(confirming(key), deps)
    assert raised.value.code == "PG_REJECTED"
    assert raised.value.pg_code == "REJECT_CARD_PAYMENT"
    assert raised.value.payment.status is S.ABORTED
    aborted = store.payment(payment.id)
    assert aborted.status is S.ABORTED
    assert aborted.failure is not None and aborted.failure.code == "REJECT_CARD_PAYMENT"
    assert aborted.next_reconcile_at is None
    assert event_types(store, payment.id) == ["payment.created", "payment.failed"]
    pg = store.audit_of(payment.id)[-1]
    assert (pg.type, pg.status) == ("pg.confirm", "declined")


async def test_rule_5_confirming_a_refused_payment_again_repeats_the_refusal_without_a_call(
    deps: Deps, toss: FakeGateway
) -> None:
    await ready(deps)
    key = toss.pay_in_window("order-0001", 15000, fail_with="REJECT_CARD_PAYMENT")
    with pytest.raises(PaymentRejected):
        await confirm_payment(confirming(key), deps)
    with pytest.raises(PaymentRejected) as again:
        await confirm_payment(confirming(key), deps)
    assert again.value.pg_code == "REJECT_CARD_PAYMENT"
    assert len(toss.calls) == 1


async def test_rule_6_a_lost_answer_is_a_timeout_and_the_payment_stays_in_progress(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    toss.apply_then_fail("confirm")
    with pytest.raises(PgTimeout) as raised:
        await confirm_payment(confirming(key), deps)
    assert raised.value.code == "PG_TIMEOUT"
    after = store.payment(payment.id)
    assert after.status is S.IN_PROGRESS
    assert after.next_reconcile_at is not None
    assert event_types(store, payment.id) == ["payment.created"]
    assert store.audit_of(payment.id)[-1].status == "unknown"


async def test_rule_6_a_pg_failure_is_unavailable_never_aborted(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    toss.fail_next("confirm", GatewayUnknown("FAILED_INTERNAL_SYSTEM_PROCESSING", "500"))
    with pytest.raises(PgUnavailable) as raised:
        await confirm_payment(confirming(key), deps)
    assert raised.value.code == "PG_UNAVAILABLE"
    assert store.payment(payment.id).status is S.IN_PROGRESS


async def test_rule_6_the_service_learns_the_truth_by_itself_with_the_same_key(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    toss.fail_next("confirm", GatewayUnknown("READ_TIMEOUT", "lost", timed_out=True))
    with pytest.raises(PgTimeout):
        await confirm_payment(confirming(key), deps)
    clock.advance(seconds=60)
    await reconcile_due(deps)
    assert store.payment(payment.id).status is S.DONE
    keys = {c.idempotency_key for c in toss.calls_of("confirm")}
    assert keys == {store.payment(payment.id).confirm_idempotency_key}
    assert len(toss.calls_of("confirm")) == 2
    assert len(toss.applied_of("confirm")) == 1
    assert event_types(store, payment.id) == ["payment.created", "payment.completed"]


async def test_rule_7_an_earlier_attempt_that_went_through_is_adopted(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    # An attempt we lost track of (another key) already went through at Toss.
    await toss.confirm(
        payment_key=key, order_id="order-0001", amount=15000, idempotency_key="lost-attempt"
    )
    confirmed = await confirm_payment(confirming(key), deps)
    assert confirmed.status is S.DONE
    assert [c.operation for c in toss.calls[1:]] == ["confirm", "lookup"]
    assert len(toss.applied_of("confirm")) == 1
    assert event_types(store, payment.id) == ["payment.created", "payment.completed"]


async def test_a_virtual_account_waits_for_its_deposit_and_keeps_only_a_digest_of_the_secret(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000, method=PaymentMethod.VIRTUAL_ACCOUNT)
    issued = await confirm_payment(confirming(key), deps)
    assert issued.status is S.WAITING_FOR_DEPOSIT
    secret = toss.deposit_secret(key)
    assert secret is not None
    committed = store.payment(payment.id)
    assert committed.deposit_secret_digest is not None
    assert committed.deposit_secret_digest != secret
    assert secret not in repr(vars(committed))
    assert all(secret not in repr(entry) for entry in store.audit)
    assert event_types(store, payment.id) == ["payment.created", "payment.waiting_for_deposit"]
