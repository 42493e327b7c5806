"""API keys: `Authorization: Bearer <key>`; only a hash is stored; scopes per key."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from .container import container_of
from .errors import ApiError

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
    pg_account_id: str


async def authenticate(request: Request, scope: str) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "UNAUTHORIZED", "Send an API key as 'Authorization: Bearer <key>'.")
    container = container_of(request)
    record = await container.api_keys.find_by_hash(hash_api_key(key.strip()))
    if record is None:
        raise ApiError(401, "UNAUTHORIZED", "Unknown API key.")
    # Right after authentication: a refused request claims no idempotency key and runs nothing.
    if container.rate_limiter is not None and (wait := container.rate_limiter.take(record.key_id)):
        raise ApiError(
            429,
            "RATE_LIMITED",
            "Too many requests with this API key; retry after the time in Retry-After.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    if scope not in record.scopes and "admin" not in record.scopes:
        raise ApiError(403, "FORBIDDEN", f"This API key lacks the '{scope}' scope.")
    return Principal(record.tenant_id, record.tenant_name, record.scopes, record.pg_account_id)


def requires(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A route dependency: FastAPI runs it before validating the body, so 401/403 come first."""

    async def dependency(request: Request) -> Principal:
        return await authenticate(request, scope)

    return dependency
