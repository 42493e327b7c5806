"""API keys, whichever door a call comes through: `authorization: Bearer <key>`; only a hash of
a key is stored; each key belongs to one tenant and carries scopes."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .errors import Forbidden, RateLimited, Unauthenticated
from .ports.api_keys import ApiKeyRecord

SCOPES = frozenset({"payments:read", "payments:write", "payments:cancel", "billing", "admin"})
KEY_PREFIX = "sk_sunap_"
# How long a running process trusts a key it found: a key deleted from the database works on
# for at most this long. Nothing else about a key (its tenant, scopes, id) ever changes.
REMEMBER_SECONDS = 5.0
REMEMBERED_KEYS = 4096


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


FINGERPRINT_LENGTH = 8


def key_fingerprint(key_hash: str) -> str:
    """What names a key to an operator without giving any of it away: the start of its stored
    hash, which anyone holding the key can recompute (`printf %s KEY | sha256sum | cut -c1-8`)
    and nobody can turn back into a key."""
    return key_hash[:FINGERPRINT_LENGTH]


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    tenant_name: str
    scopes: frozenset[str]


class KeyFinder:
    """Finds API keys by hash, remembering those it found for REMEMBER_SECONDS, so that most
    requests skip the look-up's round trip. A key not found is not remembered (one created a
    moment ago works at once), so unknown keys cannot fill it; at most REMEMBERED_KEYS are kept,
    the longest-remembered dropped first. What a tenant's new payments are made on moves with
    `set-toss` and is never part of it (ApiKeyStore.account_of)."""

    def __init__(
        self,
        find: Callable[[str], Awaitable[ApiKeyRecord | None]],
        *,
        seconds: float = REMEMBER_SECONDS,
        capacity: int = REMEMBERED_KEYS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError("A KeyFinder remembers at least one key.")
        self._find = find
        self._seconds = seconds
        self._capacity = capacity
        self._monotonic = monotonic
        self._found: dict[str, tuple[float, ApiKeyRecord]] = {}

    async def find_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        now = self._monotonic()
        remembered = self._found.get(key_hash)
        if remembered is not None and now - remembered[0] < self._seconds:
            return remembered[1]
        record = await self._find(key_hash)
        self._found.pop(key_hash, None)
        if record is not None:
            if len(self._found) >= self._capacity:
                del self._found[next(iter(self._found))]
            self._found[key_hash] = (now, record)
        return record


async def authenticate(
    api_keys: KeyFinder,
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
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"Too many requests with this API key; retry in {seconds} s.",
            retry_after_seconds=seconds,
        )
    if scope not in record.scopes and "admin" not in record.scopes:
        raise Forbidden(f"This API key lacks the '{scope}' scope.")
    return Principal(record.tenant_id, record.tenant_name, record.scopes)
