"""The Toss Payments adapter: Sunap's PaymentGateway on top of the `sunap_toss` client.
Toss's vocabulary (Korean method names, codes, wire fields) stays here and in that package."""

from sunap_toss import (
    BreakerState,
    CircuitBreaker,
    Jitter,
    RetryPolicy,
    TossTimeouts,
    basic_auth_header,
)

from .gateway import TossGateway, build_toss_gateway, open_toss_gateway

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "Jitter",
    "RetryPolicy",
    "TossGateway",
    "TossTimeouts",
    "basic_auth_header",
    "build_toss_gateway",
    "open_toss_gateway",
]
