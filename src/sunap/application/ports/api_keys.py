"""API keys and the tenants they belong to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    tenant_id: str
    tenant_name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class TenantRef:
    id: str
    pg_account_id: str  # where the tenant's new payments are made


class ApiKeyStore(Protocol):
    async def ensure_tenant(self, name: str, new_id: str) -> str:
        """The tenant's id, creating the tenant if it is new."""
        ...

    async def add_key(
        self, *, key_id: str, tenant_id: str, key_hash: str, scopes: frozenset[str], now: datetime
    ) -> None: ...

    async def find_by_hash(self, key_hash: str) -> ApiKeyRecord | None: ...

    async def account_of(self, tenant_id: str) -> str:
        """The PG account the tenant's new payments are made on (it moves with `set-toss`)."""
        ...

    async def tenant_id_by_name(self, name: str) -> str | None: ...

    async def find_tenant(self, name: str) -> TenantRef | None: ...
