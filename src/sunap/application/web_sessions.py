"""Dashboard sessions: opened with an API key, kept on the server, ended by idleness, age or
sign-out.

The browser holds only a random token; the store keeps its SHA-256, so a copy of the table opens
no session. Each session has its own CSRF token, which every form of the dashboard carries. The
session names the API key it was opened with, and the store reads that key's tenant and scopes
on every request, so a changed key changes what an open session may do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .ports.api_keys import ApiKeyRecord

IDLE_TIMEOUT = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
# How stale last_seen_at may get before a request writes it again: not one write per page view.
TOUCH_EVERY = timedelta(minutes=1)
# Scopes that may open the dashboard at all; others (write-only keys) are refused at sign-in.
DASHBOARD_SCOPES = frozenset({"admin", "payments:read"})


@dataclass(frozen=True)
class WebSession:
    id: str  # the SHA-256 of the browser's token
    api_key_id: str
    tenant_id: str
    tenant_name: str
    pg_account_id: str  # where the tenant's new payments are made
    scopes: frozenset[str]
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute end, however active the session is

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


@dataclass(frozen=True)
class NewWebSession:
    id: str
    api_key_id: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class WebSessionStore(Protocol):
    async def add(self, session: NewWebSession) -> None: ...

    async def find(self, session_id: str) -> WebSession | None:
        """The session with its key's tenant and current scopes; None if it or its key is gone."""
        ...

    async def touch(self, session_id: str, now: datetime) -> None: ...

    async def remove(self, session_id: str) -> None: ...

    async def remove_expired(self, now: datetime, idle_since: datetime) -> int:
        """Forget sessions past their end or idle since before `idle_since`."""
        ...


def may_open_dashboard(key: ApiKeyRecord) -> bool:
    return bool(key.scopes & DASHBOARD_SCOPES)


def session_id_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(store: WebSessionStore, key: ApiKeyRecord, now: datetime) -> str:
    """A new session for the key's tenant; returns the token for the browser's cookie."""
    await store.remove_expired(now, now - IDLE_TIMEOUT)
    token = secrets.token_urlsafe(32)
    await store.add(
        NewWebSession(
            id=session_id_of(token),
            api_key_id=key.key_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    return token


async def resume_session(store: WebSessionStore, token: str, now: datetime) -> WebSession | None:
    """The live session the token names, or None (unknown, idle too long, or too old)."""
    if not token or len(token) > 100:
        return None
    session = await store.find(session_id_of(token))
    if session is None:
        return None
    if session.expires_at <= now or session.last_seen_at + IDLE_TIMEOUT <= now:
        await store.remove(session.id)
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        await store.touch(session.id, now)
    return session


def csrf_matches(session: WebSession, submitted: str | None) -> bool:
    return submitted is not None and hmac.compare_digest(
        submitted.encode(), session.csrf_token.encode()
    )
