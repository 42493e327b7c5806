"""A create under an Idempotency-Key whose answer could not be kept (the database refused the key's
finish just after the payment was committed, so the key was let go) is sent again under the same
key: it is answered by the payment it made, never by a second READY payment, through either door.

The fault is where the audit found it, in the idempotency store's `finish`; the store is the real
SQL one otherwise, on a real database, and everything else is the service's own code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
import httpx
import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.crypto.fernet_box import FernetSecretBox, new_key
from sunap.adapters.sql.api_keys import SqlApiKeyStore
from sunap.adapters.sql.idempotency import SqlIdempotencyStore
from sunap.adapters.sql.pg_accounts import SqlPgAccountStore
from sunap.adapters.sql.webhook_inbox import SqlWebhookInbox
from sunap.adapters.system import SystemClock
from sunap.application.authentication import hash_api_key
from sunap.application.commands import CreatePayment
from sunap.application.create_payment import REQUEST_SUBJECT, create_payment
from sunap.application.idempotency import IdempotentCall
from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT
from sunap.application.ports.idempotency import IdempotencyClaim, StoredResponse
from sunap.application.ports.payments import PaymentQuery
from sunap.entrypoints.container import Container
from sunap.entrypoints.grpc.server import GrpcServer
from sunap.entrypoints.http.app import create_app
from sunap.entrypoints.metrics import Metrics
from sunap.v1 import payments_pb2 as pb
from sunap.v1 import payments_pb2_grpc as pb_grpc
from tests.fakes.gateway import FakeGateway
from tests.support.databases import unique
from tests.support.sql_deps import deps_on

MUG = {"orderName": "Blue mug", "amount": 15000}
# What a create answered: (the refusal's code or None, the payment's id and orderId or None).
Answer = tuple[str | None, tuple[str, str] | None]


class FinishLost:
    """The SQL idempotency store, but the next `finish` is refused as by a database that went away
    at that instant: the payment is committed, its answer is not kept, the key is let go."""

    def __init__(self, store: SqlIdempotencyStore) -> None:
        self._store = store
        self.refuse_next_finish = False
        self.let_go = asyncio.Event()  # set once a claim has been released

    async def claim(
        self, tenant_id: str, key: str, fingerprint: str, now: datetime, lock_until: datetime
    ) -> IdempotencyClaim:
        return await self._store.claim(tenant_id, key, fingerprint, now, lock_until)

    async def finish(self, tenant_id: str, key: str, response: StoredResponse) -> None:
        if self.refuse_next_finish:
            self.refuse_next_finish = False
            raise OperationalError("UPDATE idempotency_keys", None, ConnectionResetError())
        await self._store.finish(tenant_id, key, response)

    async def release(self, tenant_id: str, key: str, held_until: datetime | None = None) -> None:
        await self._store.release(tenant_id, key, held_until)
        self.let_go.set()


@dataclass
class Doors:
    """The service's doors onto one real database, and a way to open a new tenant's."""

    store: FinishLost
    container: Container
    http: httpx.AsyncClient
    grpc: pb_grpc.PaymentServiceStub

    async def tenant(self) -> tuple[str, str]:
        """A new tenant and its API key: (tenant id, key)."""
        api_keys = self.container.api_keys
        tenant_id = await api_keys.ensure_tenant(unique("shop"), unique("ten"))
        secret = f"sk_sunap_{unique('key')}"
        await api_keys.add_key(
            key_id=unique("key"),
            tenant_id=tenant_id,
            key_hash=hash_api_key(secret),
            scopes=frozenset({"payments:write", "payments:read"}),
            now=SystemClock().now(),
        )
        return tenant_id, secret

    def create(self, door: str, secret: str) -> Callable[[str, dict[str, Any]], Awaitable[Answer]]:
        return (self._over_http if door == "http" else self._over_grpc)(secret)

    def _over_http(self, secret: str) -> Callable[[str, dict[str, Any]], Awaitable[Answer]]:
        async def create(key: str, body: dict[str, Any]) -> Answer:
            headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": key}
            answer = await self.http.post("/v1/payments", json=body, headers=headers)
            if answer.status_code != 201:
                return answer.json().get("code", str(answer.status_code)), None
            return None, (answer.json()["id"], answer.json()["orderId"])

        return create

    def _over_grpc(self, secret: str) -> Callable[[str, dict[str, Any]], Awaitable[Answer]]:
        async def create(key: str, body: dict[str, Any]) -> Answer:
            request = pb.CreatePaymentRequest(
                order_name=body["orderName"], amount=body["amount"], order_id=body.get("orderId")
            )
            metadata = (("authorization", f"Bearer {secret}"), ("idempotency-key", key))
            try:
                made = await self.grpc.CreatePayment(request, metadata=metadata)
            except grpc.aio.AioRpcError as refused:
                trailing = dict(refused.trailing_metadata() or ())
                return str(trailing.get("sunap-error-code", refused.code().name)), None
            return None, (made.id, made.order_id)

        return create


class _NoVersions:
    async def current(self, payment_ids: object) -> dict[str, int]:
        return {}


@pytest.fixture
async def doors(engine: AsyncEngine) -> AsyncIterator[Doors]:
    box = FernetSecretBox([new_key().encode()])
    store = FinishLost(SqlIdempotencyStore(engine))

    async def ready() -> bool:
        return True

    container = Container(
        deps=deps_on(engine, FakeGateway(SystemClock()), box),
        api_keys=SqlApiKeyStore(engine),
        idempotency=store,
        webhooks=SqlWebhookInbox(engine),
        pg_accounts=SqlPgAccountStore(engine),
        is_ready=ready,
    )
    server = GrpcServer(
        container, _NoVersions(), Metrics(), host="127.0.0.1", port=0, poll_seconds=0.1
    )
    port = await server.start()
    transport = httpx.ASGITransport(app=create_app(container, Metrics()))
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://sunap.test") as http,
            grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
        ):
            yield Doors(store, container, http, pb_grpc.PaymentServiceStub(channel))
    finally:
        await server.stop()


async def answer_lost(create: Callable[[], Awaitable[Answer]], store: FinishLost) -> None:
    """The create runs, its answer is lost with the database, and its key is let go (in the
    background, once the store answers again), as a client's retry would then find it."""
    store.refuse_next_finish, store.let_go = True, asyncio.Event()
    lost = await create()
    assert lost[1] is None  # the client got no payment
    await asyncio.wait_for(store.let_go.wait(), timeout=10)


