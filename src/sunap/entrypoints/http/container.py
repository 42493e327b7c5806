"""Everything the HTTP layer is handed by bootstrap. Routes reach it through `request.app.state`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from sunap.application.deps import Deps
from sunap.application.pg_accounts import PgAccountStore
from sunap.application.ports import ApiKeyStore, IdempotencyStore, WebhookInbox
from sunap.domain.payment import Payment
from sunap.entrypoints.rate_limit import RateLimiter


@dataclass
class Container:
    deps: Deps
    api_keys: ApiKeyStore
    idempotency: IdempotencyStore
    webhooks: WebhookInbox
    pg_accounts: PgAccountStore
    is_ready: Callable[[], Awaitable[bool]]
    checkout_url: Callable[[Payment], str | None] = lambda _payment: None
    rate_limiter: RateLimiter | None = None  # None: no rate limit
    metrics_token: str | None = None  # None: /metrics is open
    # Whether an exception means the database cannot be reached (503) rather than a bug (500).
    is_outage: Callable[[BaseException], bool] = lambda _error: False


def container_of(request: Request) -> Container:
    container = request.app.state.container
    assert isinstance(container, Container)
    return container
