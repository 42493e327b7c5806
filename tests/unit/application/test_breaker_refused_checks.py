"""A check the open circuit breaker kept from Toss uses none of the payment's schedule, and
neither crashes the reconciler nor holds a payment in doubt back for long:
- a payment whose checks already reach past the delays in force (SUNAP_RECONCILE_DELAYS
  shortened between restarts) goes to a person, as an asked check would send it;
- a check refused late in the schedule is asked again after the schedule's first wait, not
  after the whole last one (a day by default)."""

from __future__ import annotations

from datetime import timedelta

from sunap.application.deps import Deps
from sunap.application.ports.gateway import GatewayUnknown
from sunap.application.reconcile import ReconcileOutcome, reconcile_due
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore
from tests.unit.application.test_reconcile import in_doubt, unknown, with_delays


def breaker_open() -> GatewayUnknown:
    refused = GatewayUnknown("CIRCUIT_OPEN", "calls are paused; nothing was sent")
    refused.nothing_sent = True  # as gateway_error marks it
    return refused


async def test_a_refused_check_past_a_shortened_schedule_does_not_crash_the_reconciler(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    long = with_delays(deps, 5, 10, 20, 40)
    payment = await in_doubt(long, toss)
    toss.fail_next("lookup", unknown(), times=2)
    for wait in (5, 10):
        clock.advance(seconds=wait)
        assert await reconcile_due(long) == {payment.id: ReconcileOutcome.RETRY_LATER}
    assert store.payment(payment.id).reconcile_attempts == 2
    # The operator shortens SUNAP_RECONCILE_DELAYS and restarts; the breaker is open.
    short = with_delays(deps, 5, 10)
    toss.fail_next("lookup", breaker_open())
    clock.advance(seconds=20)
    outcome = await reconcile_due(short)
    assert outcome[payment.id] in (ReconcileOutcome.RETRY_LATER, ReconcileOutcome.ESCALATED)


async def test_a_refused_last_check_is_asked_again_soon_or_handed_to_a_person(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    prod = with_delays(deps, 5, 86400)  # the default schedule ends on 86400 too
    payment = await in_doubt(prod, toss)
    toss.fail_next("lookup", unknown())
    clock.advance(seconds=5)
    assert await reconcile_due(prod) == {payment.id: ReconcileOutcome.RETRY_LATER}
    clock.advance(seconds=86400)  # the last check falls due...
    toss.fail_next("lookup", breaker_open())  # ...while the breaker is open for a few seconds
    outcome = await reconcile_due(prod)
    waiting = store.payment(payment.id)
    # Toss was not asked, so waiting again is fair, but only briefly: not the whole last delay
    # again, a day more in doubt before anyone (reconciler or person) looks.
    escalated = outcome[payment.id] is ReconcileOutcome.ESCALATED and waiting.needs_review
    soon = (
        waiting.next_reconcile_at is not None
        and waiting.next_reconcile_at - clock.now() <= timedelta(seconds=60)
    )
    assert escalated or soon
