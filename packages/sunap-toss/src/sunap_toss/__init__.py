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
    WireError,
)
from .requests import RefundReceiveAccount
from .retry import Jitter, RetryPolicy
from .transport import TossTimeouts, basic_auth_header
from .webhooks import (
    BillingDeleted,
    CancelStatusChanged,
    DepositCallback,
    OtherEvent,
    PaymentStatusChanged,
    WebhookEvent,
    parse_webhook,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "AsyncTossClient",
    "Billing",
    "BillingDeleted",
    "BreakerState",
    "Cancel",
    "CancelStatusChanged",
    "CashReceipt",
    "CashReceiptPage",
    "CircuitBreaker",
    "DepositCallback",
    "Exchange",
    "Jitter",
    "OtherEvent",
    "Payment",
    "PaymentStatusChanged",
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
    "WebhookEvent",
    "WireError",
    "basic_auth_header",
    "parse_webhook",
]
