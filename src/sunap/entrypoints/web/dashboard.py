"""The dashboard's pages and forms. Every query is the signed-in tenant's; every form is checked
against the session's CSRF token; every change goes through the same use case as the API.

Scopes: `payments:read` (or `admin`) to look; `payments:cancel` to cancel; `admin` to resolve a
review or replay a webhook delivery.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from sunap.application.audit_kinds import WEBHOOK_PREFIX, AuditType
from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ResolveReview
from sunap.application.dashboard_queries import (
    KST,
    Activity,
    Grain,
    PaymentFilter,
    activity_series,
    series_start,
)
from sunap.application.errors import PgTimeout, PgUnavailable
from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT
from sunap.application.ports.audit import AuditEntry
from sunap.application.ports.gateway import RefundAccount
from sunap.application.ports.idempotency import ClaimOutcome, StoredResponse
from sunap.application.queries import get_payment, payment_transactions
from sunap.application.resolve_review import resolve_review
from sunap.application.strict_json import control_character_in
from sunap.application.web_sessions import WebSession
from sunap.domain.errors import PaymentNotFound, SunapError
from sunap.domain.payment import PAID, Cancel, CancelStatus, Payment, PaymentMethod, PaymentStatus
from sunap.entrypoints.http.schemas import RefundAccountBody

from .charts import Series, chart, compact_money
from .context import WebContext, web_of
from .dashboard_session import checked_form, current_session, refused, sign_in_redirect
from .i18n import STATUS_LABELS, Translator
from .pages import format_money, format_percent, hidden_field, redirect, render, translator

router = APIRouter(include_in_schema=False)

HOURS, DAYS = 24, 30
PER_PAGE = 25
MAX_PAGE = 10_000
CANCELABLE = frozenset(
    {
        PaymentStatus.READY,
        PaymentStatus.DONE,
        PaymentStatus.PARTIAL_CANCELED,
        PaymentStatus.WAITING_FOR_DEPOSIT,
    }
)
# Cancels started from a form are idempotent per rendering of the form: a double click or a
# resubmitted page cancels once. A new rendering (the back button re-fetches the page, a second
# tab) is a new form: it is held to the cancelable balance it was drawn with (`expected_balance`,
# refused with BALANCE_CHANGED once another cancel moved it), its amount must be typed (no
# "empty means everything"), and its fields are never filled back in by the browser.
CANCEL_FORM_LOCK = timedelta(seconds=90)
# The refund account's fields, each `refund_<name>` in the cancel form.
REFUND_FIELDS = ("bank", "account_number", "holder_name")
_CODE = re.compile(r"[A-Z0-9_]{1,64}")
# An amount as typed: plain digits, or digits grouped in threes by commas ("10,000"). A comma
# anywhere else ("1,0000", "15,00") is a typo whose meaning is a guess: never read as a number.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,12}|[0-9]{1,3}(?:,[0-9]{3}){1,3}")
_NOTICES = frozenset(
    {"canceled", "cancel_pending", "cancel_in_flight", "resolved", "replay_queued", "replay_busy"}
)


@dataclass(frozen=True)
class Moment:
    at: datetime
    text: str


# -- pages ------------------------------------------------------------------------------------


@router.get("/dashboard")
async def overview(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return sign_in_redirect(request)
    web, t = web_of(request), translator(request)
    now = web.deps.clock.now()
    hourly = activity_series(
        await web.queries.activity(
            session.tenant_id, Grain.HOUR, series_start(Grain.HOUR, now, HOURS)
        ),
        Grain.HOUR,
        now,
        HOURS,
    )
    daily = activity_series(
        await web.queries.activity(
            session.tenant_id, Grain.DAY, series_start(Grain.DAY, now, DAYS)
        ),
        Grain.DAY,
        now,
        DAYS,
    )
    context = await page_frame(request, web, session, "overview") | {
        "day": _total(hourly),
        "hourly": _charts(hourly, Grain.HOUR, t),
        "daily": _charts(daily, Grain.DAY, t),
    }
    return render(request, "dashboard/overview.html", context)


@router.get("/dashboard/payments")
async def payments_page(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return sign_in_redirect(request)
    web = web_of(request)
    filters, problem = _payment_filter(request)
    page = await web.queries.payments(session.tenant_id, filters)
    shown = {
        "q": filters.search or "",
        "status": filters.status.value if filters.status else "",
        "from": query_param(request, "from") if filters.created_from else "",
        "to": query_param(request, "to") if filters.created_before else "",
    }
    context = await page_frame(request, web, session, "payments") | {
        "page": page,
        "filters": shown,
        "statuses": [s.value for s in PaymentStatus],
        "prev_url": page_link("/dashboard/payments", shown, page.page - 1)
        if page.page > 1
        else None,
        "next_url": page_link("/dashboard/payments", shown, page.page + 1)
        if page.has_next
        else None,
    }
    if problem:
        context["problem"] = translator(request)("problem_INVALID_REQUEST")
    return render(request, "dashboard/payments.html", context)


@router.get("/dashboard/payments/{payment_id}")
async def payment_page(request: Request, payment_id: str) -> Response:
    session = await current_session(request)
    if session is None:
        return sign_in_redirect(request)
    web, t = web_of(request), translator(request)
    try:
        payment = await get_payment(session.tenant_id, payment_id[:100], web.deps)
        audit = await payment_transactions(session.tenant_id, payment.id, web.deps)
    except PaymentNotFound:
        return not_found_page(request)
    deliveries, _ = await web.queries.deliveries(
        session.tenant_id, _own_account(session), payment_id=payment.id, per_page=50
    )
    cancelable = payment.status in CANCELABLE and payment.cancelable_amount > 0
    can_cancel = cancelable and session.allows("payments:cancel")
    context = await page_frame(request, web, session, "payments") | {
        "payment": payment,
        "audit": audit,
        "timeline": _timeline(payment, audit, t),
        "deliveries": deliveries,
        "can_cancel": can_cancel,
        "cancel_hint": t("cancel_needs_scope") if cancelable and not can_cancel else None,
        "needs_refund_account": payment.method is PaymentMethod.VIRTUAL_ACCOUNT
        and payment.status in PAID,
        "form_key": secrets.token_urlsafe(16),
        "can_resolve": session.allows("admin"),
        "can_replay": session.allows("admin"),
        "back": f"/dashboard/payments/{payment.id}",
    }
    return render(request, "dashboard/payment.html", context)


@router.get("/dashboard/review")
async def review_page(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return sign_in_redirect(request)
    web = web_of(request)
    number = _page_number(request)
    page = await web.queries.payments(
        session.tenant_id, PaymentFilter(needs_review=True, page=number, per_page=PER_PAGE)
    )
    context = await page_frame(request, web, session, "review") | {
        "page": page,
        "can_resolve": session.allows("admin"),
        "back": "/dashboard/review",
        "prev_url": page_link("/dashboard/review", {}, number - 1) if number > 1 else None,
        "next_url": page_link("/dashboard/review", {}, number + 1) if page.has_next else None,
    }
    return render(request, "dashboard/review.html", context)


@router.get("/dashboard/webhooks")
async def webhooks_page(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return sign_in_redirect(request)
    web = web_of(request)
    number = _page_number(request)
    deliveries, has_next = await web.queries.deliveries(
        session.tenant_id, _own_account(session), page=number, per_page=PER_PAGE
    )
    context = await page_frame(request, web, session, "webhooks") | {
        "deliveries": deliveries,
        "can_replay": session.allows("admin"),
        "back": "/dashboard/webhooks",
        "prev_url": page_link("/dashboard/webhooks", {}, number - 1) if number > 1 else None,
        "next_url": page_link("/dashboard/webhooks", {}, number + 1) if has_next else None,
    }
    return render(request, "dashboard/webhooks.html", context)


# -- forms ------------------------------------------------------------------------------------


@router.post("/dashboard/payments/{payment_id}/cancel")
async def cancel_form(request: Request, payment_id: str) -> Response:
    session = await current_session(request)
    back = f"/dashboard/payments/{payment_id[:100]}"
    if session is None:
        return sign_in_redirect(request, form_of=back)
    form = await checked_form(request, session)
    if form is None or not session.allows("payments:cancel"):
        return refused(request, back_url=back)
    command = _cancel_command(session, payment_id[:100], form)
    if isinstance(command, str):
        return redirect(f"{back}?failed={command}")
    web = web_of(request)
    form_key = form.get("form_key", "")[:64]
    if not form_key:
        return redirect(f"{back}?failed=INVALID_REQUEST")
    return await _cancel_once(web, session, command, form_key, back)


@router.post("/dashboard/payments/{payment_id}/resolve-review")
async def resolve_form(request: Request, payment_id: str) -> Response:
    session = await current_session(request)
    if session is None:  # the queue's form too: its payment's page shows the review
        return sign_in_redirect(request, form_of=f"/dashboard/payments/{payment_id[:100]}")
    form = await checked_form(request, session)
    back = _back(form, f"/dashboard/payments/{payment_id[:100]}")
    if form is None or not session.allows("admin"):
        return refused(request, back_url=back)
    note = form.get("note", "").strip()
    if not note or len(note) > 1000 or not _is_text(note):
        return redirect(f"{back}?failed=INVALID_REQUEST")
    command = ResolveReview(
        tenant_id=session.tenant_id,
        payment_id=payment_id[:100],
        note=note,
        resolved_by=f"dashboard:{session.api_key_id}",
    )
    try:
        await resolve_review(command, web_of(request).deps)
    except PaymentNotFound:
        return not_found_page(request)
    except SunapError as error:
        return redirect(f"{back}?failed={error.code}")
    return redirect(f"{back}?done=resolved")


@router.post("/dashboard/webhooks/{delivery_id}/replay")
async def replay_form(request: Request, delivery_id: str) -> Response:
    session = await current_session(request)
    if session is None:
        return sign_in_redirect(request, form_of="/dashboard/webhooks")
    form = await checked_form(request, session)
    back = _back(form, "/dashboard/webhooks")
    if form is None or not session.allows("admin"):
        return refused(request, back_url=back)
    web = web_of(request)
    delivery = await web.queries.delivery(session.tenant_id, _own_account(session), delivery_id)
    if delivery is None:
        return not_found_page(request)
    queued = await web.webhooks.requeue(delivery.id, web.deps.clock.now())
    return redirect(f"{back}?done={'replay_queued' if queued else 'replay_busy'}")


# -- cancel -----------------------------------------------------------------------------------


def _cancel_command(
    session: WebSession, payment_id: str, form: dict[str, str]
) -> CancelPayment | str:
    """The form's cancel, or the code of the problem that refuses it (nothing is sent)."""
    reason = form.get("cancel_reason", "").strip()
    expected = _whole_number(form.get("expected_balance", ""))
    if not reason or len(reason) > 200 or not _is_text(reason) or expected is None:
        return "INVALID_REQUEST"
    # A READY payment's form has no amount field (it closes whole); a paid one's names it.
    amount = None
    if "cancel_amount" in form:
        amount = _whole_number(form["cancel_amount"])
        if amount is None or amount < 1:
            return "INVALID_AMOUNT"
    fields = [form.get(f"refund_{name}", "").strip() for name in REFUND_FIELDS]
    refund = None
    if any(fields):
        refund = _refund_account(*fields)
        if refund is None:
            return "INVALID_REFUND_ACCOUNT"
    return CancelPayment(
        tenant_id=session.tenant_id,
        payment_id=payment_id,
        reason=reason,
        amount=amount,
        refund_account=refund,
        expected_cancelable=expected,
    )


