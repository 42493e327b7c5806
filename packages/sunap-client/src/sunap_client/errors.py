"""Sunap's error answers as exceptions: one base, `SunapError`, with the API's `code`, the HTTP
`status` and the `message`; one subclass per family of statuses, so a caller catches what it can
act on (`PaymentRejected` to tell the customer, `OutcomeUnknown` to retry later, …) and the rest
by the base."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .models import Payment, Subscription

Resource = TypeVar("Resource")


class SunapError(Exception):
    """An answer that is not a success. `status` is None when no answer came at all.

    `replayed`: Sunap answered with what it keeps for this Idempotency-Key (`Idempotent-Replayed:
    true`), so the same call with the same key gets this answer again."""

    def __init__(
        self, code: str, message: str, status: int | None, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}" if status is None else f"{status} {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.body: dict[str, Any] = body or {}
        self.replayed = False

    @property
    def payment(self) -> Payment | None:
        """The payment the answer carries, as it stood then: the refused one (402), or the charge
        whose outcome is unknown (502/504, `IN_PROGRESS`: read it again with its id)."""
        return self._resource("payment", Payment.from_json)

    @property
    def subscription(self) -> Subscription | None:
        """The subscription a create answered with: `CANCELED` with `cancel_reason`
        `FIRST_CHARGE_FAILED` when its first charge was refused (402), `INCOMPLETE` while that
        charge's outcome is unknown (502/504)."""
        return self._resource("subscription", Subscription.from_json)

    def _resource(
        self, name: str, parse: Callable[[Mapping[str, Any]], Resource]
    ) -> Resource | None:
        data = self.body.get(name)
        if not isinstance(data, Mapping):
            return None
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError):
            return None  # not the resource's shape: `body` still has it as it came


class InvalidRequest(SunapError):
    """400 or 413: the request was refused as it is (bad field, amount mismatch, …); nothing
    changed. Sending it again unchanged gets the same answer."""


class Unauthorized(SunapError):
    """401: no API key, or a key Sunap does not know."""


class Forbidden(SunapError):
    """403: the key lacks the scope this call needs."""


class NotFound(SunapError):
    """404: no such payment for this tenant (another tenant's looks the same)."""


class PaymentRejected(SunapError):
    """402 PG_REJECTED: Toss refused; `pg_code` and `pg_message` say why."""

    @property
    def pg_code(self) -> str | None:
        return self.body.get("pgCode")

    @property
    def pg_message(self) -> str | None:
        return self.body.get("pgMessage")


class Conflict(SunapError):
    """409: the payment's state forbids the call now (duplicate orderId, already processed, not
    cancelable, a confirm or a request with this Idempotency-Key still running)."""


class Unprocessable(SunapError):
    """422: a well-formed request the payment cannot take (`EXCEEDS_BALANCE`), or an
    Idempotency-Key reused with another body (`IDEMPOTENCY_KEY_REUSED`)."""


class RateLimited(SunapError):
    """429: over the key's rate limit; nothing was executed. `retry_after` is in seconds."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int | None,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code, message, status, body)
        self.retry_after = retry_after


class OutcomeUnknown(SunapError):
    """The outcome is not known: Toss did not answer in time (504 `PG_TIMEOUT`), could not be
    reached (502 `PG_UNAVAILABLE`), or no answer reached us at all (status None). The payment may
    still go through: read it again, or repeat the call with the same Idempotency-Key. Never
    treat it as a refusal."""


class PaymentNeedsReview(SunapError):
    """502 PG_MISMATCH: Toss's record disagrees with Sunap's; the payment is flagged for a
    person to review. Retrying does not help."""


class ServiceUnavailable(SunapError):
    """503 and other 5xx: Sunap cannot serve just now (its database is unreachable, …)."""


_BY_STATUS: dict[int, type[SunapError]] = {
    400: InvalidRequest,
    413: InvalidRequest,
    401: Unauthorized,
    402: PaymentRejected,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
    429: RateLimited,
    502: OutcomeUnknown,
    504: OutcomeUnknown,
}


def error_from_answer(status: int, body: Any, retry_after: float | None = None) -> SunapError:
    """The exception for a non-2xx answer; a body that is not `{code, message}` still gives one."""
    fields: dict[str, Any] = body if isinstance(body, dict) else {}
    code = str(fields.get("code") or f"HTTP_{status}")
    message = str(fields.get("message") or "no message")
    if status == 502 and code == "PG_MISMATCH":
        return PaymentNeedsReview(code, message, status, fields)
    family = _BY_STATUS.get(status, ServiceUnavailable if status >= 500 else SunapError)
    if family is RateLimited:
        return RateLimited(code, message, status, fields, retry_after)
    return family(code, message, status, fields)
