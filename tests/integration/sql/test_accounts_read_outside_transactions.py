"""A tenant's own PG account is read from the database when its cached copy is stale. A use case
that asked for it while holding a transaction (and the payment's row lock) waited for a second
connection: with every pooled connection held that way, all of them waited on each other until
the pool timed out. Here the pool has one connection, so any such wait fails at once."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.crypto.fernet_box import FernetSecretBox, new_key
from sunap.adapters.sql.api_keys import SqlApiKeyStore
from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.pg_accounts import SqlPgAccountStore
from sunap.adapters.system import SystemClock
from sunap.application.billing_commands import ChargeBillingKey, IssueBillingKey
from sunap.application.billing_keys import charge_billing_key, issue_billing_key
from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.pg_accounts import (
    DEFAULT_PG_ACCOUNT,
    PgAccount,
    PgAccountDirectory,
)
from sunap.domain.payment import PaymentStatus
from tests.fakes.gateway import BILLING_CHARGE, CANCEL, CONFIRM, FakeGateway
from tests.support.databases import unique
from tests.support.own_accounts import give_own_account
from tests.support.sql_deps import deps_on

POOL_TIMEOUT_SECONDS = 3


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(
        database_url, pool_size=1, max_overflow=0, pool_timeout=POOL_TIMEOUT_SECONDS
    )
    yield engine
    await engine.dispose()


@dataclasses.dataclass
class OwnAccountShop:
    deps: Deps
    tenant_id: str
    toss: FakeGateway
    box: FernetSecretBox
    engine: AsyncEngine

    def with_cold_accounts(self) -> Deps:
        """A process that has not opened the tenant's account yet (or whose copy aged out)."""
        directory = PgAccountDirectory(
            PgAccount(DEFAULT_PG_ACCOUNT, "test_sk_default_of_this_test"),
            SqlPgAccountStore(self.engine),
            self.box,
            lambda _account: self.toss,
        )
        return dataclasses.replace(self.deps, accounts=directory)


@pytest.fixture
async def shop(one_connection: AsyncEngine) -> OwnAccountShop:
    box = FernetSecretBox([new_key().encode()])
    tenant_id = await SqlApiKeyStore(one_connection).ensure_tenant(unique("shop"), unique("tnt"))
    await give_own_account(one_connection, tenant_id, box)
    toss = FakeGateway(SystemClock())
    deps = deps_on(one_connection, toss, box)  # its accounts: replaced by a cold one each step
    return OwnAccountShop(deps, tenant_id, toss, box, one_connection)


async def test_confirm_and_cancel_on_a_cold_own_account_need_one_connection(
    shop: OwnAccountShop,
) -> None:
    made = await create_payment(
        CreatePayment(shop.tenant_id, shop.tenant_id, "Coffee beans 1kg", 15000),
        shop.with_cold_accounts(),
    )
    payment_key = shop.toss.pay_in_window(made.order_id, 15000)

    confirmed = await confirm_payment(
        ConfirmPayment(shop.tenant_id, payment_key, made.order_id, 15000),
        shop.with_cold_accounts(),
    )
    assert confirmed.status is PaymentStatus.DONE
    assert len(shop.toss.applied_of(CONFIRM)) == 1

    canceled = await cancel_payment(
        CancelPayment(shop.tenant_id, made.id, "customer changed their mind", amount=5000),
        shop.with_cold_accounts(),
    )
    assert canceled.status is PaymentStatus.PARTIAL_CANCELED
    assert canceled.balance_amount == 10000
    assert len(shop.toss.applied_of(CANCEL)) == 1


async def test_billing_charge_on_a_cold_own_account_needs_one_connection(
    shop: OwnAccountShop,
) -> None:
    auth_key = shop.toss.register_card("customer-1")
    key = await issue_billing_key(
        IssueBillingKey(shop.tenant_id, shop.tenant_id, auth_key, "customer-1"),
        shop.with_cold_accounts(),
    )

    charged = await charge_billing_key(
        ChargeBillingKey(shop.tenant_id, key.id, "Monthly beans", 9900),
        shop.with_cold_accounts(),
    )
    assert charged.status is PaymentStatus.DONE
    assert len(shop.toss.applied_of(BILLING_CHARGE)) == 1