def _whole_number(text: str) -> int | None:
    """A whole number of at most 12 digits as `_WHOLE_NUMBER` takes it; None for anything else."""
    text = text.strip()
    return int(text.replace(",", "")) if _WHOLE_NUMBER.fullmatch(text) else None


def _refund_account(bank: str, number: str, holder: str) -> RefundAccount | None:
    """The account as the API takes it (its body's rules, and the strict parser's refusal of
    control characters), or None: never a shortened one, which would refund someone else."""
    if any(control_character_in(v, free_text=True) for v in (bank, number, holder)):
        return None
    try:
        return RefundAccountBody(bank=bank, accountNumber=number, holderName=holder).account()
    except ValidationError:
        return None


async def _cancel_once(
    web: WebContext, session: WebSession, command: CancelPayment, form_key: str, back: str
) -> Response:
    """One cancel per rendering of the form, however often it is submitted (the API's
    idempotency store, under a key of the dashboard's own)."""
    key = f"dashboard-cancel:{form_key}"
    fingerprint = (
        "dashboard cancel "
        + hashlib.sha256(
            f"{command.payment_id}|{command.amount}|{command.reason}".encode()
        ).hexdigest()
    )
    now = web.deps.clock.now()
    claim = await web.idempotency.claim(
        session.tenant_id, key, fingerprint, now, now + CANCEL_FORM_LOCK
    )
    if claim.outcome is ClaimOutcome.REPLAY and claim.response is not None:
        return redirect(claim.response.body.decode())
    if claim.outcome is ClaimOutcome.MISMATCH:  # this rendering was sent before, edited
        return redirect(f"{back}?failed=FORM_USED")
    if claim.outcome is not ClaimOutcome.NEW:
        return redirect(f"{back}?done=cancel_in_flight")
    try:
        await cancel_payment(command, web.deps)
        target = f"{back}?done=canceled"
    except PaymentNotFound:
        target = "/dashboard/payments?failed=PAYMENT_NOT_FOUND"
    except (PgTimeout, PgUnavailable) as error:
        # Unknown only if a cancel was in fact sent; otherwise nothing happened.
        sent = await _has_pending_cancel(web, session, command.payment_id)
        target = f"{back}?done=cancel_pending" if sent else f"{back}?failed={error.code}"
    except SunapError as error:
        target = f"{back}?failed={error.code}"
    except BaseException:
        await web.idempotency.release(session.tenant_id, key)
        raise
    # Every outcome is kept, an unknown one too: resubmitting must never cancel a second time.
    await web.idempotency.finish(
        session.tenant_id, key, StoredResponse(303, target.encode(), "text/plain")
    )
    return redirect(target)


