"""The one table that turns a Toss error answer into one of our gateway outcomes.

Refusals are an allowlist: only codes listed here may mark money as failed.
Toss adds codes without versioning, so anything unlisted — and every 5xx, 429 or unparseable
body — is UNKNOWN: the payment stays in doubt and is resolved by looking it up.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class Operation(enum.StrEnum):
    CONFIRM = "confirm"
    LOOKUP = "lookup"
    CANCEL = "cancel"
    BILLING_ISSUE = "billing.issue"
    BILLING_CHARGE = "billing.charge"
    BILLING_DELETE = "billing.delete"
    KEY_IN = "key_in"
    VIRTUAL_ACCOUNT = "virtual_account"
    TRANSACTIONS = "transactions"
    SETTLEMENTS = "settlements"
    CASH_RECEIPT = "cash_receipt"


class Verdict(enum.StrEnum):
    """The outcome of one answer; the values are GatewayExchange.outcome."""

    DECLINED = "declined"
    UNKNOWN = "unknown"
    ALREADY_PROCESSED = "already_processed"
    NOT_FOUND = "not_found"
    MISCONFIGURED = "misconfigured"


# Our key or our request is wrong: alert someone, touch no money.
_MISCONFIGURED = frozenset(
    {
        "UNAUTHORIZED_KEY",
        "INVALID_API_KEY",
        "INCORRECT_BASIC_AUTH_FORMAT",
        "INVALID_IDEMPOTENCY_KEY",
        "INVALID_TEST_CODE",
        "INVALID_REQUEST",
        "NOT_FOUND_TERMINAL_ID",
        "INVALID_UNREGISTERED_SUBMALL",
        "NOT_REGISTERED_BUSINESS",
        "API_VERSION_UPDATE_NEEDED",
    }
)

# The issuer, the bank or Toss's risk engine said no to taking this money
# (https://docs.tosspayments.com/reference/error-codes).
_APPROVAL_REFUSALS = frozenset(
    {
        "REJECT_CARD_PAYMENT",
        "REJECT_CARD_COMPANY",
        "REJECT_ACCOUNT_PAYMENT",
        "REJECT_TOSSPAY_INVALID_ACCOUNT",
        "INVALID_REJECT_CARD",
        "INVALID_STOPPED_CARD",
        "INVALID_CARD_EXPIRATION",
        "INVALID_CARD_LOST_OR_STOLEN",
        "INVALID_CARD_NUMBER",
        "INVALID_CARD_INSTALLMENT_PLAN",
        "INVALID_PASSWORD",
        "INVALID_AUTHORIZE_AUTH",
        "INVALID_ACCOUNT_INFO_RE_REGISTER",
        "EXCEED_MAX_CARD_INSTALLMENT_PLAN",
        "EXCEED_MAX_DAILY_PAYMENT_COUNT",
        "EXCEED_MAX_PAYMENT_AMOUNT",
        "EXCEED_MAX_ONE_DAY_WITHDRAW_AMOUNT",
        "EXCEED_MAX_ONE_TIME_WITHDRAW_AMOUNT",
        "EXCEED_MAX_AMOUNT",
        "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT",
        "EXCEED_MAX_AUTH_COUNT",
        "EXCEED_MAX_ONE_DAY_AMOUNT",
        "BELOW_MINIMUM_AMOUNT",
        "NOT_ALLOWED_POINT_USE",
        "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT",
        "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN",
        "RESTRICTED_TRANSFER_ACCOUNT",
        "FDS_ERROR",
        "NOT_FOUND_PAYMENT_SESSION",
        "PAY_PROCESS_CANCELED",
        "PAY_PROCESS_ABORTED",
    }
)

# Toss refused to refund; the balance is unchanged.
_CANCEL_REFUSALS = frozenset(
    {
        "INVALID_REFUND_ACCOUNT_INFO",
        "INVALID_REFUND_ACCOUNT_NUMBER",
        "INVALID_BANK",
        "EXCEED_CANCEL_AMOUNT_DISCOUNT_AMOUNT",
        "NOT_MATCHES_REFUNDABLE_AMOUNT",
        "REFUND_REJECTED",
        "FORBIDDEN_BANK_REFUND_REQUEST",
        "NOT_CANCELABLE_AMOUNT",
        "NOT_CANCELABLE_PAYMENT",
        "NOT_CANCELABLE_PAYMENT_FOR_DORMANT_USER",
        "EXCEED_MAX_REFUND_DUE",
        "EXCEED_CANCEL_LIMIT",
        "EXCEED_MAX_REFUND_AMOUNT",
        "NOT_ALLOWED_PARTIAL_REFUND",
        "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT",
    }
)

_BILLING_ISSUE_REFUSALS = _APPROVAL_REFUSALS | {
    "INVALID_BILLING_AUTH",
    "INVALID_BILL_KEY_REQUEST",
    "INVALID_CUSTOMER_KEY",
    "INVALID_CARD_IDENTITY",
    "INVALID_CARD_PASSWORD",
    "INVALID_BIRTH_DAY_FORMAT",
    "NOT_SUPPORTED_CARD_TYPE",
    "NOT_REGISTERED_CARD_COMPANY",
    "NOT_SUPPORTED_METHOD",
}

_BILLING_CHARGE_REFUSALS = _APPROVAL_REFUSALS | {
    "NOT_MATCHES_CUSTOMER_KEY",
    "INVALID_BILL_KEY_REQUEST",
    "INVALID_CUSTOMER_KEY",
}


_VIRTUAL_ACCOUNT_REFUSALS = frozenset(
    {
        "INVALID_BANK",
        "EXCEED_MAX_VALID_HOURS",
        "EXCEED_MAX_DUE_DATE",
        "INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE",
        "INVALID_VIRTUAL_ACCOUNT_TYPE",
        "REQUIRED_ACCOUNT_KEY",
        "NOT_AVAILABLE_BANK",
        "BELOW_MINIMUM_AMOUNT",
    }
)

_QUERY_REFUSALS = frozenset(
    {"INVALID_DATE", "INVALID_ISO_DATE_FORMAT", "EXCEED_MAX_QUERY_LIMIT", "INVALID_PAGING_KEY"}
)


def _table(
    *,
    declined: frozenset[str] = frozenset(),
    already_processed: frozenset[str] = frozenset(),
    not_found: frozenset[str] = frozenset(),
) -> Mapping[str, Verdict]:
    rows = dict.fromkeys(_MISCONFIGURED, Verdict.MISCONFIGURED)
    rows |= dict.fromkeys(declined, Verdict.DECLINED)
    rows |= dict.fromkeys(already_processed, Verdict.ALREADY_PROCESSED)
    rows |= dict.fromkeys(not_found, Verdict.NOT_FOUND)
    return rows


_NOT_FOUND_PAYMENT = frozenset({"NOT_FOUND_PAYMENT", "NOT_FOUND"})
_SESSION_GONE = frozenset({"NOT_FOUND_PAYMENT_SESSION"})

TABLE: Mapping[Operation, Mapping[str, Verdict]] = {
    Operation.CONFIRM: _table(
        declined=_APPROVAL_REFUSALS - _SESSION_GONE,
        already_processed=frozenset({"ALREADY_PROCESSED_PAYMENT"}),
        # The paymentKey is unknown, or its window session expired: nothing was approved, and
        # the order may be paid again with a new window.
        not_found=_NOT_FOUND_PAYMENT | _SESSION_GONE,
    ),
    Operation.LOOKUP: _table(not_found=_NOT_FOUND_PAYMENT),
    Operation.CANCEL: _table(
        declined=_CANCEL_REFUSALS,
        # On a retry these usually mean our own earlier cancel went through: look it up.
        already_processed=frozenset({"ALREADY_CANCELED_PAYMENT", "ALREADY_REFUND_PAYMENT"}),
        not_found=_NOT_FOUND_PAYMENT,
    ),
    Operation.BILLING_ISSUE: _table(declined=_BILLING_ISSUE_REFUSALS),
    Operation.BILLING_CHARGE: _table(
        declined=_BILLING_CHARGE_REFUSALS,
        already_processed=frozenset({"ALREADY_PROCESSED_PAYMENT", "DUPLICATED_ORDER_ID"}),
        not_found=frozenset({"NOT_FOUND_BILLING"}),
    ),
    Operation.BILLING_DELETE: _table(not_found=frozenset({"NOT_FOUND_BILLING", "NOT_FOUND"})),
    Operation.KEY_IN: _table(
        declined=_APPROVAL_REFUSALS | {"NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT"},
        already_processed=frozenset({"ALREADY_PROCESSED_PAYMENT", "DUPLICATED_ORDER_ID"}),
    ),
    Operation.VIRTUAL_ACCOUNT: _table(
        declined=_VIRTUAL_ACCOUNT_REFUSALS,
        already_processed=frozenset({"ALREADY_PROCESSED_PAYMENT", "DUPLICATED_ORDER_ID"}),
    ),
    # Reports move no money: a refusal is our request being wrong.
    Operation.TRANSACTIONS: _table(declined=_QUERY_REFUSALS),
    Operation.SETTLEMENTS: _table(declined=_QUERY_REFUSALS, not_found=_NOT_FOUND_PAYMENT),
    Operation.CASH_RECEIPT: _table(
        declined=frozenset({"NTS_ERROR", "INVALID_CASH_RECEIPT_TYPE", "NOT_CANCELABLE_AMOUNT"}),
        already_processed=frozenset({"DUPLICATED_CASH_RECEIPT"}),
        not_found=frozenset({"NOT_FOUND", "NOT_FOUND_CASH_RECEIPT"}),
    ),
}

# Answers that say "not now" rather than "no": the same request may be sent again, same key
# (Toss's retry guidance: https://docs.tosspayments.com/reference/error-codes, and docs/toss.md
# "Retry guidance"). PROVIDER_ERROR is a card company's or bank's passing failure.
RETRYABLE_CODES = frozenset(
    {"IDEMPOTENT_REQUEST_PROCESSING", "FORBIDDEN_CONSECUTIVE_REQUEST", "PROVIDER_ERROR"}
)

# Toss processes only the first of two cancels of one payment within a second and refuses the
# rest with this code (https://docs.tosspayments.com/guides/v2/cancel-payment): wait a second.
CONSECUTIVE_REQUEST = "FORBIDDEN_CONSECUTIVE_REQUEST"
IN_PROCESS = "IDEMPOTENT_REQUEST_PROCESSING"


def classify(operation: Operation, status: int, code: str | None) -> Verdict:
    """The verdict for an error answer (status >= 400) of `operation`."""
    if status >= 500 or status == 429 or code is None:
        return Verdict.UNKNOWN
    return TABLE[operation].get(code, Verdict.UNKNOWN)


def says_nothing_was_done(status: int, code: str | None) -> bool:
    """A 429, or Toss still processing this key's first request, or refusing a second cancel
    too soon: this attempt was not applied, whatever kind of request it was."""
    return status == 429 or code in (IN_PROCESS, CONSECUTIVE_REQUEST)


def is_retryable_answer(status: int, code: str | None) -> bool:
    """A 5xx, a 429 or a 'still processing / too fast' answer: worth another try, same key."""
    return status >= 500 or status == 429 or code in RETRYABLE_CODES
