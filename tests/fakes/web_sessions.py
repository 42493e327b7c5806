"""An in-memory dashboard session store that keeps the SQL one's promises: sessions are read
with their API key's current tenant and scopes, and vanish with the key."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sunap.application.ports.api_keys import ApiKeyRecord
from sunap.application.web_sessions import NewWebSession, WebSession


class InMemoryWebSessions:
    def __init__(self) -> None:
        self.keys: dict[str, ApiKeyRecord] = {}
        # A tenant's PG account, as the tenants table holds it; absent: the default account.
        self.accounts: dict[str, str] = {}
        self.rows: dict[str, dict[str, object]] = {}
        self.touches = 0

    def add_key(self, key: ApiKeyRecord) -> None:
        self.keys[key.key_id] = key

    async def add(self, session: NewWebSession) -> None:
        self.rows[session.id] = dataclasses.asdict(session) | {"last_seen_at": session.created_at}

    async def find(self, session_id: str) -> WebSession | None:
        row = self.rows.get(session_id)
        key = None if row is None else self.keys.get(str(row["api_key_id"]))
        if row is None or key is None:
            return None
        return WebSession(
            id=session_id,
            api_key_id=key.key_id,
            tenant_id=key.tenant_id,
            tenant_name=key.tenant_name,
            pg_account_id=self.accounts.get(key.tenant_id, "default"),
            scopes=key.scopes,
            csrf_token=str(row["csrf_token"]),
            created_at=_at(row["created_at"]),
            last_seen_at=_at(row["last_seen_at"]),
            expires_at=_at(row["expires_at"]),
        )

    async def touch(self, session_id: str, now: datetime) -> None:
        self.touches += 1
        self.rows[session_id]["last_seen_at"] = now

    async def remove(self, session_id: str) -> None:
        self.rows.pop(session_id, None)

    async def remove_expired(self, now: datetime, idle_since: datetime) -> int:
        gone = [
            sid
            for sid, row in self.rows.items()
            if _at(row["expires_at"]) <= now or _at(row["last_seen_at"]) <= idle_since
        ]
        for sid in gone:
            del self.rows[sid]
        return len(gone)


def _at(value: object) -> datetime:
    assert isinstance(value, datetime)
    return value