async def _has_pending_cancel(web: WebContext, session: WebSession, payment_id: str) -> bool:
    payment = await get_payment(session.tenant_id, payment_id, web.deps)
    return bool(payment.pending_cancels)


# -- pieces -----------------------------------------------------------------------------------


async def page_frame(
    request: Request, web: WebContext, session: WebSession, section: str
) -> dict[str, Any]:
    """What every dashboard page shows around its content."""
    t = translator(request)
    done = request.query_params.get("done", "")
    failed = request.query_params.get("failed", "")
    problem = None
    if _CODE.fullmatch(failed):
        key = f"problem_{failed}"
        problem = t(key) if t.has(key) else f"{t('problem_generic')} ({failed})"
    return {
        "session": session,
        "section": section,
        "review_count": await web.queries.needs_review_count(session.tenant_id),
        "csrf_field": lambda: hidden_field("csrf", session.csrf_token),
        "notice": t(f"notice_{done}") if done in _NOTICES else None,
        "problem": problem,
    }


def _own_account(session: WebSession) -> str | None:
    return None if session.pg_account_id == DEFAULT_PG_ACCOUNT else session.pg_account_id


def _total(buckets: list[Activity]) -> Activity:
    return Activity(
        start=buckets[0].start,
        created=sum(b.created for b in buckets),
        approved=sum(b.approved for b in buckets),
        refused=sum(b.refused for b in buckets),
        approved_amount=sum(b.approved_amount for b in buckets),
        refunded_amount=sum(b.refunded_amount for b in buckets),
    )


