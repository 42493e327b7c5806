"""The Toss Payments adapter: Toss's vocabulary (Korean method names, codes, wire fields) stays here."""

from .api import TossTimeouts
from .breaker import BreakerState, CircuitBreaker
from .gateway import TossGateway, basic_auth_header, build_toss_gateway, open_toss_gateway
from .retry import Jitter, RetryPolicy

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
