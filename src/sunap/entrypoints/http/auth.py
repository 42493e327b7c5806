"""API keys over HTTP: the `Authorization` header, checked before the body is read."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from sunap.application import log_context
from sunap.application.authentication import Principal
from sunap.application.authentication import authenticate as authenticate_key

from .container import container_of


async def authenticate(request: Request, scope: str) -> Principal:
    container = container_of(request)
    limiter = container.rate_limiter
    principal = await authenticate_key(
        container.keys,
        request.headers.get("authorization"),
        scope,
        limiter.take if limiter is not None else None,
    )
    log_context.bind(tenant=principal.tenant_id)
    return principal


@dataclass(frozen=True)
class Requires:
    """A route dependency: the caller's API key, which must carry `scope`. A `StrictRoute` checks
    it itself, before FastAPI solves the route's other parameters (so 401/403 come before any
    complaint about the body); any other route has FastAPI run it, first as well."""

    scope: str

    async def __call__(self, request: Request) -> Principal:
        return await authenticate(request, self.scope)


def requires(scope: str) -> Requires:
    return Requires(scope)
