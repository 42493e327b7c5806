"""Every behaviour of the sandbox that Toss's documentation leaves open (docs/toss.md,
Where Toss's docs are silent), decided in one place.

Each constant is one choice; change it here and the whole sandbox follows. Nothing else in the
package hard-codes a guess about Toss.
"""

from __future__ import annotations

# The mId shown on every payment and billing key, whichever account's books hold it.
MERCHANT_ID = "tvivarepublica"
# Toss refuses a secret key it does not know. The sandbox lets every test secret key in: keys
# never registered with POST /sandbox/accounts share one set of books (the default account), so
# any client works with no setup. False: an unregistered key is refused with UNAUTHORIZED_KEY.
UNREGISTERED_KEYS_SHARE_DEFAULT_BOOKS = True
API_VERSION = "2022-11-16"

# Confirm with an unknown paymentKey: Toss's docs hesitate between NOT_FOUND_PAYMENT and
# NOT_FOUND_PAYMENT_SESSION; the brief asks for NOT_FOUND_PAYMENT on any unknown key.
CONFIRM_UNKNOWN_PAYMENT_CODE = "NOT_FOUND_PAYMENT"
# Confirm of a payment whose window expired (EXPIRED) or was never authenticated (READY).
CONFIRM_EXPIRED_SESSION_CODE = "NOT_FOUND_PAYMENT_SESSION"
# Confirm whose amount or orderId differs from the authenticated session. No source names the
# code; the payment stays IN_PROGRESS so a corrected confirm can still succeed.
CONFIRM_MISMATCH_CODE = "INVALID_REQUEST"
# An orderId that is not 6-64 of [A-Za-z0-9-_=].
BAD_ORDER_ID_CODE = "INVALID_REQUEST"

# Whether the last partial cancel that brings the balance to 0 reports CANCELED (True) or stays
# PARTIAL_CANCELED with balanceAmount 0 as one doc example shows (False).
ZERO_BALANCE_IS_CANCELED = True
# refundStatus of a paid virtual account right after a cancel (Toss refunds on cancel-day + 2).
REFUND_STATUS_AFTER_CANCEL = "PENDING"
# Cancelling a paid virtual account without refundReceiveAccount.
MISSING_REFUND_ACCOUNT_CODE = "INVALID_REQUEST"
# A cancel whose taxFreeAmount is more than the payment's tax-free part still left: Toss's code
# for an amount that cannot be cancelled (403 "취소 할 수 없는 금액 입니다."); no source names it.
TAX_FREE_OVER_WHAT_IS_LEFT_CODE = "NOT_CANCELABLE_AMOUNT"
# Toss says only that a cancel's taxFreeAmount defaults to 0, not what becomes of a tax-free part
# larger than the balance a cancel leaves. The sandbox keeps the tax-free part at most the balance:
# a full cancel takes all of it (its cancels[] entry shows it), and a partial cancel that names
# less than that (or none) takes the rest, so suppliedAmount and vat are never negative.

# Whether a READY payment is visible through GET /v1/payments/... (docs/toss.md, Endpoints Sunap calls).
READY_IS_VISIBLE = True
# `method` is null while READY and once EXPIRED; shown from IN_PROGRESS on (the window fixed it).
METHOD_SHOWN_WHILE_IN_PROGRESS = True

# Idempotency: an error answered by the operation itself is stored and replayed like a success.
CACHE_ERROR_ANSWERS = True
# A fault injected with /sandbox/faults stands for a failure *before* Toss processed the call, so
# its answer is not stored: a retry with the same key runs for real. (afterApply faults store the
# real answer, which the retry then receives: the answer-was-lost case.)
CACHE_FAULT_ANSWERS = False

# Unknown or already used authKey at /v1/billing/authorizations/issue.
UNKNOWN_AUTH_KEY_CODE = "INVALID_BILLING_AUTH"
# Unknown or deleted billingKey at charge or delete.
UNKNOWN_BILLING_KEY_CODE = "NOT_FOUND_BILLING"
# DELETE /v1/billing/{billingKey} answers 200 with an empty body (docs); the content type stays JSON.
BILLING_DELETED_REASON = "삭제 API 요청"

# Virtual accounts opened by a confirm (window flow) are valid this long (Toss's validHours default).
DEFAULT_VALID_HOURS = 168
MAX_VALID_HOURS = 2160
DEFAULT_VIRTUAL_ACCOUNT_BANK = "88"  # 신한

# Card shown for window payments that name no card number: a 현대 VISA-like test number.
DEFAULT_CARD_NUMBER = "4330123412341234"
# Issuer code by the first digit of a card number (domestic numeric codes); else the default.
CARD_ISSUER_BY_FIRST_DIGIT = {"4": "61", "5": "51", "9": "11", "3": "7A"}
DEFAULT_CARD_ISSUER = "61"
DEFAULT_CARD_ACQUIRER = "31"
DEFAULT_EASY_PAY_PROVIDER = "토스페이"
DEFAULT_TRANSFER_BANK = "88"

