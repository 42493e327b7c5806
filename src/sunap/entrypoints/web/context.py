"""Everything the web pages are handed by bootstrap. Routes reach it through `request.app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from sunap.application.checkout_links import CheckoutLinks
from sunap.application.dashboard_queries import DashboardQueries
from sunap.application.deps import Deps
from sunap.application.ports.api_keys import ApiKeyStore
from sunap.application.ports.idempotency import IdempotencyStore
from sunap.application.ports.webhook_inbox import WebhookInbox
from sunap.application.web_sessions import WebSessionStore
from sunap.entrypoints.rate_limit import Limiter, RateLimiter

# The window's returns of one payment that may each call Toss's confirm: a burst, then one every
# five seconds. A payment's link (even an expired one) is all it takes to send one, with any
# made-up paymentKey. Counted in this process's memory.
CHECKOUT_CONFIRMS_BURST = 10
CHECKOUT_CONFIRMS_PER_SECOND = 0.2


@dataclass(frozen=True)
class WebContext:
    deps: Deps
    api_keys: ApiKeyStore
    sessions: WebSessionStore
    queries: DashboardQueries
    webhooks: WebhookInbox
    idempotency: IdempotencyStore
    public_url: str  # where customers' browsers reach this service, no trailing slash
    links: CheckoutLinks  # signs and checks the checkout links (bootstrap._checkout_links)
    # The embedded sandbox's payment window, under public_url; None when Toss itself is used.
    sandbox_path: str | None = None
    checkout_confirms: Limiter = field(
        default_factory=lambda: RateLimiter(CHECKOUT_CONFIRMS_PER_SECOND, CHECKOUT_CONFIRMS_BURST)
    )

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


def web_of(request: Request) -> WebContext:
    web = request.app.state.web
    assert isinstance(web, WebContext)
    return web
