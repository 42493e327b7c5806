"""Everything the doors (HTTP and gRPC) are handed by bootstrap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sunap.application.authentication import KeyFinder
from sunap.application.deps import Deps
from sunap.application.errors import QuarantinedPayment, UnknownPgAccount
from sunap.application.payment_changes import PaymentChanges
from sunap.application.pg_accounts import PgAccountStore
from sunap.application.ports.api_keys import ApiKeyStore
from sunap.application.ports.idempotency import IdempotencyStore
from sunap.application.ports.webhook_inbox import WebhookInbox
from sunap.application.presenters import payment_resource
from sunap.application.schema_fit import SchemaFit
from sunap.domain.payment import Payment
from sunap.entrypoints.patient_check import READINESS_SECONDS
from sunap.entrypoints.rate_limit import Limiter


@dataclass
class Container:
    deps: Deps
    api_keys: ApiKeyStore
    idempotency: IdempotencyStore
    webhooks: WebhookInbox
    pg_accounts: PgAccountStore
    is_ready: Callable[[], Awaitable[bool]]  # the database answers
    # How the database's schema fits this release (`sunap migrate` ran, or a later release's);
    # answers None when it cannot tell. None: not checked.
    schema_fit: Callable[[], Awaitable[SchemaFit | None]] | None = None
    checkout_url: Callable[[Payment], str | None] = lambda _payment: None
    rate_limiter: Limiter | None = None  # None: no rate limit
    metrics_token: str | None = None  # None: /metrics is open
    # Whether an exception means the database cannot be reached (503) rather than a bug (500).
    is_outage: Callable[[BaseException], bool] = lambda _error: False
    # Committed payment changes, for WatchPayment: the same object the units of work report to.
    changes: PaymentChanges = field(default_factory=PaymentChanges)
    # /readyz's broker check: `ok`, `failing` or `unreachable` (adapters/brokers/reachability);
    # None when events go to the log (no broker).
    broker_state: Callable[[], Awaitable[str]] | None = None
    # Brings the backlog gauges (outbox, review queue) up to date before /metrics is read.
    measure_backlog: Callable[[], Awaitable[None]] | None = None
    # /readyz answers within this many seconds, whatever the database and the broker do
    # (SUNAP_READINESS_TIMEOUT_SECONDS); the checks above are bounded by it in bootstrap.
    readiness_seconds: float = READINESS_SECONDS
    # The doors authenticate through this: found keys remembered a few seconds.
    keys: KeyFinder = field(init=False)

    def __post_init__(self) -> None:
        self.keys = KeyFinder(self.api_keys.find_by_hash)

    async def resource(self, payment: Payment) -> dict[str, Any]:
        """The payment as a merchant sees it through either door, with its checkout link and the
        client key of the PG account it is made on."""
        resource = payment_resource(payment, checkout_url=self.checkout_url(payment))
        if resource["checkout"] is not None:
            try:
                account = await self.deps.accounts.account(payment.pg_account_id)
            except (UnknownPgAccount, QuarantinedPayment):  # nothing may be sent: no page
                resource["checkout"] = None
            else:
                resource["checkout"]["clientKey"] = account.client_key
        return resource
