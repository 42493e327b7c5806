"""WatchPayment's change feed (application/payment_changes.py) with the in-memory unit of work:
changes this process commits wake watchers through the post-commit hook; changes other
processes commit, through one look at the versions of the watched payments."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.payment_changes import PaymentChanges, catch_up, watch_payment
from sunap.domain.errors import PaymentNotFound
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore, InMemoryUnitOfWorkFactory

S = PaymentStatus
TENANT = "tenant_a"


class StoreVersions:
    """PaymentVersions over the in-memory store, counting the looks."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.asked: list[list[str]] = []

    async def current(self, payment_ids: Sequence[str]) -> dict[str, int]:
        self.asked.append(sorted(payment_ids))
        return {
            i: self._store.payments[i].version for i in payment_ids if i in self._store.payments
        }


class Watcher:
    """One WatchPayment stream, run as a task; `seen` is every status it sent."""

    def __init__(self, deps: Deps, changes: PaymentChanges, payment_id: str, tenant: str = TENANT):
        self.seen: list[S] = []
        self._sent = asyncio.Event()
        self.task = asyncio.create_task(self._run(deps, changes, payment_id, tenant))

    async def _run(self, deps: Deps, changes: PaymentChanges, payment_id: str, tenant: str) -> None:
        async for payment in watch_payment(tenant, payment_id, deps, changes):
            self.seen.append(payment.status)
            self._sent.set()

    async def sent_first(self) -> None:
        await asyncio.wait_for(self._sent.wait(), timeout=5)

    async def ended(self) -> list[S]:
        await asyncio.wait_for(self.task, timeout=5)
        return self.seen


@pytest.fixture
def changes() -> PaymentChanges:
    return PaymentChanges()


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


async def pay(deps: Deps, toss: FakeGateway) -> Payment:
    key = toss.pay_in_window("order-0001", 15000)
    command = ConfirmPayment(tenant_id=TENANT, payment_key=key, order_id="order-0001", amount=15000)
    return await confirm_payment(command, deps)


async def cancel(deps: Deps, payment: Payment, amount: int | None = None) -> Payment:
    command = CancelPayment(tenant_id=TENANT, payment_id=payment.id, reason="r", amount=amount)
    return await cancel_payment(command, deps)


def without_in_progress(statuses: list[S]) -> list[S]:
    # A confirm commits IN_PROGRESS before it calls the PG; a watcher may or may not see it.
    return [s for s in statuses if s is not S.IN_PROGRESS]


async def test_a_watch_sends_the_payment_then_each_committed_change_and_ends_once_final(
    deps: Deps,
    toss: FakeGateway,
    uows: InMemoryUnitOfWorkFactory,
    changes: PaymentChanges,
    ready: Payment,
) -> None:
    uows.on_commit = changes.committed
    watcher = Watcher(deps, changes, ready.id)
    await watcher.sent_first()

    await pay(deps, toss)
    await asyncio.sleep(0)
    await cancel(deps, ready, 5000)
    await asyncio.sleep(0)
    await cancel(deps, ready)

    seen = await watcher.ended()
    assert without_in_progress(seen) == [S.READY, S.DONE, S.PARTIAL_CANCELED, S.CANCELED]
    assert changes.watched() == {}


async def test_a_final_payment_is_sent_once_and_the_watch_ends(
    deps: Deps, changes: PaymentChanges, ready: Payment
) -> None:
    await cancel(deps, ready)
    assert await Watcher(deps, changes, ready.id).ended() == [S.CANCELED]


async def test_another_tenants_payment_cannot_be_watched(
    deps: Deps, changes: PaymentChanges, ready: Payment
) -> None:
    watcher = Watcher(deps, changes, ready.id, tenant="tenant_b")
    with pytest.raises(PaymentNotFound):
        await watcher.ended()
    assert changes.watched() == {}


async def test_a_change_committed_by_another_process_reaches_every_watcher_with_one_look(
    deps: Deps, store: InMemoryStore, changes: PaymentChanges, ready: Payment
) -> None:
    # No post-commit hook: for this process, the cancel below is another process's commit.
    versions = StoreVersions(store)
    other = await create_payment(
        CreatePayment(
            tenant_id=TENANT,
            pg_account_id="default",
            order_name="x",
            amount=1000,
            order_id="order-0002",
        ),
        deps,
    )
    watchers = [Watcher(deps, changes, ready.id) for _ in range(3)]
    watchers.append(Watcher(deps, changes, other.id))
    for watcher in watchers:
        await watcher.sent_first()

    assert await catch_up(changes, versions) == 0  # nothing moved yet
    await cancel(deps, ready)
    assert await catch_up(changes, versions) == 1

    for watcher in watchers[:3]:
        assert await watcher.ended() == [S.READY, S.CANCELED]
    assert versions.asked == [sorted([ready.id, other.id])] * 2
    watchers[3].task.cancel()


async def test_waiting_watchers_read_nothing_and_with_none_the_look_asks_nothing(
    deps: Deps,
    store: InMemoryStore,
    uows: InMemoryUnitOfWorkFactory,
    changes: PaymentChanges,
    ready: Payment,
) -> None:
    versions = StoreVersions(store)
    assert await catch_up(changes, versions) == 0
    assert versions.asked == []

    watchers = [Watcher(deps, changes, ready.id) for _ in range(200)]
    for watcher in watchers:
        await watcher.sent_first()
    reads = len(uows.created)
    for _ in range(10):
        await catch_up(changes, versions)
        await asyncio.sleep(0)
    assert len(uows.created) == reads  # no watcher read the database while nothing changed
    assert versions.asked == [[ready.id]] * 10  # one look for all 200

    for watcher in watchers:
        watcher.task.cancel()
    await asyncio.gather(*(w.task for w in watchers), return_exceptions=True)
    assert changes.watched() == {}
    await catch_up(changes, versions)
    assert len(versions.asked) == 10
