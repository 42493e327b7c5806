"""sunap-toss: a typed client for the Toss Payments Core API v1, sync and async.

The stable surface: `TossClient(secret_key=..., base_url=...)`, its `confirm(...)` returning a
`Payment` whose `.status` is `"DONE"`, and `cancel(payment_key=..., cancel_reason=...,
cancel_amount=None)`; `AsyncTossClient` is the same with `await`.
"""

from .breaker import BreakerState, CircuitBreaker
from .client import DEFAULT_BASE_URL, AsyncTossClient, TossClient
from .errors import (
    Exchange,
    TossAlreadyProcessed,
    TossDeclined,
    TossError,
    TossMisconfigured,
    TossNotFound,
    TossUnknown,
)
from .models import (
    Billing,
    Cancel,
    CashReceipt,
    CashReceiptPage,
    Payment,
    Settlement,
    Transaction,
)
from .requests import RefundReceiveAccount
from .retry import Jitter, RetryPolicy
from .transport import TossTimeouts, basic_auth_header

__all__ = [
    "DEFAULT_BASE_URL",
    "AsyncTossClient",
    "Billing",
    "BreakerState",
    "Cancel",
    "CashReceipt",
    "CashReceiptPage",
    "CircuitBreaker",
    "Exchange",
    "Jitter",
    "Payment",
    "RefundReceiveAccount",
    "RetryPolicy",
    "Settlement",
    "TossAlreadyProcessed",
    "TossClient",
    "TossDeclined",
    "TossError",
    "TossMisconfigured",
    "TossNotFound",
    "TossTimeouts",
    "TossUnknown",
    "Transaction",
    "basic_auth_header",
]
