"""API keys, whichever door a call comes through: `authorization: Bearer <key>`; only a hash of
a key is stored; each key belongs to one tenant and carries scopes."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .errors import Forbidden, RateLimited, Unauthenticated
from .ports import ApiKeyStore

SCOPES = frozenset({"payments:read", "payments:write", "payments:cancel", "billing", "admin"})
KEY_PREFIX = "sk_sunap_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    tenant_name: str
    scopes: frozenset[str]
    pg_account_id: str  # the PG account the tenant's new payments are made on


async def authenticate(
    api_keys: ApiKeyStore,
    authorization: str | None,
    scope: str,
    rate_limit: Callable[[str], float] | None = None,
) -> Principal:
    """The caller behind an `authorization` value, if its key has `scope` (or `admin`) and,
    with `rate_limit` (the seconds a key id must wait, 0 to go on), requests left."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("Send an API key as 'Authorization: Bearer <key>'.")
    record = await api_keys.find_by_hash(hash_api_key(key.strip()))
    if record is None:
        raise Unauthenticated("Unknown API key.")
    # Right after authentication: a refused request claims no idempotency key and runs nothing.
    if rate_limit is not None and (wait := rate_limit(record.key_id)):
        raise RateLimited(
            "Too many requests with this API key; retry after the time in Retry-After.",
            retry_after_seconds=max(1, math.ceil(wait)),
        )
    if scope not in record.scopes and "admin" not in record.scopes:
        raise Forbidden(f"This API key lacks the '{scope}' scope.")
    return Principal(record.tenant_id, record.tenant_name, record.scopes, record.pg_account_id)
