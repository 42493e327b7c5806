"""Idempotency-Key on every POST (shared/API.md): replay byte for byte, 422 on another body,
409 while the first is running. Transient and unknown outcomes are not stored, so a retry with
the same key runs again and, for a confirm, resolves what happened."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import Request, Response

from sunap.application.ports import ClaimOutcome, StoredResponse

from .auth import Principal
from .container import container_of
from .errors import ApiError

MAX_KEY_LENGTH = 300
# A holder that has not finished within this long is presumed dead; its key may be taken over.
LOCK_TIMEOUT = timedelta(seconds=90)
# Answers that say "try again", not "this is what happened".
NOT_STORED_CODES = frozenset({"INVALID_REQUEST", "CONFIRM_IN_PROGRESS", "CONCURRENT_UPDATE"})


def _valid_key(key: str) -> bool:
    return 1 <= len(key) <= MAX_KEY_LENGTH and all(33 <= ord(c) <= 126 or c == " " for c in key)


async def fingerprint(request: Request) -> str:
    raw = await request.body()
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = raw.decode("latin-1")
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{request.method} {request.url.path} {digest}"


def _storable(response: Response) -> bool:
    if response.status_code >= 500:
        return False
    try:
        code = json.loads(bytes(response.body)).get("code")
    except (ValueError, AttributeError):
        return True
    return code not in NOT_STORED_CODES


async def respond_idempotently(
    request: Request, principal: Principal, execute: Callable[[], Awaitable[Response]]
) -> Response:
    key = request.headers.get("idempotency-key")
    if key is None:
        return await execute()
    if not _valid_key(key):
        raise ApiError(
            400, "INVALID_REQUEST", "Idempotency-Key must be 1–300 printable ASCII characters."
        )
    container = container_of(request)
    store = container.idempotency
    now = container.deps.clock.now()
    claim = await store.claim(
        principal.tenant_id, key, await fingerprint(request), now, now + LOCK_TIMEOUT
    )
    if claim.outcome is ClaimOutcome.MISMATCH:
        raise ApiError(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was used with another request body or path.",
        )
    if claim.outcome is ClaimOutcome.IN_FLIGHT:
        raise ApiError(
            409,
            "IDEMPOTENCY_KEY_IN_USE",
            "A request with this Idempotency-Key is still running; retry shortly.",
            headers={"Retry-After": "1"},
        )
    if claim.outcome is ClaimOutcome.REPLAY:
        assert claim.response is not None
        return Response(
            content=claim.response.body,
            status_code=claim.response.status_code,
            media_type=claim.response.content_type,
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = await execute()
    except BaseException:
        await store.release(principal.tenant_id, key)
        raise
    if _storable(response):
        await store.finish(
            principal.tenant_id,
            key,
            StoredResponse(response.status_code, bytes(response.body), "application/json"),
        )
    else:
        await store.release(principal.tenant_id, key)
    return response
