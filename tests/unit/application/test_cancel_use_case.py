"""The cancel rules of docs/api.md, at the use-case level, against the fake Toss."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import (
    IdempotencyKeyReused,
    PaymentRejected,
    PgTimeout,
    PgUnavailable,
)
from sunap.application.ports.gateway import (
    PG_KEY_RETENTION,
    GatewayDeclined,
    GatewayMisconfigured,
    GatewayUnknown,
    RefundAccount,
)
from sunap.application.reconcile import reconcile_due
from sunap.domain.errors import (
    ExceedsBalance,
    NotCancelableStatus,
    PartialCancelNotAllowed,
    PaymentNotFound,
    RefundAccountRequired,
)
from sunap.domain.payment import CancelStatus, Payment, PaymentMethod, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway, GatewayCall
from tests.fakes.payments import payment_in
from tests.fakes.uow import InMemoryStore, InMemoryUnitOfWorkFactory

S = PaymentStatus
TENANT = "tenant_a"


async def paid(
    deps: Deps,
    toss: FakeGateway,
    amount: int = 15000,
    method: PaymentMethod = PaymentMethod.CARD,
) -> Payment:
    payment = await create_payment(
        CreatePayment(
            tenant_id=TENANT,
            pg_account_id="default",
            order_name="Blue socks",
            amount=amount,
            order_id="order-0001",
        ),
        deps,
    )
    key = toss.pay_in_window(payment.order_id, amount, method=method)
    return await confirm_payment(
        ConfirmPayment(tenant_id=TENANT, payment_key=key, order_id=payment.order_id, amount=amount),
        deps,
    )


async def stored(uows: InMemoryUnitOfWorkFactory, payment: Payment) -> Payment:
    async with uows() as uow:
        uow.payments.add(payment)
        await uow.commit()
    return payment


def canceling(
    payment: Payment, amount: int | None = None, tenant_id: str = TENANT
) -> CancelPayment:
    return CancelPayment(
        tenant_id=tenant_id, payment_id=payment.id, reason="changed my mind", amount=amount
    )


def event_types(store: InMemoryStore, payment_id: str) -> list[str]:
    return [e.type for e in store.events_of(payment_id)]


async def unanswered(cmd: CancelPayment, deps: Deps, toss: FakeGateway) -> None:
    """The cancel's call gets Toss's 500: its outcome is unknown (502), the amount held."""
    toss.fail_next("cancel", GatewayUnknown("FAILED_INTERNAL_SYSTEM_PROCESSING", "500"))
    with pytest.raises(PgUnavailable):
        await cancel_payment(cmd, deps)


async def test_rule_1_a_ready_payment_is_canceled_locally_with_no_pg_call(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await create_payment(
        CreatePayment(
            tenant_id=TENANT,
            pg_account_id="default",
            order_name="x",
            amount=15000,
            order_id="order-0001",
        ),
        deps,
    )
    canceled = await cancel_payment(canceling(payment), deps)
    assert canceled.status is S.CANCELED
    assert store.payment(payment.id).status is S.CANCELED
    assert toss.calls == []
    assert event_types(store, payment.id) == ["payment.created", "payment.canceled"]
    assert store.audit_of(payment.id)[-1].type == "cancel.local"


async def test_rule_2_a_partial_cancel_makes_one_pg_call_and_lowers_the_balance(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    after = await cancel_payment(canceling(payment, 4000), deps)
    assert (after.status, after.balance_amount, after.pending_cancel_amount) == (
        S.PARTIAL_CANCELED,
        11000,
        0,
    )
    assert len(toss.calls_of("cancel")) == 1
    assert toss.payment(payment.payment_key or "").balance_amount == 11000
    committed = store.payment(payment.id)
    assert committed.balance_amount == 11000
    assert [c.status for c in committed.cancels] == [CancelStatus.DONE]
    assert committed.next_reconcile_at is None
    assert event_types(store, payment.id) == [
        "payment.created",
        "payment.completed",
        "payment.partially_canceled",
    ]
    assert [a.type for a in store.audit_of(payment.id)][-2:] == ["cancel.requested", "pg.cancel"]


async def test_rule_2_the_cancel_key_is_stored_before_the_pg_is_called(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    reserved_at_call: list[list[str]] = []

    def look(call: GatewayCall) -> None:
        committed = store.payment(payment.id)
        reserved_at_call.append([c.gateway_idempotency_key for c in committed.pending_cancels])

    toss.on_call(look)
    await cancel_payment(canceling(payment, 1000), deps)
    sent = toss.calls_of("cancel")[0].idempotency_key
    assert sent is not None and len(sent) <= 300
    assert reserved_at_call == [[sent]]


async def test_rule_2_two_cancels_never_share_an_outbound_key(
    deps: Deps, toss: FakeGateway
) -> None:
    payment = await paid(deps, toss)
    await cancel_payment(canceling(payment, 1000), deps)
    await cancel_payment(canceling(payment, 1000), deps)
    keys = [c.idempotency_key for c in toss.calls_of("cancel")]
    assert len(set(keys)) == 2
    assert toss.payment(payment.payment_key or "").balance_amount == 13000


async def test_rule_2_a_full_cancel_cancels_the_payment(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    after = await cancel_payment(canceling(payment), deps)
    assert (after.status, after.balance_amount) == (S.CANCELED, 0)
    assert toss.payment(payment.payment_key or "").status is S.CANCELED
    assert event_types(store, payment.id)[-1] == "payment.canceled"


async def test_rule_2_a_virtual_account_waiting_for_its_deposit_is_canceled_in_full(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss, method=PaymentMethod.VIRTUAL_ACCOUNT)
    assert payment.status is S.WAITING_FOR_DEPOSIT
    with pytest.raises(PartialCancelNotAllowed):
        await cancel_payment(canceling(payment, 1000), deps)
    assert toss.calls_of("cancel") == []
    after = await cancel_payment(canceling(payment), deps)
    assert after.status is S.CANCELED
    assert len(toss.calls_of("cancel")) == 1
    assert event_types(store, payment.id)[-1] == "payment.canceled"


async def test_rule_3_an_amount_above_the_balance_is_refused_with_no_pg_call(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    with pytest.raises(ExceedsBalance):
        await cancel_payment(canceling(payment, 15001), deps)
    assert toss.calls_of("cancel") == []
    committed = store.payment(payment.id)
    assert (committed.balance_amount, committed.cancels) == (15000, [])


async def test_rule_3_concurrent_partial_cancels_never_sum_past_the_amount_paid(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss, amount=10000)
    results = await asyncio.gather(
        *(cancel_payment(canceling(payment, 1000), deps) for _ in range(20)),
        return_exceptions=True,
    )
    succeeded = [r for r in results if isinstance(r, Payment)]
    # Once nothing is left the payment is CANCELED: 409 NOT_CANCELABLE_STATUS is as right.
    refused = [r for r in results if isinstance(r, ExceedsBalance | NotCancelableStatus)]
    assert (len(succeeded), len(refused)) == (10, 10)
    assert len(toss.calls_of("cancel")) == 10
    committed = store.payment(payment.id)
    assert committed.balance_amount == 0 == toss.payment(payment.payment_key or "").balance_amount
    assert committed.status is S.CANCELED
    assert event_types(store, payment.id).count("payment.partially_canceled") == 9
    assert event_types(store, payment.id)[-1] == "payment.canceled"


async def test_rule_4_a_paid_virtual_account_needs_a_refund_account(
    deps: Deps, toss: FakeGateway, uows: InMemoryUnitOfWorkFactory, store: InMemoryStore
) -> None:
    payment = await stored(uows, payment_in(S.DONE, method=PaymentMethod.VIRTUAL_ACCOUNT))
    with pytest.raises(RefundAccountRequired):
        await cancel_payment(canceling(payment, 1000, tenant_id=payment.tenant_id), deps)
    assert toss.calls == []
    assert store.payment(payment.id).cancels == []


@pytest.mark.parametrize("status", [S.CANCELED, S.ABORTED, S.EXPIRED, S.IN_PROGRESS])
async def test_rule_5_a_payment_that_is_over_or_unsettled_cannot_be_canceled(
    status: PaymentStatus,
    deps: Deps,
    toss: FakeGateway,
    uows: InMemoryUnitOfWorkFactory,
    store: InMemoryStore,
) -> None:
    payment = await stored(uows, payment_in(status))
    with pytest.raises(NotCancelableStatus):
        await cancel_payment(canceling(payment, tenant_id=payment.tenant_id), deps)
    assert toss.calls == []
    assert store.payment(payment.id).status is status


async def test_an_unknown_or_foreign_payment_is_not_found(deps: Deps, toss: FakeGateway) -> None:
    payment = await paid(deps, toss)
    with pytest.raises(PaymentNotFound):
        await cancel_payment(canceling(payment, tenant_id="tenant_b"), deps)
    with pytest.raises(PaymentNotFound):
        await cancel_payment(
            CancelPayment(tenant_id=TENANT, payment_id="pay_missing", reason="x"), deps
        )
    assert toss.calls_of("cancel") == []


async def test_rule_6_a_refusal_leaves_the_balance_and_releases_the_reservation(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    toss.fail_next("cancel", GatewayDeclined("REFUND_REJECTED", "환불이 거절됐습니다."))
    with pytest.raises(PaymentRejected) as raised:
        await cancel_payment(canceling(payment, 4000), deps)
    assert (raised.value.code, raised.value.pg_code) == ("PG_REJECTED", "REFUND_REJECTED")
    committed = store.payment(payment.id)
    assert (committed.status, committed.balance_amount, committed.pending_cancel_amount) == (
        S.DONE,
        15000,
        0,
    )
    assert [c.status for c in committed.cancels] == [CancelStatus.FAILED]
    assert committed.next_reconcile_at is None
    assert event_types(store, payment.id) == ["payment.created", "payment.completed"]
    # Toss's record is read back before the answer: what we did not know may be the reason.
    assert [a.type for a in store.audit_of(payment.id)][-2:] == ["pg.cancel", "pg.lookup"]
    assert (await cancel_payment(canceling(payment, 15000), deps)).status is S.CANCELED


async def test_rule_6_a_timeout_keeps_the_reservation_until_the_truth_is_known(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await paid(deps, toss)
    toss.apply_then_fail("cancel")
    with pytest.raises(PgTimeout):
        await cancel_payment(canceling(payment, 4000), deps)
    committed = store.payment(payment.id)
    assert (committed.status, committed.balance_amount, committed.pending_cancel_amount) == (
        S.DONE,
        15000,
        4000,
    )
    assert committed.next_reconcile_at is not None
    with pytest.raises(ExceedsBalance):  # the reserved 4000 is not cancelable twice
        await cancel_payment(canceling(payment, 11001), deps)
    clock.advance(seconds=60)
    await reconcile_due(deps)
    settled = store.payment(payment.id)
    assert (settled.status, settled.balance_amount, settled.pending_cancel_amount) == (
        S.PARTIAL_CANCELED,
        11000,
        0,
    )
    assert len(toss.applied_of("cancel")) == 1
    assert event_types(store, payment.id)[-1] == "payment.partially_canceled"


async def test_rule_6_a_pg_failure_before_anything_happened_is_unknown_not_refused(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    await unanswered(canceling(payment, 4000), deps, toss)
    assert store.payment(payment.id).pending_cancel_amount == 4000


# -- the same request again, after an unknown outcome (its Idempotency-Key was released) -----


def same_request(payment: Payment, amount: int | None = 4000) -> CancelPayment:
    return replace(canceling(payment, amount), request_key="a1b2c3d4e5f6a7b8c9d0e1f2a3b4")


async def test_a_request_sent_again_after_an_unknown_outcome_refunds_once(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """The retry of a cancel Toss took but never answered asks about that cancel (a replay under
    its own key) instead of making a second one: one refund of 4,000, not two."""
    payment = await paid(deps, toss)
    toss.apply_then_fail("cancel")
    with pytest.raises(PgTimeout):
        await cancel_payment(same_request(payment), deps)

    again = await cancel_payment(same_request(payment), deps)

    assert (again.status, again.balance_amount, again.pending_cancel_amount) == (
        S.PARTIAL_CANCELED,
        11000,
        0,
    )
    assert len(toss.applied_of("cancel")) == 1
    assert len(store.payment(payment.id).cancels) == 1
    clock.advance(seconds=3600)
    await reconcile_due(deps)  # nothing left for the reconciler to send
    assert len(toss.applied_of("cancel")) == 1
    assert event_types(store, payment.id).count("payment.partially_canceled") == 1


async def test_a_full_cancel_sent_again_is_answered_by_its_cancel_not_exceeds_balance(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    await unanswered(same_request(payment, None), deps, toss)

    again = await cancel_payment(same_request(payment, None), deps)

    assert (again.status, again.balance_amount) == (S.CANCELED, 0)
    assert len(toss.applied_of("cancel")) == 1


async def test_a_request_sent_again_after_the_reconciler_settled_it_sends_nothing(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await paid(deps, toss)
    toss.apply_then_fail("cancel")
    with pytest.raises(PgTimeout):
        await cancel_payment(same_request(payment), deps)
    clock.advance(seconds=60)
    await reconcile_due(deps)
    calls = len(toss.calls_of("cancel"))

    again = await cancel_payment(same_request(payment), deps)

    assert (again.status, again.balance_amount) == (S.PARTIAL_CANCELED, 11000)
    assert len(toss.calls_of("cancel")) == calls


async def test_a_request_sent_again_after_its_cancel_was_refused_is_refused_the_same(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await paid(deps, toss)
    await unanswered(same_request(payment), deps, toss)
    toss.fail_next("cancel", GatewayDeclined("REFUND_REJECTED", "환불이 거절됐습니다."))

    with pytest.raises(PaymentRejected) as refused:
        await cancel_payment(same_request(payment), deps)  # asks, and Toss refuses
    assert refused.value.pg_code == "REFUND_REJECTED"
    with pytest.raises(PaymentRejected):
        await cancel_payment(same_request(payment), deps)  # answered from the record
    committed = store.payment(payment.id)
    assert (committed.balance_amount, committed.pending_cancel_amount) == (15000, 0)
    assert len(toss.applied_of("cancel")) == 0


async def test_a_request_still_unanswered_stays_unknown_and_sends_nothing_new(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    toss.fail_next("cancel", GatewayUnknown("FAILED_INTERNAL_SYSTEM_PROCESSING", "500"), times=2)
    with pytest.raises(PgUnavailable):
        await cancel_payment(same_request(payment), deps)
    with pytest.raises(PgUnavailable):
        await cancel_payment(same_request(payment), deps)
    keys = {c.idempotency_key for c in toss.calls_of("cancel")}
    assert len(keys) == 1  # the one cancel, asked about again under its own key
    assert store.payment(payment.id).pending_cancel_amount == 4000


# -- the PG refuses the request itself (400 INVALID_REQUEST) --------------------------------


async def test_a_virtual_account_paid_while_its_cancel_was_on_the_way_asks_for_the_account(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """The customer paid just as the shop canceled the unpaid account: Toss refuses the cancel,
    which has no refund account. It was not carried out, so nothing stays reserved for a day of
    replays: the shop is told what to send, and the refund goes through with it."""
    waiting = await paid(deps, toss, 10000, method=PaymentMethod.VIRTUAL_ACCOUNT)
    assert waiting.status is S.WAITING_FOR_DEPOSIT and waiting.payment_key is not None
    toss.deposit(waiting.payment_key)
    toss.fail_next(
        "cancel",
        GatewayMisconfigured("INVALID_REQUEST", "잘못된 요청입니다.", refused_request=True),
    )

    with pytest.raises(RefundAccountRequired):
        await cancel_payment(canceling(waiting), deps)

    after = store.payment(waiting.id)
    assert (after.status, after.balance_amount, after.pending_cancel_amount) == (S.DONE, 10000, 0)
    assert [c.status for c in after.cancels] == [CancelStatus.FAILED]
    refunded = await cancel_payment(
        replace(canceling(waiting), refund_account=RefundAccount("88", "1234567890", "홍길동")),
        deps,
    )
    assert (refunded.status, refunded.balance_amount) == (S.CANCELED, 0)


async def test_a_refused_request_is_not_carried_out_and_holds_nothing(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    toss.fail_next(
        "cancel",
        GatewayMisconfigured("INVALID_REQUEST", "잘못된 요청입니다.", refused_request=True),
    )
    with pytest.raises(PaymentRejected) as refused:
        await cancel_payment(canceling(payment, 4000), deps)
    assert refused.value.pg_code == "INVALID_REQUEST"
    after = store.payment(payment.id)
    assert (after.balance_amount, after.pending_cancel_amount) == (15000, 0)
    assert after.next_reconcile_at is None  # nothing left in doubt


async def test_the_reconcilers_replay_refused_as_a_request_releases_the_reservation(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """The cancel's first call never reached Toss; its replay is refused (the virtual account
    was paid since): the amount is no longer held, and a cancel with the account can go."""
    waiting = await paid(deps, toss, 10000, method=PaymentMethod.VIRTUAL_ACCOUNT)
    assert waiting.payment_key is not None
    await unanswered(canceling(waiting), deps, toss)
    toss.deposit(waiting.payment_key)
    toss.fail_next(
        "cancel",
        GatewayMisconfigured("INVALID_REQUEST", "잘못된 요청입니다.", refused_request=True),
    )
    clock.advance(seconds=60)

    await reconcile_due(deps)

    after = store.payment(waiting.id)
    assert (after.status, after.pending_cancel_amount, after.cancelable_amount) == (
        S.DONE,
        0,
        10000,
    )
    assert not after.needs_review


async def test_the_same_key_asking_for_another_cancel_is_refused_not_run(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """Once the unknown outcome released the key its store compares nothing: the use case does,
    and another amount under the same key is 422, not a second cancel."""
    payment = await paid(deps, toss)
    await unanswered(same_request(payment), deps, toss)
    with pytest.raises(IdempotencyKeyReused):
        await cancel_payment(same_request(payment, 5000), deps)
    # The same cancel worded otherwise (taxFreeAmount 0 sent, not left out) is the same request.
    again = await cancel_payment(replace(same_request(payment), tax_free_amount=0), deps)
    assert (again.balance_amount, again.pending_cancel_amount) == (11000, 0)
    assert len(toss.applied_of("cancel")) == 1


async def test_a_refund_sent_again_carries_its_refund_account_to_toss(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """A paid virtual account's refund needs the customer's account: the request sent again is
    sent as it came, account included (a replay from what Sunap keeps would lack it, and Toss
    would refuse it)."""
    waiting = await paid(deps, toss, 10000, method=PaymentMethod.VIRTUAL_ACCOUNT)
    assert waiting.payment_key is not None
    toss.deposit(waiting.payment_key)
    async with deps.uow() as uow:  # Sunap has learned of the deposit
        fresh = await uow.payments.get(TENANT, waiting.id, for_update=True)
        assert fresh is not None
        fresh.record_deposit(deps.clock.now())
        await uow.commit()
    refund = replace(
        same_request(waiting, None), refund_account=RefundAccount("88", "1234567890", "홍길동")
    )
    await unanswered(refund, deps, toss)

    again = await cancel_payment(refund, deps)

    assert (again.status, again.balance_amount) == (S.CANCELED, 0)
    assert len(toss.applied_of("cancel")) == 1


async def test_a_key_toss_does_not_take_keeps_the_cancel_unknown_for_a_fixed_key(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await paid(deps, toss)
    toss.fail_next("cancel", GatewayMisconfigured("UNAUTHORIZED_KEY", "인증되지 않은 키입니다."))
    with pytest.raises(PgUnavailable):
        await cancel_payment(canceling(payment, 4000), deps)
    assert store.payment(payment.id).pending_cancel_amount == 4000
    clock.advance(seconds=60)
    await reconcile_due(deps)  # the key works again: the reconciler carries the cancel out
    settled = store.payment(payment.id)
    assert (settled.balance_amount, settled.pending_cancel_amount) == (11000, 0)


async def test_a_cancel_older_than_tosss_keeping_of_keys_is_never_sent_again(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """Toss runs a key it has forgotten as a new request: a second refund, if the first went
    through. Past PG_KEY_RETENTION neither the reconciler nor the request sent again resends."""
    payment = await paid(deps, toss)
    await unanswered(same_request(payment), deps, toss)
    clock.advance(seconds=int(PG_KEY_RETENTION.total_seconds()) + 60)
    async with deps.uow() as uow:  # a person asked for it to be checked again (resolve_review)
        fresh = await uow.payments.get(TENANT, payment.id, for_update=True)
        assert fresh is not None
        fresh.schedule_reconcile(deps.clock.now(), attempts=0)
        await uow.commit()
    sent = len(toss.calls_of("cancel"))

    await reconcile_due(deps)
    with pytest.raises(PgUnavailable):
        await cancel_payment(same_request(payment), deps)

    assert len(toss.calls_of("cancel")) == sent
    assert store.payment(payment.id).pending_cancel_amount == 4000
