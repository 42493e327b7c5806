"""PG accounts for unit and integration tests: every account speaks through the gateway given."""

from __future__ import annotations

from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT, PgAccount
from sunap.application.ports.gateway import PaymentGateway


class OneGatewayAccounts:
    """The default account and any other id map to `gateway`, unless `others` names one."""

    def __init__(
        self, gateway: PaymentGateway, others: dict[str, PaymentGateway] | None = None
    ) -> None:
        self._gateway = gateway
        self._others = dict(others or {})

    async def account(self, account_id: str) -> PgAccount:
        return PgAccount(account_id, f"test_sk_{account_id}", f"test_ck_{account_id}")

    async def gateway(self, account_id: str) -> PaymentGateway:
        return self._others.get(account_id, self._gateway)

    def gateway_at_hand(self, account_id: str) -> PaymentGateway | None:
        return self._others.get(account_id, self._gateway)


class NoOwnAccounts:
    """A PgAccountStore in which no tenant has an account of its own."""

    async def get(self, account_id: str) -> None:
        return None

    async def give_tenant_own_account(self, tenant_id: str, account: object) -> None:
        raise NotImplementedError("no tenant gets an account of its own here")

    async def tenants(self) -> list[object]:
        return []

    async def own_account_of(self, tenant_name: str) -> None:
        return None

    async def tenant_of_account(self, account_id: str) -> None:
        return None

    async def own_accounts(self) -> list[object]:
        return []


__all__ = ["DEFAULT_PG_ACCOUNT", "NoOwnAccounts", "OneGatewayAccounts"]
