from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.direct import _Asyncpg
from sunap.application.billing_commands import IssueBillingKey
from sunap.application.billing_keys import issue_billing_key
from sunap.application.deps import Deps
from tests.fakes.gateway import FakeGateway
from tests.support.databases import *  # noqa: F403
from tests.support.databases import unique
from tests.support.sql_deps import shop_on_its_own_account


@pytest.fixture
async def shop(engine: AsyncEngine) -> tuple[Deps, FakeGateway, str, str]:
    """A tenant with its own Toss books (the fake's) and one customer's billing key:
    (deps, toss, tenant id, billing key id)."""
    deps, toss, tenant_id = await shop_on_its_own_account(engine)
    customer = unique("cust")
    key = await issue_billing_key(
        IssueBillingKey(tenant_id, tenant_id, toss.register_card(customer), customer),
        deps,
    )
    return deps, toss, tenant_id, key.id


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement asyncpg is given, BEGIN, COMMIT and ROLLBACK included."""
    seen: list[str] = []
    for name in ("fetch", "execute"):
        original = getattr(_Asyncpg, name)

        async def spy(self: Any, sql: str, args: Any, _original: Any = original) -> Any:
            seen.append(sql.strip())
            return await _original(self, sql, args)

        monkeypatch.setattr(_Asyncpg, name, spy)
    for name in ("begin", "commit", "rollback"):
        original = getattr(_Asyncpg, name)

        async def spy_tx(self: Any, _original: Any = original, _name: str = name) -> None:
            seen.append(_name.upper())
            await _original(self)

        monkeypatch.setattr(_Asyncpg, name, spy_tx)
    return seen