# The webhook `createdAt` of payment events carries no offset (docs/toss.md, Webhooks); it is Korean time.
# A delivery is a success only on exactly HTTP 200 (v2 guide), not any 2xx.
WEBHOOK_SUCCESS_STATUSES = frozenset({200})
WEBHOOK_TIMEOUT_SECONDS = 10.0
# Minutes between a failed attempt and the next one; after the last, the delivery has failed.
WEBHOOK_RETRY_MINUTES = (1, 4, 16, 64, 256, 1024, 4096)
# Toss promises no order between deliveries: the sandbox sends each in a task of its own
# (runtime.pump), so the webhooks of one payment may arrive out of order, as they may from Toss.
# When both apply, a virtual-account change sends DEPOSIT_CALLBACK and PAYMENT_STATUS_CHANGED.
VIRTUAL_ACCOUNT_SENDS_STATUS_CHANGED = True

# The window page: a decline leaves the payment READY (it expires later); giving up likewise.
# Toss's failUrl omits orderId when the buyer gives up (PAY_PROCESS_CANCELED).
GIVE_UP_CODE = "PAY_PROCESS_CANCELED"
DECLINE_CODES = (
    "REJECT_CARD_PAYMENT",
    "REJECT_CARD_COMPANY",
    "INVALID_CARD_EXPIRATION",
    "INVALID_STOPPED_CARD",
    "EXCEED_MAX_DAILY_PAYMENT_COUNT",
    "FDS_ERROR",
    "PAY_PROCESS_ABORTED",
)

# A fault that names a status but no code answers with this code for the status.
FAULT_CODE_BY_STATUS = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED_KEY",
    403: "FORBIDDEN_REQUEST",
    404: "NOT_FOUND",
    409: "IDEMPOTENT_REQUEST_PROCESSING",
    429: "TOO_MANY_REQUESTS",
    500: "FAILED_INTERNAL_SYSTEM_PROCESSING",
    502: "FAILED_INTERNAL_SYSTEM_PROCESSING",
    503: "FAILED_INTERNAL_SYSTEM_PROCESSING",
    504: "FAILED_INTERNAL_SYSTEM_PROCESSING",
}

# Missing Authorization header (UNCONFIRMED): like an unknown key.
MISSING_AUTH_CODE = "UNAUTHORIZED_KEY"

# Pacing of cancels (docs/toss.md "Pacing"): a second
# cancel of one payment within this many seconds of the last one processed is refused
# 403 FORBIDDEN_CONSECUTIVE_REQUEST. Toss's window is one second; 0 turns the rule off. Measured
# on the sandbox clock, so POST /sandbox/clock moves past it.
CONSECUTIVE_CANCEL_WINDOW_SECONDS = 1.0
# The refusal stands for a request Toss did not process, so it is not stored for the
# Idempotency-Key: a retry with the same key after the window runs for real (what Toss's advice,
# "back off and retry with the same key", needs).
CONSECUTIVE_REFUSAL_IS_STORED = False
# Whether a cancel Toss refused (400 INVALID_REQUEST, 403 NOT_CANCELABLE_AMOUNT, ...) counts as
# "the first request" of the second. Toss does not say; the sandbox counts only cancels carried
# out, so a corrected cancel sent right after a refused one runs. (A fault injected before the
# change never counts: it stands for a call Toss did not process. An afterApply fault does.)
REFUSED_CANCEL_STARTS_THE_WINDOW = False

# Smallest approvals (BELOW_MINIMUM_AMOUNT, "100 won for cards, 200 for accounts"). Which
# methods "account" covers is unconfirmed: the sandbox applies 200 to account transfers only.
MINIMUM_AMOUNT_BY_METHOD = {"CARD": 100, "TRANSFER": 200}
# Instalments (2-12 months) need at least this amount (docs/toss.md 2.4, 2.6); below it,
# NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT.
MINIMUM_INSTALLMENT_AMOUNT = 50_000

# `--rate-limit N/min`: Toss's test mode allows 100 requests per minute per API. The sandbox
# counts per secret key and API (method + route, e.g. POST /v1/payments/{paymentKey}/cancel) over
# the last 60 seconds of its clock. Toss's 429 body is unconfirmed; the sandbox answers this code.
RATE_LIMIT_WINDOW_SECONDS = 60.0
RATE_LIMITED_CODE = "TOO_MANY_REQUESTS"

# Cash receipts: the issue answer shows IN_PROGRESS (docs/toss.md 2.7); the sandbox's national tax
# service answers at once, so look-ups show COMPLETED afterwards.
CASH_RECEIPT_ISSUE_STATUS = "IN_PROGRESS"
CASH_RECEIPT_SETTLED_STATUS = "COMPLETED"
CASH_RECEIPT_BUSINESS_NUMBER = "1234567890"
# A second cancel of one cash receipt (no source names the code).
CASH_RECEIPT_ALREADY_CANCELED_CODE = "ALREADY_CANCELED_PAYMENT"
# Default page size of GET /v1/cash-receipts and GET /v1/transactions.
DEFAULT_LIST_LIMIT = 100

# A deposit error (DONE back to WAITING_FOR_DEPOSIT) sends DEPOSIT_CALLBACK; PAYMENT_STATUS_CHANGED
# is documented for EXPIRED, DONE, ABORTED, CANCELED and PARTIAL_CANCELED only, so not for this.
DEPOSIT_ERROR_SENDS_STATUS_CHANGED = False
