"""The hosted checkout: `/checkout/{id}?token=…` shows the order and opens the payment window;
the window comes back to `/checkout/{id}/success` or `/fail`, which settle the payment on the
server and send the customer on to the merchant's page (or show Sunap's own result page).

In sandbox mode the window is the embedded sandbox's page, on this same origin, and the checkout
page needs no JavaScript at all. Against Toss it is Toss's JS SDK v2 with the account's client
key, and the page's Content-Security-Policy allows exactly Toss's origins besides our own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request, Response

from sunap.application.checkout_links import LinkCheck
from sunap.application.errors import UnknownPgAccount
from sunap.application.hosted_checkout import (
    CheckoutOutcome,
    LinkRefused,
    NotPaid,
    Paid,
    Pending,
    complete_checkout,
    is_paid,
    payment_for_link,
    window_failed,
)
from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT
from sunap.domain.payment import Payment, PaymentMethod, PaymentStatus

from .context import WebContext, web_of
from .i18n import Translator
from .institutions import bank_name
from .pages import SELF_ONLY, csp, format_when, redirect, render, translator

router = APIRouter(include_in_schema=False)

TOSS_SDK_URL = "https://js.tosspayments.com/v2/standard"
# What Toss's SDK loads and opens: its script, its window (an iframe or a page of its own), and
# the calls it makes. Nothing else leaves our origin.
TOSS_ORIGINS = "https://*.tosspayments.com https://*.toss.im"
TOSS_POLICY = csp(
    {
        **SELF_ONLY,
        "script-src": f"'self' {TOSS_SDK_URL.rsplit('/v2', 1)[0]}",
        "style-src": f"'self' {TOSS_ORIGINS}",
        "img-src": f"'self' data: {TOSS_ORIGINS}",
        "connect-src": f"'self' {TOSS_ORIGINS}",
        "frame-src": TOSS_ORIGINS,
        "form-action": f"'self' {TOSS_ORIGINS}",
    }
)
# Toss's requestPayment() method names for ours.
TOSS_METHODS = {
    PaymentMethod.CARD: "CARD",
    PaymentMethod.VIRTUAL_ACCOUNT: "VIRTUAL_ACCOUNT",
    PaymentMethod.TRANSFER: "TRANSFER",
    PaymentMethod.MOBILE_PHONE: "MOBILE_PHONE",
    PaymentMethod.GIFT_CERTIFICATE: "CULTURE_GIFT_CERTIFICATE",
    PaymentMethod.EASY_PAY: "CARD",  # easy pay is chosen inside Toss's card window
}
_CODE = re.compile(r"[A-Z0-9_]{1,64}")
MAX_MESSAGE = 300
MAX_QUERY_VALUE = 300
CLOSED = frozenset({PaymentStatus.CANCELED, PaymentStatus.EXPIRED, PaymentStatus.PARTIAL_CANCELED})


@dataclass(frozen=True)
class TossWindow:
    """What the page hands Toss's SDK."""

    sdk_url: str
    client_key: str
    customer_key: str  # empty: an anonymous customer
    method: str
    success_url: str
    fail_url: str


@router.get("/checkout/{payment_id}")
async def checkout_page(request: Request, payment_id: str) -> Response:
    web = web_of(request)
    payment = await _linked_payment(request, web, payment_id)
    if isinstance(payment, Response):
        return payment
    if payment.status is not PaymentStatus.READY:
        return _state_page(request, web, payment)
    if web.sandbox_path is not None:
        return render(
            request,
            "checkout/pay.html",
            {
                "payment": payment,
                "sandbox_window_url": await _sandbox_window(web, payment, _token(request)),
                "toss": None,
            },
        )
    try:
        account = await web.deps.accounts.account(payment.pg_account_id)
    except UnknownPgAccount:
        return _result(request, "unavailable", status=503)
    if not account.client_key:
        return _result(request, "unavailable", status=503)
    success_url, fail_url = _return_urls(web, payment, _token(request))
    window = TossWindow(
        sdk_url=TOSS_SDK_URL,
        client_key=account.client_key,
        customer_key=payment.customer_key or "",
        method=TOSS_METHODS[payment.method or PaymentMethod.CARD],
        success_url=success_url,
        fail_url=fail_url,
    )
    return render(
        request,
        "checkout/pay.html",
        {"payment": payment, "sandbox_window_url": None, "toss": window},
        policy=TOSS_POLICY,
    )


@router.get("/checkout/{payment_id}/success")
async def window_approved(request: Request, payment_id: str) -> Response:
    """The window's successUrl: `paymentKey`, `orderId` and `amount` added by the window."""
    web = web_of(request)
    returned = await _returned_payment(request, web, payment_id)
    if isinstance(returned, Response):
        return returned
    payment, link_expired = returned
    if not is_paid(payment) and web.checkout_confirms.take(payment.id) > 0:
        # Too many returns of this payment lately: each could call Toss's confirm.
        here = request.url.path + "?" + request.url.query
        return _result(request, "busy", status=429, payment=payment, refresh_url=here)
    query = request.query_params
    payment_key = _clean(query.get("paymentKey"))
    order_id = _clean(query.get("orderId"))
    amount = _clean(query.get("amount"))
    if not payment_key or not order_id or not amount.isascii() or not amount.isdigit():
        outcome: CheckoutOutcome = NotPaid(payment, "INVALID_REQUEST")  # a field is missing
    else:
        outcome = await complete_checkout(
            payment,
            payment_key=payment_key,
            order_id=order_id,
            amount=int(amount[:15]),
            deps=web.deps,
        )
    return _finish(request, web, outcome, link_expired)