def _charts(buckets: list[Activity], grain: Grain, t: Translator) -> list[Any]:
    labels = [
        b.start.strftime("%H") + ("시" if t.lang == "ko" else ":00")
        if grain is Grain.HOUR
        else b.start.strftime("%m-%d")
        for b in buckets
    ]
    name = grain.value
    volume = Series(
        title=t("chart_volume"),
        labels=labels,
        values=[float(b.approved_amount) for b in buckets],
        texts=[format_money(b.approved_amount, "KRW", t) for b in buckets],
        kind="bars",
        tick=lambda v: compact_money(v, t),
    )
    approval = Series(
        title=t("chart_approval"),
        labels=labels,
        values=[b.approval_rate for b in buckets],
        texts=[format_percent(b.approval_rate) for b in buckets],
        kind="line",
        tick=lambda v: f"{v * 100:.0f}%",
        scale_to=1.0,
    )
    refunds = Series(
        title=t("chart_refund"),
        labels=labels,
        values=[b.refund_rate for b in buckets],
        texts=[format_percent(b.refund_rate) for b in buckets],
        kind="line",
        tick=lambda v: f"{v * 100:.0f}%",
        scale_to=1.0,
    )
    return [
        chart(volume, f"chart-volume-{name}", t),
        chart(approval, f"chart-approval-{name}", t),
        chart(refunds, f"chart-refund-{name}", t),
    ]


