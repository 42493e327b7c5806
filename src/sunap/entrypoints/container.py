"""Everything the doors (HTTP and gRPC) are handed by bootstrap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sunap.application.deps import Deps
from sunap.application.payment_changes import PaymentChanges
from sunap.application.ports import ApiKeyStore, IdempotencyStore, WebhookInbox
from sunap.application.presenters import payment_resource
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
    # Committed payment changes, for WatchPayment: the same object the units of work report to.
    changes: PaymentChanges = field(default_factory=PaymentChanges)

    def resource(self, payment: Payment) -> dict[str, Any]:
        """The payment as a merchant sees it through either door, with its checkout link."""
        resource = payment_resource(payment, checkout_url=self.checkout_url(payment))
        if resource["checkout"] is not None:
            resource["checkout"]["clientKey"] = self.client_key
        return resource
