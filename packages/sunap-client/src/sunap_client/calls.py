"""What each operation sends, and when a failed attempt may be sent again. Shared by the sync and
the async client, which differ only in how they wait and send."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from .errors import OutcomeUnknown, ServiceUnavailable, SunapError, error_from_answer
from .models import RefundAccount

# Statuses worth a second attempt: over the rate limit, or Sunap or Toss unable to answer now.
# A keyed POST is safe to repeat: Sunap runs it at most once, and releases the key when the
# outcome was unknown, so the repeat resolves it (docs/api.md, "Idempotency").
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Another attempt is still running: the same request with this key, or a confirm of the payment
# whose outcome Sunap is still learning from Toss. Confirming again is safe: a payment already
# DONE with this paymentKey answers 200 with no second charge (docs/api.md, "Confirm rules").
RETRY_CODES = frozenset({"IDEMPOTENCY_KEY_IN_USE", "CONFIRM_IN_PROGRESS"})
FINAL_CODES = frozenset({"PG_MISMATCH"})  # a person must look: the same call will not help


# Body fields that are credentials or a customer's account: an authKey issues a billing key
# (once, to whoever sends it first); a refund account's number is the customer's. A call's
# repr, and so any log line or traceback that prints one, shows them masked; the API key is
# masked by httpx in its headers' repr.
SECRET_FIELDS = frozenset({"authKey", "accountNumber"})
MASK = "[REDACTED]"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Mapping[str, Any] | None = None
    params: Mapping[str, str | int] | None = None
    idempotency_key: str | None = None

    def headers(self) -> dict[str, str]:
        return {"Idempotency-Key": self.idempotency_key} if self.idempotency_key else {}

    def __repr__(self) -> str:
        body = _masked(self.json) if self.json is not None else None
        return (
            f"Call(method={self.method!r}, path={self.path!r}, json={body!r}, "
            f"params={self.params!r}, idempotency_key={self.idempotency_key!r})"
        )


def _masked(body: Mapping[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name, value in body.items():
        if name in SECRET_FIELDS:
            shown[name] = MASK
        elif isinstance(value, Mapping):  # a nested object may hold one too
            shown[name] = _masked(value)
        else:
            shown[name] = value
    return shown


@dataclass(frozen=True)
class RetryPolicy:
    """Up to `max_retries` more attempts, waiting `backoff` seconds, then twice that, …, or what
    the answer's Retry-After asks; an answer that asks for more than `max_wait` is not waited for."""

    max_retries: int = 2
    backoff: float = 0.5
    max_wait: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        if attempt >= self.max_retries:
            return None
        wait = retry_after if retry_after is not None else self.backoff * 2**attempt
        return wait if wait <= self.max_wait else None


NO_RETRIES = RetryPolicy(max_retries=0)


def _path(*parts: str) -> str:
    return "/v1/" + "/".join(quote(part, safe="") for part in parts)


def _key(given: str | None) -> str:
    """The caller's key, or a fresh one: kept for every attempt of this call."""
    return given if given is not None else str(uuid.uuid4())