@router.get("/checkout/{payment_id}/fail")
async def window_failed_back(request: Request, payment_id: str) -> Response:
    """The window's failUrl: `code`, `message` (and `orderId`, unless the customer gave up)."""
    web = web_of(request)
    returned = await _returned_payment(request, web, payment_id)
    if isinstance(returned, Response):
        return returned
    payment, link_expired = returned
    code = _clean(request.query_params.get("code"))
    message = _clean(request.query_params.get("message"))[:MAX_MESSAGE]
    outcome = await window_failed(
        payment, code if _CODE.fullmatch(code) else "PAY_PROCESS_ABORTED", message or None, web.deps
    )
    return _finish(request, web, outcome, link_expired)


@router.get("/checkout/{payment_id}/result")
async def result_page(request: Request, payment_id: str) -> Response:
    """Sunap's own result page, for payments without a merchant successUrl. It shows what
    became of the payment, on the link it was paid with even once that has expired (as the
    return itself does); a payment still READY goes back to its page, which the link must
    still open."""
    web = web_of(request)
    payment = await _linked_payment(request, web, payment_id, returning=True)
    if isinstance(payment, Response):
        return payment
    if payment.status is PaymentStatus.READY:
        return redirect(_page_url(web, payment, _token(request)))
    token_open = web.links.check(_token(request), payment, web.deps.clock.now())
    return _state_page(request, web, payment, link_open=token_open is LinkCheck.VALID)


# -- outcomes ---------------------------------------------------------------------------------


def _finish(
    request: Request, web: WebContext, outcome: CheckoutOutcome, link_expired: bool
) -> Response:
    # The pages that follow carry the return's own link, never a fresh one: a fresh one would
    # renew the link each time it is used, past SUNAP_CHECKOUT_TTL_SECONDS. The result page
    # shows an outcome on an expired link too.
    token = _token(request)
    match outcome:
        case Paid(payment=payment):
            if payment.success_url:
                return redirect(_merchant_success(payment))
            return redirect(f"{web.public_url}/checkout/{payment.id}/result?token={quote(token)}")
        case NotPaid(payment=payment, code=code, pg_message=pg_message, pg_code=pg_code):
            if payment.fail_url:
                message = pg_message or customer_message(translator(request), code)
                extra = {"pgCode": pg_code} if pg_code else {}
                return redirect(
                    _with_query(
                        payment.fail_url,
                        {"code": code, "message": message, "orderId": payment.order_id, **extra},
                    )
                )
            if link_expired:
                # No "try again": the link no longer opens the page. (The merchant's failUrl
                # above hands out no link of ours.)
                return _result(request, "expired", status=403)
            return _failed_page(request, web, payment, code, token)
        case Pending(payment=payment):
            here = request.url.path + "?" + request.url.query
            return _result(request, "pending", payment=payment, refresh_url=here)


def customer_message(t: Translator, code: str) -> str:
    """The failUrl's `message` for one of Sunap's own codes: merchants show it to the customer,
    as they show Toss's own (Korean) messages, so it is written for them, in the pages' language.
    The `code` stays as it is for the merchant's program."""
    key = f"fail_{code}"
    return t(key) if t.has(key) else t("fail_other")


def _state_page(
    request: Request, web: WebContext, payment: Payment, *, link_open: bool = True
) -> Response:
    """What a link to a payment that is no longer waiting for the customer shows."""
    if is_paid(payment):
        continue_url = _merchant_success(payment) if payment.success_url else None
        return _paid_page(request, payment, continue_url)
    if payment.status is PaymentStatus.IN_PROGRESS:
        here = request.url.path + "?" + request.url.query
        return _result(request, "pending", payment=payment, refresh_url=here)
    if not link_open:
        return _result(request, "expired", status=403)
    if payment.status is PaymentStatus.ABORTED and payment.failure is not None:
        return _failed_page(request, web, payment, payment.failure.code, _token(request))
    return _result(request, "closed", payment=payment)


def _paid_page(request: Request, payment: Payment, continue_url: str | None) -> Response:
    t = translator(request)
    va = payment.virtual_account
    if payment.status is PaymentStatus.WAITING_FOR_DEPOSIT and va is not None:
        # Toss names the bank by its code and gives no holder's name for the account (the
        # bank's own app shows the merchant's); the customer's name is what to deposit under.
        facts = [
            (t("bank"), bank_name(va.bank)),
            (t("account_number"), va.account_number or ""),
            (t("depositor_name"), va.customer_name or ""),
            (t("deposit_due"), f"{_local_time(va.due_date)} (KST)" if va.due_date else ""),
        ]
        return _result(
            request,
            "deposit",
            payment=payment,
            continue_url=continue_url,
            heading=t("result_deposit"),
            facts=[(label, value) for label, value in facts if value],
        )
    return _result(request, "paid", payment=payment, continue_url=continue_url)


