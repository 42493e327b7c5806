"""The use cases' dependencies on a real database, with the fake Toss answering for every
account: what the integration tests of billing and PG accounts run on."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.pg_accounts import SqlPgAccountStore
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.system import RandomIds, SystemClock
from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.billing_policy import BillingPolicy
from sunap.application.deps import Deps
from sunap.application.envelope import EnvelopeFactory
from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT, PgAccount, PgAccountDirectory
from sunap.application.secrets import SecretBox
from tests.fakes.gateway import FakeGateway


def deps_on(engine: AsyncEngine, toss: FakeGateway, box: SecretBox) -> Deps:
    clock, ids = SystemClock(), RandomIds()
    return Deps(
        uow=sql_unit_of_work_factory(engine, EnvelopeFactory(ids, clock)),
        accounts=PgAccountDirectory(
            PgAccount(DEFAULT_PG_ACCOUNT, "test_sk_default_of_this_test"),
            SqlPgAccountStore(engine),
            box,
            lambda _account: toss,
        ),
        clock=clock,
        ids=ids,
        webhook_format=TossWebhooks(),
        billing=BillingPolicy(box=box),
    )
