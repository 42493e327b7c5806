"""Rendering a page: the templates, their filters, the language, and the headers every page has.

Every page is served with a Content-Security-Policy that allows Sunap's own origin only (the
checkout against Toss adds exactly Toss's origins), is never cached, never framed, and sends a
Referer to Sunap's own origin only (`Referrer-Policy: same-origin`): checkout URLs carry the
customer's link token and the window's paymentKey, and dashboard URLs an operator's searches, none
of which may reach another site; on our own origin they tell us nothing new, and a form posted
from a page of ours then names our origin (`Origin`), which the dashboard's sign-in checks where
the browser sends no Fetch Metadata (no-referrer would make it `Origin: null`). The header is the
one place the policy is set: a `<meta name="referrer">` would override it for the document.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup

from sunap.application.dashboard_queries import KST

from .i18n import (
    BILLING_KEY_STATUS_LABELS,
    CANCEL_STATUS_LABELS,
    DELIVERY_STATUS_LABELS,
    INTERVAL_UNITS,
    METHOD_LABELS,
    STATUS_LABELS,
    SUBSCRIPTION_CANCEL_REASONS,
    SUBSCRIPTION_STATUS_LABELS,
    Translator,
    negotiate,
)
from .institutions import bank_name, card_company_name

SELF_ONLY = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}
COMMON_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csp(directives: Mapping[str, str] = SELF_ONLY) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def translator(request: Request) -> Translator:
    return Translator(negotiate(request.headers.get("accept-language")))


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    policy: str | None = None,
) -> HTMLResponse:
    t = translator(request)
    page = templates().get_template(template).render(t=t, lang=t.lang, **context)
    response = HTMLResponse(page, status_code=status)
    _secure(response.headers, policy or csp())
    return response


def redirect(url: str) -> RedirectResponse:
    """303: after a form or a return from the payment window, the browser GETs the next page."""
    response = RedirectResponse(url, status_code=303)
    _secure(response.headers, csp())
    return response


def _secure(headers: Any, policy: str) -> None:
    headers["Content-Security-Policy"] = policy
    for name, value in COMMON_HEADERS.items():
        headers[name] = value


def format_money(amount: int | None, currency: str, t: Translator) -> str:
    if amount is None:
        return "—"
    if currency != "KRW":
        return f"{amount:,} {currency}"
    return f"{amount:,}원" if t.lang == "ko" else f"₩{amount:,}"


def format_interval(count: int, interval: str, t: Translator) -> str:
    """A subscription's period: "1개월", "2주"; "month", "3 months"."""
    words = INTERVAL_UNITS.get(interval)
    if words is None:
        return f"{count} {interval}"
    unit = t.pick(words)
    if t.lang == "ko":
        return f"{count}{unit}"
    return unit if count == 1 else f"{count} {unit}s"


def format_when(moment: datetime | None) -> str:
    """Korea Standard Time, to the second: what the operator's and the customer's clocks say."""
    if moment is None:
        return "—"
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")


def format_percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


@functools.cache
def templates() -> Environment:
    """The templates shipped in the package, loaded once, on first use."""
    env = Environment(
        loader=PackageLoader("sunap.entrypoints.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_when
    env.filters["bank_name"] = bank_name
    env.filters["card_company"] = card_company_name
    env.filters["percent"] = format_percent
    env.filters["pretty"] = _pretty

    def labelled(table: Mapping[str, tuple[str, str]]) -> Any:
        def apply(context: Any, value: object) -> str:
            t: Translator = context["t"]
            return t.label(table, value)

        return pass_context(apply)

    env.filters["status_label"] = labelled(STATUS_LABELS)
    env.filters["method_label"] = labelled(METHOD_LABELS)
    env.filters["cancel_status_label"] = labelled(CANCEL_STATUS_LABELS)
    env.filters["delivery_status_label"] = labelled(DELIVERY_STATUS_LABELS)
    env.filters["subscription_status_label"] = labelled(SUBSCRIPTION_STATUS_LABELS)
    env.filters["subscription_cancel_reason"] = labelled(SUBSCRIPTION_CANCEL_REASONS)
    env.filters["billing_key_status_label"] = labelled(BILLING_KEY_STATUS_LABELS)

    def money(context: Any, amount: int | None, currency: str = "KRW") -> str:
        return format_money(amount, currency, context["t"])

    env.filters["money"] = pass_context(money)

    def interval(context: Any, count: int, unit: str) -> str:
        return format_interval(count, unit, context["t"])

    env.filters["interval"] = pass_context(interval)
    return env


def hidden_field(name: str, value: str) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(name, value)
