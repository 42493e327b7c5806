"""Everything the HTTP layer is handed by bootstrap. Routes reach it through `request.app.state`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import Request

from sunap.application.deps import Deps
from sunap.application.ports import ApiKeyStore, IdempotencyStore, WebhookInbox
from sunap.domain.payment import Payment


@dataclass
class Container:
    deps: Deps
    api_keys: ApiKeyStore
    idempotency: IdempotencyStore
    webhooks: WebhookInbox
    is_ready: Callable[[], Awaitable[bool]]
    checkout_url: Callable[[Payment], str | None] = lambda _payment: None
    client_key: str | None = None
    webhook_secrets: list[str] = field(default_factory=list)


def container_of(request: Request) -> Container:
    container = request.app.state.container
    assert isinstance(container, Container)
    return container