async def payments_of(doors: Doors, tenant_id: str) -> list[tuple[str, str]]:
    async with doors.container.deps.uow() as uow:
        page = await uow.payments.list(tenant_id, PaymentQuery(limit=100))
    return [(p.id, p.order_id) for p in page.items]


@pytest.mark.parametrize("door", ["http", "grpc"])
@pytest.mark.parametrize("order_id", [False, True], ids=["minted-orderId", "merchants-orderId"])
async def test_a_create_sent_again_after_its_answer_was_lost_is_the_same_payment(
    doors: Doors, door: str, order_id: bool
) -> None:
    tenant_id, secret = await doors.tenant()
    create = doors.create(door, secret)
    body = {**MUG, "orderId": unique("order")} if order_id else MUG
    await answer_lost(lambda: create("create-1", body), doors.store)
    [made] = await payments_of(doors, tenant_id)  # made all the same

    again = await create("create-1", body)

    assert again == (None, made)
    assert await payments_of(doors, tenant_id) == [made]
    assert await create("create-1", body) == (None, made)  # kept now: replayed
    assert await payments_of(doors, tenant_id) == [made]


async def test_the_same_request_through_the_other_door_is_the_same_payment(
    doors: Doors,
) -> None:
    tenant_id, secret = await doors.tenant()
    await answer_lost(lambda: doors.create("http", secret)("create-3", MUG), doors.store)
    [made] = await payments_of(doors, tenant_id)

    assert await doors.create("grpc", secret)("create-3", MUG) == (None, made)
    assert await payments_of(doors, tenant_id) == [made]


async def test_another_request_under_a_let_go_key_is_refused_not_answered_with_the_payment(
    doors: Doors,
) -> None:
    tenant_id, secret = await doors.tenant()
    create = doors.create("http", secret)
    await answer_lost(lambda: create("create-2", MUG), doors.store)
    [made] = await payments_of(doors, tenant_id)

    other = await create("create-2", {**MUG, "amount": 16000})

    assert other == ("IDEMPOTENCY_KEY_REUSED", None)
    assert await payments_of(doors, tenant_id) == [made]


async def test_the_same_key_in_two_tenants_makes_two_payments(doors: Doors) -> None:
    (first, first_secret), (second, second_secret) = await doors.tenant(), await doors.tenant()

    one = await doors.create("http", first_secret)("the-same-key", MUG)
    two = await doors.create("grpc", second_secret)("the-same-key", MUG)

    assert one[1] is not None and two[1] is not None
    assert one[1][0] != two[1][0] and one[1][1] != two[1][1]
    assert await payments_of(doors, first) == [one[1]]
    assert await payments_of(doors, second) == [two[1]]


@pytest.mark.parametrize("order_id", [False, True], ids=["minted-orderId", "merchants-orderId"])
async def test_the_same_request_run_twice_at_once_is_one_payment_answered_to_both(
    doors: Doors, order_id: bool
) -> None:
    """Two runs of one keyed create at once (the key's holder lapsed while it still ran): both
    find nothing, both insert under the same name; the one refused by the other's row is
    answered with that payment, not a 500 nor DUPLICATE_ORDER_ID."""
    tenant_id, _ = await doors.tenant()
    command = CreatePayment(
        tenant_id=tenant_id,
        pg_account_id=DEFAULT_PG_ACCOUNT,
        order_name="Blue mug",
        amount=15000,
        order_id=unique("order") if order_id else None,
        request_key=IdempotentCall(tenant_id, "create-at-once", "").request_key(REQUEST_SUBJECT),
    )
    deps = doors.container.deps

    answers = await asyncio.gather(*(create_payment(command, deps) for _ in range(4)))

    made = await payments_of(doors, tenant_id)
    assert len(made) == 1
    assert {(a.id, a.order_id) for a in answers} == set(made)
