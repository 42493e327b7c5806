"""PG accounts for unit and integration tests: every account speaks through the gateway given."""

from __future__ import annotations

from sunap.application.gateway import PaymentGateway
from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT, PgAccount


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


__all__ = ["DEFAULT_PG_ACCOUNT", "OneGatewayAccounts"]