def _failed_page(
    request: Request, web: WebContext, payment: Payment, code: str, token: str
) -> Response:
    explanation_key = {
        "PAY_PROCESS_CANCELED": "result_given_up_text",
        "AMOUNT_MISMATCH": "result_amount_text",
        "PG_MISMATCH": "result_review_text",
    }.get(code, "result_failed_text")
    retry = _page_url(web, payment, token) if payment.status is PaymentStatus.READY else None
    return _result(
        request,
        "failed",
        payment=payment,
        code=code,
        retry_url=retry,
        explanation=translator(request)(explanation_key),
    )


_MARKS = {"paid": "✓", "deposit": "✓", "pending": "…", "busy": "…"}


def _result(
    request: Request,
    state: str,
    *,
    status: int = 200,
    payment: Payment | None = None,
    heading: str | None = None,
    explanation: str | None = None,
    **extra: Any,
) -> Response:
    t = translator(request)
    context = {
        "state": state,
        "mark": _MARKS.get(state, "!"),
        "payment": payment,
        "heading": heading or t(f"result_{state}"),
        "explanation": explanation or t(f"result_{state}_text"),
        "code": None,
        "retry_url": None,
        "continue_url": None,
        "refresh_url": None,
        "facts": None,
    }
    return render(request, "checkout/result.html", context | extra, status=status)


# -- links ------------------------------------------------------------------------------------


async def _linked_payment(
    request: Request, web: WebContext, payment_id: str, *, returning: bool = False
) -> Payment | Response:
    """The payment the request's link opens, or the page that says why it opens none. The
    window's return (`returning`) is taken on a link that expired while the customer paid: a
    403 there stranded a customer who had approved, and told the merchant nothing."""
    try:
        return await payment_for_link(
            payment_id[:100], _token(request), web.links, web.deps, expired_ok=returning
        )
    except LinkRefused as refused:
        expired = refused.check is LinkCheck.EXPIRED
        return _result(request, "expired" if expired else "invalid", status=403)


async def _returned_payment(
    request: Request, web: WebContext, payment_id: str
) -> tuple[Payment, bool] | Response:
    """The payment the window returns to, and whether its link has expired (then only an
    approval, or an answer still awaited, is shown anything but the expired page)."""
    payment = await _linked_payment(request, web, payment_id, returning=True)
    if isinstance(payment, Response):
        return payment
    check = web.links.check(_token(request), payment, web.deps.clock.now())
    return payment, check is LinkCheck.EXPIRED


def _local_time(moment: str | None) -> str:
    """Toss's ISO time as the customer's clock shows it (KST); as given if it is not one."""
    try:
        return format_when(datetime.fromisoformat(moment)) if moment else ""
    except ValueError:
        return moment or ""


def _token(request: Request) -> str:
    return _clean(request.query_params.get("token"))


def _clean(value: str | None) -> str:
    """A query value as text we can use: bounded, without control characters."""
    if value is None:
        return ""
    return "".join(c for c in value[:MAX_QUERY_VALUE] if c.isprintable()).strip()


def _page_url(web: WebContext, payment: Payment, token: str) -> str:
    return f"{web.public_url}/checkout/{payment.id}?token={quote(token)}"


def _return_urls(web: WebContext, payment: Payment, token: str) -> tuple[str, str]:
    """Where the window sends the customer back, on the link that opened the page: its expiry
    stays the one it was handed out with (a return on an expired link is still taken)."""
    base = f"{web.public_url}/checkout/{payment.id}"
    return f"{base}/success?token={quote(token)}", f"{base}/fail?token={quote(token)}"


async def _sandbox_window(web: WebContext, payment: Payment, token: str) -> str:
    """The sandbox's payment window, on the books of the payment's own account: a tenant's own
    Toss account is known to the sandbox by its client key (once registered there)."""
    success_url, fail_url = _return_urls(web, payment, token)
    query = {
        "orderId": payment.order_id,
        "amount": str(payment.amount),
        "orderName": payment.order_name,
        "method": (payment.method or PaymentMethod.CARD).value,
        "successUrl": success_url,
        "failUrl": fail_url,
    }
    if payment.pg_account_id != DEFAULT_PG_ACCOUNT:
        account = await web.deps.accounts.account(payment.pg_account_id)
        if account.client_key:
            query["clientKey"] = account.client_key
    return f"{web.public_url}{web.sandbox_path}/sandbox/checkout?{urlencode(query)}"


def _merchant_success(payment: Payment) -> str:
    assert payment.success_url is not None
    return _with_query(
        payment.success_url,
        {"paymentId": payment.id, "orderId": payment.order_id, "status": payment.status.value},
    )


def _with_query(url: str, params: dict[str, str]) -> str:
    """The URL with `params` added to its query (replacing same-named ones), fragment kept."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*kept, *params.items()])))
