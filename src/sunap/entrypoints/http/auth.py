"""API keys over HTTP: the `Authorization` header, checked before the body is read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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


def requires(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A route dependency: FastAPI runs it before validating the body, so 401/403 come first."""

    async def dependency(request: Request) -> Principal:
        return await authenticate(request, scope)

    return dependency
