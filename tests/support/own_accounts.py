"""A tenant's own Toss account on a real database, as `sunap tenants set-toss` makes one: checked
and sealed (`seal_own_account`), then stored as the tenant's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.pg_accounts import SqlPgAccountStore
from sunap.adapters.system import SystemClock
from sunap.application.pg_accounts import seal_own_account
from sunap.application.secrets import SecretBox


async def give_own_account(engine: AsyncEngine, tenant_id: str, box: SecretBox) -> None:
    """The tenant's own account, with a test secret key of its own."""
    store = SqlPgAccountStore(engine)
    sealed = await seal_own_account(
        tenant_id,
        secret_key="test_sk_" + tenant_id,
        client_key=None,
        webhook_secret=None,
        store=store,
        box=box,
        now=SystemClock().now(),
        production=False,
    )
    await store.give_tenant_own_account(tenant_id, sealed)
