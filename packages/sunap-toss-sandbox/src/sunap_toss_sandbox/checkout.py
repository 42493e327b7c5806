"""The payment window as a page a person can click: approve, decline with a code, or give up.

Opening the page opens a READY payment (reused on reload); the buttons redirect to the merchant's
successUrl / failUrl with Toss's query parameters (docs/toss.md, The payment window). Those must be absolute http(s)
URLs: anything else gets an error page, never a redirect. Links honour the mount prefix.
The page works on the books of the account whose `clientKey` it is given (what Toss's widget is
initialised with), else of an Authorization header's secret key, else on the default books; its
forms carry the client key on, so the buttons land in the same books.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from importlib import resources
from string import Template
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from sunap_toss_sandbox import choices, fields
from sunap_toss_sandbox.accounts import Account
from sunap_toss_sandbox.catalogue import CATALOGUE, TossError, message_for
from sunap_toss_sandbox.runtime import SandboxRuntime
from sunap_toss_sandbox.vocabulary import METHOD_NAMES, method_of

PageHandler = Callable[[SandboxRuntime, Request], Awaitable[Response]]

_TEMPLATE = Template(
    resources.files("sunap_toss_sandbox").joinpath("templates/checkout.html").read_text("utf-8")
)


RETURN_URLS_REQUIRED = "successUrl and failUrl must be absolute http or https URLs"
FAIL_URL_REQUIRED = "failUrl must be an absolute http or https URL"


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _is_return_url(url: str) -> bool:
    """Only an absolute http(s) URL with a host: never `javascript:`, and never `//evil.example`
    or `/\\evil.example`, which a browser takes to another site."""
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # a malformed port raises ValueError
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _problem(message: str, status: int = 400) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><p>{html.escape(message)}</p>", status_code=status)


def _refused(error: TossError) -> HTMLResponse:
    return _problem(f"{error.code}: {message_for(error.code, english=False)}", error.status)


def _account(runtime: SandboxRuntime, request: Request, client_key: str | None) -> Account:
    return runtime.accounts.select(request.headers.get("authorization"), client_key)


async def open_checkout(runtime: SandboxRuntime, request: Request) -> Response:
    query = request.query_params
    order_id = query.get("orderId", "")
    success_url = query.get("successUrl", "")
    fail_url = query.get("failUrl", "")
    amount_text = query.get("amount", "")
    method = method_of(query.get("method") or "CARD")
    if not (_is_return_url(success_url) and _is_return_url(fail_url)):
        return _problem(RETURN_URLS_REQUIRED)
    if not fields.is_order_id(order_id):  # Toss's window refuses it before opening (ASCII only)
        return _refused(TossError("INVALID_ORDER_ID"))
    if not amount_text.isdigit() or int(amount_text) < 1 or method is None:
        return _problem("amount must be a positive whole number and method a Toss method")
    order_name = query.get("orderName") or "테스트 주문"
    try:
        account = _account(runtime, request, query.get("clientKey"))
        books = account.merchant
        payment = books.open_window_for(order_id) or books.open_window(
            order_id=order_id,
            amount=int(amount_text),
            order_name=order_name[:100],
            method=method,
            authenticated=False,
        )
    except TossError as error:
        return _refused(error)
    options = "".join(
        f'<option value="{code}">{code} — {html.escape(message_for(code, english=False))}</option>'
        for code in choices.DECLINE_CODES
    )
    page = _TEMPLATE.substitute(
        root=html.escape(request.scope.get("root_path", "")),
        order_name=html.escape(payment.order_name),
        order_id=html.escape(payment.order_id),
        method=METHOD_NAMES[payment.method],
        amount=f"{payment.total_amount:,}",
        payment_key=html.escape(payment.payment_key),
        success_url=html.escape(success_url),
        fail_url=html.escape(fail_url),
        client_key=html.escape(account.client_key or ""),
        decline_options=options,
    )
    return HTMLResponse(page)


async def _form(request: Request) -> dict[str, str]:
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {name: values[0] for name, values in parsed.items()}


def _fail_redirect(fail_url: str, code: str, order_id: str | None) -> Response:
    params = {"code": code, "message": message_for(code, english=False)}
    if order_id is not None:  # Toss omits orderId when the buyer gave up
        params["orderId"] = order_id
    return RedirectResponse(_with_query(fail_url, params), status_code=303)


async def approve(runtime: SandboxRuntime, request: Request) -> Response:
    form = await _form(request)
    success_url, fail_url = form.get("successUrl", ""), form.get("failUrl", "")
    if not (_is_return_url(success_url) and _is_return_url(fail_url)):
        return _problem(RETURN_URLS_REQUIRED)
    try:
        books = _account(runtime, request, form.get("clientKey")).merchant
    except TossError as error:
        return _refused(error)
    try:
        payment = books.authenticate(form.get("paymentKey", ""))
    except TossError:
        return _fail_redirect(fail_url, "PAY_PROCESS_ABORTED", None)
    params = {
        "paymentType": "NORMAL",
        "orderId": payment.order_id,
        "paymentKey": payment.payment_key,
        "amount": str(payment.total_amount),
    }
    return RedirectResponse(_with_query(success_url, params), status_code=303)


async def decline(runtime: SandboxRuntime, request: Request) -> Response:
    form = await _form(request)
    fail_url = form.get("failUrl", "")
    if not _is_return_url(fail_url):
        return _problem(FAIL_URL_REQUIRED)
    code = form.get("code", "")
    if code not in CATALOGUE:
        code = choices.DECLINE_CODES[0]
    try:
        books = _account(runtime, request, form.get("clientKey")).merchant
    except TossError as error:
        return _refused(error)
    payment = books.payments.get(form.get("paymentKey", ""))
    return _fail_redirect(fail_url, code, payment.order_id if payment else None)


async def give_up(runtime: SandboxRuntime, request: Request) -> Response:
    form = await _form(request)
    fail_url = form.get("failUrl", "")
    if not _is_return_url(fail_url):
        return _problem(FAIL_URL_REQUIRED)
    return _fail_redirect(fail_url, choices.GIVE_UP_CODE, None)


# The window holds a payment's key and its return URLs: never framed (its approve button could be
# clicked through a page on top), kept in a cache or sent on as a Referer. No form-action: its
# forms end in a redirect to the merchant's own return URL, wherever that is.
WINDOW_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def checkout_routes(runtime: SandboxRuntime) -> list[Route]:
    def page(handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            runtime.ensure_started()
            runtime.pump()
            response = await handler(runtime, request)
            response.headers.update(WINDOW_HEADERS)
            return response

        return handle

    return [
        Route("/sandbox/checkout", page(open_checkout), methods=["GET"]),
        Route("/sandbox/checkout/approve", page(approve), methods=["POST"]),
        Route("/sandbox/checkout/decline", page(decline), methods=["POST"]),
        Route("/sandbox/checkout/give-up", page(give_up), methods=["POST"]),
    ]
