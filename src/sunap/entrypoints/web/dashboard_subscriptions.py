"""The dashboard's subscriptions pages: the list and one subscription with its charges.

Read-only (changing, canceling, pausing and resuming stay the API's), with the scopes of every
dashboard page: `payments:read` or `admin`. Every query is the signed-in tenant's, through the
application's use cases. A billing key is shown by its masked card only: the PG's key stays sealed
in the domain, and no page is handed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request, Response

from sunap.application.billing_keys import get_billing_key
from sunap.application.ports.billing import BillingQuery
from sunap.application.subscriptions import (
    get_subscription,
    list_subscriptions,
    subscription_payments,
)
from sunap.domain.billing_key import BillingKey
from sunap.domain.errors import BillingKeyNotFound, InvalidRequest, SubscriptionNotFound
from sunap.domain.payment import CardDetails, Payment
from sunap.domain.subscription import SubscriptionStatus

from .context import web_of
from .dashboard import PER_PAGE, not_found_page, page_frame, page_link, query_param
from .dashboard_session import current_session, sign_in_redirect
from .pages import render, translator

router = APIRouter(include_in_schema=False)

LIST_PATH = "/dashboard/subscriptions"
CHARGES_PER_PAGE = 25
MAX_CURSOR = 512  # the API's own bound on a cursor


@dataclass(frozen=True)
class SubscriptionFilter:
    query: BillingQuery
    shown: dict[str, str]  # what the filter form shows, and what the page links carry
    problem: bool  # some field was not understood (ignored)


@dataclass(frozen=True)
class KeyOnFile:
    """What a page may show of a billing key: the card as the PG masked it, never the key."""

    id: str
    status: str
    card: CardDetails | None
    created_at: datetime
    deleted_at: datetime | None

    @classmethod
    def of(cls, key: BillingKey) -> KeyOnFile:
        return cls(key.id, key.status.value, key.card, key.created_at, key.deleted_at)


@router.get(LIST_PATH)
async def subscriptions_page(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return sign_in_redirect(request)
    web = web_of(request)
    filters = subscription_filter(request)
    problem = filters.problem
    try:
        page = await list_subscriptions(session.tenant_id, filters.query, web.deps)
    except InvalidRequest:  # a cursor this page did not make: the first page instead
        problem = True
        first = BillingQuery(
            customer_key=filters.query.customer_key, status=filters.query.status, limit=PER_PAGE
        )
        page = await list_subscriptions(session.tenant_id, first, web.deps)
    paged = filters.query.cursor is not None and not problem
    context = await page_frame(request, web, session, "subscriptions") | {
        "subscriptions": page.items,
        "filters": filters.shown,
        "statuses": [s.value for s in SubscriptionStatus],
        "first_url": page_link(LIST_PATH, filters.shown, 1) if paged else None,
        "next_url": _cursor_link(LIST_PATH, filters.shown, "cursor", page.next_cursor),
    }
    if problem:
        context["problem"] = translator(request)("problem_INVALID_REQUEST")
    return render(request, "dashboard/subscriptions.html", context)


@router.get(LIST_PATH + "/{subscription_id}")
async def subscription_page(request: Request, subscription_id: str) -> Response:
    session = await current_session(request)
    if session is None:
        return sign_in_redirect(request)
    web = web_of(request)
    try:
        sub = await get_subscription(session.tenant_id, subscription_id[:100], web.deps)
    except SubscriptionNotFound:
        return not_found_page(request)
    try:
        key = KeyOnFile.of(await get_billing_key(session.tenant_id, sub.billing_key_id, web.deps))
    except BillingKeyNotFound:
        key = None
    cursor = _cursor_param(request, "charges")
    problem = _unreadable(request, "charges")
    charges: list[Payment]
    try:
        charges, next_cursor = await subscription_payments(
            session.tenant_id, sub.id, CHARGES_PER_PAGE, cursor, web.deps
        )
    except InvalidRequest:  # a cursor this page did not make: the latest charges instead
        problem, cursor = True, None
        charges, next_cursor = await subscription_payments(
            session.tenant_id, sub.id, CHARGES_PER_PAGE, None, web.deps
        )
    path = f"{LIST_PATH}/{sub.id}"
    context = await page_frame(request, web, session, "subscriptions") | {
        "sub": sub,
        "key": key,
        "charges": charges,
        "latest_charges_url": path if cursor is not None else None,
        "older_charges_url": _cursor_link(path, {}, "charges", next_cursor),
    }
    if problem:
        context["problem"] = translator(request)("problem_INVALID_REQUEST")
    return render(request, "dashboard/subscription.html", context)


def subscription_filter(request: Request) -> SubscriptionFilter:
    """The list's filters: a status, an exact customerKey, and the cursor of the page."""
    problem = False
    status = query_param(request, "status")
    if status and status not in SubscriptionStatus.__members__:
        problem, status = True, ""
    customer_key = query_param(request, "customerKey")
    cursor = _cursor_param(request, "cursor")
    problem = problem or _unreadable(request, "cursor")
    return SubscriptionFilter(
        query=BillingQuery(
            customer_key=customer_key or None,
            status=status or None,
            limit=PER_PAGE,
            cursor=cursor,
        ),
        shown={"status": status, "customerKey": customer_key},
        problem=problem,
    )


def _cursor_param(request: Request, name: str) -> str | None:
    text = request.query_params.get(name, "")
    if not text or len(text) > MAX_CURSOR or not text.isascii() or not text.isprintable():
        return None
    return text


def _cursor_link(path: str, filters: dict[str, str], name: str, cursor: str | None) -> str | None:
    return None if cursor is None else page_link(path, filters | {name: cursor}, 1)


def _unreadable(request: Request, name: str) -> bool:
    """The parameter was given but is no cursor (too long, not printable ASCII)."""
    return bool(request.query_params.get(name)) and _cursor_param(request, name) is None