def _timeline(payment: Payment, audit: list[AuditEntry], t: Translator) -> list[Moment]:
    """The payment's main moments, oldest first. Within one second (the PG reports its times to
    the second) they keep the order in which they can happen. The last line is its status now,
    dated as of the latest moment above it or its last change, whichever is later: a webhook that
    changed nothing comes after the last change, and the status line, dated at that change, stood
    below it with an earlier time."""
    amount = format_money(payment.amount, payment.currency, t)
    found: list[tuple[int, Moment]] = [
        (0, Moment(payment.created_at, t("tl_created", amount=amount)))
    ]
    for entry in audit:
        if entry.type == AuditType.CONFIRM_CLAIMED:
            found.append((1, Moment(entry.created_at, t("tl_requested"))))
        elif entry.type == AuditType.REVIEW_RESOLVED:
            note = (entry.request_data or {}).get("note", "")
            found.append((5, Moment(entry.created_at, t("tl_resolved", note=note))))
        elif entry.type.startswith(WEBHOOK_PREFIX):
            found.append((3, Moment(entry.created_at, t("tl_webhook"))))
    if payment.approved_at is not None:
        found.append((2, Moment(payment.approved_at, t("tl_approved"))))
    if payment.status is PaymentStatus.ABORTED and payment.failure is not None:
        found.append((2, Moment(payment.updated_at, t("tl_failed", code=payment.failure.code))))
    for cancel in payment.cancels:
        if cancel.status is CancelStatus.DONE:
            found.append((4, _cancel_moment(cancel, payment, t)))
    found.sort(key=lambda r: (r[1].at.replace(microsecond=0), r[0]))
    moments = [m for _, m in found]
    status = t.label(STATUS_LABELS, payment.status)
    as_of = max([payment.updated_at, *(m.at for m in moments)])
    return [*moments, Moment(as_of, t("tl_now", status=status))]


def _cancel_moment(cancel: Cancel, payment: Payment, t: Translator) -> Moment:
    return Moment(
        cancel.canceled_at or cancel.requested_at,
        t("tl_canceled", amount=format_money(cancel.amount, payment.currency, t)),
    )


def _payment_filter(request: Request) -> tuple[PaymentFilter, bool]:
    """The filters of the payments page; True when some field was not understood (ignored)."""
    problem = False
    status_text = query_param(request, "status")
    status = None
    if status_text:
        if status_text in PaymentStatus.__members__:
            status = PaymentStatus(status_text)
        else:
            problem = True
    created_from = created_before = None
    for name in ("from", "to"):
        text = query_param(request, name)
        if not text:
            continue
        try:
            start, end = _kst_day(date.fromisoformat(text))
        except (ValueError, OverflowError):
            problem = True
            continue
        if name == "from":
            created_from = start
        else:
            created_before = end
    search = query_param(request, "q")
    return (
        PaymentFilter(
            status=status,
            search=search or None,
            created_from=created_from,
            created_before=created_before,
            page=_page_number(request),
            per_page=PER_PAGE,
        ),
        problem,
    )


def _kst_day(day: date) -> tuple[datetime, datetime]:
    """The day's start and the next day's start in KST, as UTC times: OverflowError for the
    calendar's first and last days, whose edges fall outside what a datetime can hold."""
    start = datetime(day.year, day.month, day.day, tzinfo=KST)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def query_param(request: Request, name: str) -> str:
    value = request.query_params.get(name, "")[:300]
    return value.strip() if _is_text(value) else ""


def _is_text(value: str) -> bool:
    return all(c.isprintable() or c in "\n\t" for c in value)


def _page_number(request: Request) -> int:
    text = query_param(request, "page")
    return max(1, min(int(text), MAX_PAGE)) if text.isascii() and text.isdigit() else 1


def page_link(path: str, filters: dict[str, str], number: int) -> str:
    query = {k: v for k, v in filters.items() if v} | ({"page": str(number)} if number > 1 else {})
    return f"{path}?{urlencode(query)}" if query else path


def _back(form: dict[str, str] | None, default: str) -> str:
    """Where a form goes back to: a dashboard path of ours, with no query (the answer's own
    `?done=` is added to it), else `default`."""
    back = (form or {}).get("back", "")
    fits = back.startswith("/dashboard/") and "//" not in back and back.isprintable()
    return back if fits and not any(mark in back for mark in "?#\\") else default


def not_found_page(request: Request) -> Response:
    t = translator(request)
    return render(
        request,
        "dashboard/message.html",
        {"heading": t("not_found"), "explanation": t("not_found_text"), "back_url": "/dashboard"},
        status=404,
    )
