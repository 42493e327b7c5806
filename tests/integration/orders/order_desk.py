"""Everything the order.placed handler needs, on a real database: a tenant of the test's own,
the SQL stores, and ways to write orders and count the payments they made."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.crypto.fernet_box import FernetSecretBox, new_key
from sunap.adapters.sql.api_keys import SqlApiKeyStore
from sunap.adapters.sql.consumed_messages import SqlConsumedMessages
from sunap.adapters.sql.tables import consumed_messages, outbox, payments
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.system import RandomIds, SystemClock
from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.deps import Deps
from sunap.application.envelope import EnvelopeFactory
from sunap.application.order_placed import SUBSCRIBER
from sunap.application.ports.messaging import InboundMessage
from tests.fakes.accounts import OneGatewayAccounts
from tests.fakes.gateway import FakeGateway
from tests.support.databases import unique
from tests.support.own_accounts import give_own_account as give_tenant_account

TOPIC = "commerce.order.placed"


@dataclass(frozen=True)
class OrderDesk:
    engine: AsyncEngine
    deps: Deps
    tenants: SqlApiKeyStore
    consumed: SqlConsumedMessages
    tenant: str  # the tenant's name, as order events carry it
    tenant_id: str

    def order(self, order_id: str | None = None, **fields: Any) -> dict[str, Any]:
        order = {
            "orderId": order_id or unique("order"),
            "orderName": "Coffee beans 1kg",
            "amount": 15000,
            "currency": "KRW",
            "customerKey": "cust-1",
            "tenant": self.tenant,
        }
        order.update(fields)
        return order

    def message(
        self, body: dict[str, Any] | bytes, message_id: str | None = None
    ) -> InboundMessage:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return InboundMessage(TOPIC, raw, message_id or str(uuid.uuid4()))

    async def payments_for(
        self, order_id: str, tenant_id: str | None = None
    ) -> list[dict[str, Any]]:
        stmt = select(payments).where(
            payments.c.tenant_id == (tenant_id or self.tenant_id), payments.c.order_id == order_id
        )
        async with self.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(stmt)).mappings()]

    async def events_for(self, payment_id: str) -> list[str]:
        stmt = select(outbox.c.type).where(outbox.c.aggregateid == payment_id)
        async with self.engine.connect() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def recorded(self, message_key: str) -> dict[str, Any] | None:
        stmt = select(consumed_messages).where(
            consumed_messages.c.subscriber == SUBSCRIBER,
            consumed_messages.c.message_key == message_key,
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return dict(row) if row else None

    async def payment_count(self) -> int:
        stmt = select(func.count()).where(payments.c.tenant_id == self.tenant_id)
        async with self.engine.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())


def deps_on(engine: AsyncEngine) -> Deps:
    clock, ids = SystemClock(), RandomIds()
    return Deps(
        uow=sql_unit_of_work_factory(engine, EnvelopeFactory(ids, clock)),
        accounts=OneGatewayAccounts(FakeGateway(clock)),
        clock=clock,
        ids=ids,
        webhook_format=TossWebhooks(),
    )


async def open_order_desk(engine: AsyncEngine, tenant: str | None = None) -> OrderDesk:
    tenants = SqlApiKeyStore(engine)
    name = tenant or unique("shop")
    tenant_id = await tenants.ensure_tenant(name, unique("tnt"))
    return OrderDesk(engine, deps_on(engine), tenants, SqlConsumedMessages(engine), name, tenant_id)


async def give_own_account(desk: OrderDesk) -> None:
    """The tenant gets a Toss account of its own (sealed with a throwaway key)."""
    await give_tenant_account(desk.engine, desk.tenant_id, FernetSecretBox([new_key().encode()]))
