"""Everything the HTTP layer is handed by bootstrap. Routes reach it through `request.app.state`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from sunap.application.deps import Deps
from sunap.application.pg_accounts import PgAccountStore
from sunap.application.ports import ApiKeyStore, IdempotencyStore, WebhookInbox
from sunap.domain.payment import Payment


@dataclass
class Container:
    deps: Deps
    api_keys: ApiKeyStore
    idempotency: IdempotencyStore
    webhooks: WebhookInbox
    pg_accounts: PgAccountStore
    is_ready: Callable[[], Awaitable[bool]]
    checkout_url: Callable[[Payment], str | None] = lambda _payment: None


def container_of(request: Request) -> Container:
    container = request.app.state.container
    assert isinstance(container, Container)
    return container
