"""The use cases' dependencies on a real database, with the fake Toss answering for every
account: what the integration tests of billing and PG accounts run on."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.crypto.fernet_box import FernetSecretBox, new_key
from sunap.adapters.sql.api_keys import SqlApiKeyStore
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
from tests.support.databases import unique
from tests.support.own_accounts import give_own_account


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


async def shop_on_its_own_account(engine: AsyncEngine) -> tuple[Deps, FakeGateway, str]:
    """A new tenant with its own Toss books (the fake's, numbering its paymentKeys from 1, which
    no other test's account holds): (deps, toss, tenant id)."""
    box = FernetSecretBox([new_key().encode()])
    tenant_id = await SqlApiKeyStore(engine).ensure_tenant(unique("shop"), unique("tnt"))
    await give_own_account(engine, tenant_id, box)
    toss = FakeGateway(SystemClock())
    return deps_on(engine, toss, box), toss, tenant_id