def _without_none(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def create_payment(
    *,
    order_name: str,
    amount: int,
    order_id: str | None,
    currency: str | None,
    customer_key: str | None,
    method: str | None,
    success_url: str | None,
    fail_url: str | None,
    metadata: Mapping[str, Any] | None,
    idempotency_key: str | None,
) -> Call:
    body = _without_none(
        orderName=order_name,
        amount=amount,
        orderId=order_id,
        currency=currency,
        customerKey=customer_key,
        method=method,
        successUrl=success_url,
        failUrl=fail_url,
        metadata=dict(metadata) if metadata is not None else None,
    )
    return Call("POST", _path("payments"), json=body, idempotency_key=_key(idempotency_key))


def confirm_payment(
    *, payment_key: str, order_id: str, amount: int, idempotency_key: str | None
) -> Call:
    body = {"paymentKey": payment_key, "orderId": order_id, "amount": amount}
    return Call(
        "POST", _path("payments", "confirm"), json=body, idempotency_key=_key(idempotency_key)
    )


def get_payment(payment_id: str) -> Call:
    return Call("GET", _path("payments", payment_id))


def list_payments(
    *,
    order_id: str | None,
    customer_key: str | None,
    status: str | None,
    limit: int | None,
    cursor: str | None,
) -> Call:
    params = _without_none(
        orderId=order_id, customerKey=customer_key, status=status, limit=limit, cursor=cursor
    )
    return Call("GET", _path("payments"), params=params)


def cancel_payment(
    payment_id: str,
    *,
    cancel_reason: str,
    cancel_amount: int | None,
    tax_free_amount: int | None,
    refund_receive_account: RefundAccount | None,
    idempotency_key: str | None,
) -> Call:
    body = _without_none(
        cancelReason=cancel_reason,
        cancelAmount=cancel_amount,
        taxFreeAmount=tax_free_amount,
        refundReceiveAccount=(
            refund_receive_account.to_json() if refund_receive_account is not None else None
        ),
    )
    return Call(
        "POST",
        _path("payments", payment_id, "cancel"),
        json=body,
        idempotency_key=_key(idempotency_key),
    )


def payment_transactions(payment_id: str) -> Call:
    return Call("GET", _path("payments", payment_id, "transactions"))


# -- billing keys and subscriptions (docs/billing.md) -----------------------------------------


def issue_billing_key(*, auth_key: str, customer_key: str, idempotency_key: str | None) -> Call:
    body = {"authKey": auth_key, "customerKey": customer_key}
    return Call("POST", _path("billing-keys"), json=body, idempotency_key=_key(idempotency_key))


def get_billing_key(billing_key_id: str) -> Call:
    return Call("GET", _path("billing-keys", billing_key_id))


def list_billing_keys(
    *, customer_key: str | None, status: str | None, limit: int | None, cursor: str | None
) -> Call:
    params = _without_none(customerKey=customer_key, status=status, limit=limit, cursor=cursor)
    return Call("GET", _path("billing-keys"), params=params)


def delete_billing_key(billing_key_id: str) -> Call:
    # Safe to send again: Sunap asks for the same DELETE when Toss's answer was lost.
    return Call("DELETE", _path("billing-keys", billing_key_id))


def charge_billing_key(
    billing_key_id: str,
    *,
    order_name: str,
    amount: int,
    order_id: str | None,
    tax_free_amount: int | None,
    metadata: Mapping[str, Any] | None,
    idempotency_key: str | None,
) -> Call:
    body = _without_none(
        orderName=order_name,
        amount=amount,
        orderId=order_id,
        taxFreeAmount=tax_free_amount,
        metadata=dict(metadata) if metadata is not None else None,
    )
    return Call(
        "POST",
        _path("billing-keys", billing_key_id, "charges"),
        json=body,
        idempotency_key=_key(idempotency_key),
    )


def create_subscription(
    *,
    customer_key: str,
    billing_key_id: str,
    plan: str,
    order_name: str,
    amount: int,
    interval: str,
    interval_count: int | None,
    trial_days: int | None,
    metadata: Mapping[str, Any] | None,
    idempotency_key: str | None,
) -> Call:
    body = _without_none(
        customerKey=customer_key,
        billingKeyId=billing_key_id,
        plan=plan,
        orderName=order_name,
        amount=amount,
        interval=interval,
        intervalCount=interval_count,
        trialDays=trial_days,
        metadata=dict(metadata) if metadata is not None else None,
    )
    return Call("POST", _path("subscriptions"), json=body, idempotency_key=_key(idempotency_key))


def get_subscription(subscription_id: str) -> Call:
    return Call("GET", _path("subscriptions", subscription_id))


def list_subscriptions(
    *, customer_key: str | None, status: str | None, limit: int | None, cursor: str | None
) -> Call:
    params = _without_none(customerKey=customer_key, status=status, limit=limit, cursor=cursor)
    return Call("GET", _path("subscriptions"), params=params)


def subscription_payments(subscription_id: str, *, limit: int | None, cursor: str | None) -> Call:
    params = _without_none(limit=limit, cursor=cursor)
    return Call("GET", _path("subscriptions", subscription_id, "payments"), params=params)


def change_subscription(
    subscription_id: str,
    *,
    plan: str | None,
    amount: int | None,
    order_name: str | None,
    billing_key_id: str | None,
    metadata: Mapping[str, Any] | None,
) -> Call:
    # Setting fields is the same change however often it is sent, so it is retried without a
    # key (Sunap takes none on PATCH).
    body = _without_none(
        plan=plan,
        amount=amount,
        orderName=order_name,
        billingKeyId=billing_key_id,
        metadata=dict(metadata) if metadata is not None else None,
    )
    return Call("PATCH", _path("subscriptions", subscription_id), json=body)


def cancel_subscription(
    subscription_id: str,
    *,
    cancel_reason: str | None,
    at_period_end: bool,
    idempotency_key: str | None,
) -> Call:
    body = _without_none(cancelReason=cancel_reason, atPeriodEnd=at_period_end)
    return Call(
        "POST",
        _path("subscriptions", subscription_id, "cancel"),
        json=body,
        idempotency_key=_key(idempotency_key),
    )


def pause_subscription(subscription_id: str, *, idempotency_key: str | None) -> Call:
    return Call(
        "POST",
        _path("subscriptions", subscription_id, "pause"),
        idempotency_key=_key(idempotency_key),
    )


def resume_subscription(subscription_id: str, *, idempotency_key: str | None) -> Call:
    return Call(
        "POST",
        _path("subscriptions", subscription_id, "resume"),
        idempotency_key=_key(idempotency_key),
    )


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # absent, or an HTTP date: back off by the policy instead


def outcome(response: httpx.Response) -> Any:
    """The answer's JSON, or the error it stands for."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        return body
    error = error_from_answer(response.status_code, body, retry_after(response))
    error.replayed = response.headers.get("Idempotent-Replayed") == "true"
    raise error


def may_retry(error: SunapError) -> bool:
    # A replayed answer is the one Sunap keeps for the key (a charge's unknown outcome is kept so
    # that no retry charges again): sending it again only gets it again.
    if error.code in FINAL_CODES or error.replayed:
        return False
    return error.status is None or error.status in RETRY_STATUSES or error.code in RETRY_CODES


def no_answer(call: Call, cause: httpx.TransportError) -> SunapError:
    """No answer reached us: for a POST the outcome is unknown, never a failure."""
    message = f"no answer from Sunap ({type(cause).__name__}: {cause})"
    if call.method == "GET":
        return ServiceUnavailable("NO_ANSWER", message, None)
    return OutcomeUnknown("NO_ANSWER", message, None)
