"""Reads without a row lock (application/optimism.py): a unit of work whose write was refused
because the payment changed after it was read runs again with a locked read, and answers as a
locked read would have from the start."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import StaleAggregate
from sunap.application.optimism import lock_on_conflict
from sunap.application.ports.unit_of_work import UnitOfWork
from sunap.domain.errors import NotConfirmableStatus, PaymentNotFound
from sunap.domain.payment import Approval, PaymentMethod, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway, GatewayCall
from tests.fakes.ids import SequentialIds
from tests.fakes.uow import InMemoryStore, InMemoryUnitOfWorkFactory

TENANT = "tenant_a"


class IdsThatRace(SequentialIds):
    """Runs `meanwhile` once, when the id with `prefix` is next asked for: inside a unit of
    work, after its read and before its commit, where another process's commit could land."""

    def __init__(self) -> None:
        super().__init__()
        self._armed: tuple[str, Callable[[], None]] | None = None

    def arm(self, prefix: str, meanwhile: Callable[[], None]) -> None:
        self._armed = (prefix, meanwhile)

    def new_id(self, prefix: str) -> str:
        if self._armed is not None and self._armed[0] == prefix:
            meanwhile, self._armed = self._armed[1], None
            meanwhile()
        return super().new_id(prefix)


@pytest.fixture
def ids() -> IdsThatRace:
    return IdsThatRace()


@pytest.fixture
def racing(deps: Deps, ids: IdsThatRace) -> Deps:
    return Deps(
        uow=deps.uow,
        accounts=deps.accounts,
        clock=deps.clock,
        ids=ids,
        webhook_format=deps.webhook_format,
        sleep=deps.sleep,
    )


def commit_elsewhere(store: InMemoryStore, payment_id: str, change: Callable) -> Callable[[], None]:
    """Another process's committed change of the payment (its version moves on)."""

    def run() -> None:
        changed = copy.deepcopy(store.payment(payment_id))
        change(changed)
        changed.events = []
        changed.version += 1
        store.payments[payment_id] = changed

    return run


async def test_work_runs_locked_once_where_reads_are_not_optimistic() -> None:
    uows = InMemoryUnitOfWorkFactory(reads_optimistically=False)
    runs: list[bool] = []

    async def work(uow: UnitOfWork, locked: bool) -> str:
        runs.append(locked)
        return "done"

    deps = Deps(uow=uows, accounts=None, clock=None, ids=None, webhook_format=None)  # type: ignore[arg-type]
    assert await lock_on_conflict(deps, work) == "done"
    assert runs == [True]


async def test_a_refused_write_runs_the_work_again_locked_and_nothing_else_does() -> None:
    uows = InMemoryUnitOfWorkFactory(reads_optimistically=True)
    deps = Deps(uow=uows, accounts=None, clock=None, ids=None, webhook_format=None)  # type: ignore[arg-type]
    runs: list[bool] = []

    async def stale_once(uow: UnitOfWork, locked: bool) -> str:
        runs.append(locked)
        if not locked:
            raise StaleAggregate("changed meanwhile")
        return "done"

    assert await lock_on_conflict(deps, stale_once) == "done"
    assert runs == [False, True]

    runs.clear()

    async def not_found(uow: UnitOfWork, locked: bool) -> str:
        runs.append(locked)
        raise PaymentNotFound()

    with pytest.raises(PaymentNotFound):
        await lock_on_conflict(deps, not_found)
    assert runs == [False]  # only a refused write is worth a second, locked, read


async def ready(deps: Deps) -> str:
    payment = await create_payment(
        CreatePayment(TENANT, "default", "Blue socks", 15000, order_id="order-0001"), deps
    )
    return payment.id


@pytest.mark.parametrize("uows", [True], indirect=True, ids=["optimistic"])
async def test_a_claim_raced_by_an_expiry_answers_as_a_locked_read_would_and_calls_no_one(
    racing: Deps, ids: IdsThatRace, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment_id = await ready(racing)
    key = toss.pay_in_window("order-0001", 15000)
    # The claim reads READY; before it commits, another process expires the payment.
    ids.arm("c", commit_elsewhere(store, payment_id, lambda p: p.expire(clock.now())))

    with pytest.raises(NotConfirmableStatus):
        await confirm_payment(ConfirmPayment(TENANT, key, "order-0001", 15000), racing)

    assert toss.calls == []
    after = store.payment(payment_id)
    assert (after.status, after.payment_key) == (PaymentStatus.EXPIRED, None)
    assert [a.type for a in store.audit_of(payment_id)] == ["payment.created"]


@pytest.mark.parametrize("uows", [True], indirect=True, ids=["optimistic"])
async def test_a_verdict_raced_by_a_webhook_leaves_the_webhooks_approval_as_it_is(
    racing: Deps, ids: IdsThatRace, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment_id = await ready(racing)
    key = toss.pay_in_window("order-0001", 15000)
    approval = Approval(key, PaymentStatus.DONE, PaymentMethod.CARD, clock.now())

    def after_the_call(call: GatewayCall) -> None:
        # Toss answered; before the verdict commits, a webhook's approval commits elsewhere.
        approve = commit_elsewhere(store, payment_id, lambda p: p.approve(approval, clock.now()))
        ids.arm("aud", approve)

    toss.on_call(after_the_call)
    confirmed = await confirm_payment(ConfirmPayment(TENANT, key, "order-0001", 15000), racing)

    assert confirmed.status is PaymentStatus.DONE
    after = store.payment(payment_id)
    assert after.status is PaymentStatus.DONE
    # The verdict's first run was refused whole; its locked run recorded the exchange once.
    assert [a.type for a in store.audit_of(payment_id)] == [
        "payment.created",
        "confirm.claimed",
        "pg.confirm",
    ]
    assert [e.type for e in store.events_of(payment_id)] == ["payment.created"]
