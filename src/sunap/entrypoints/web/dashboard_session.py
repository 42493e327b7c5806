"""Signing in to the dashboard with an API key, staying signed in, signing out, and the CSRF
check every form goes through.

The session cookie is HttpOnly, SameSite=Strict, limited to /dashboard, and Secure when the
service is reached over https. The sign-in form has its own CSRF token (a short-lived cookie
matched against the form), so nobody can sign a browser in to their tenant from another site.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request, Response

from sunap.application.authentication import hash_api_key
from sunap.application.web_sessions import (
    LIFETIME,
    WebSession,
    csrf_matches,
    may_open_dashboard,
    open_session,
    resume_session,
    session_id_of,
)

from .context import web_of
from .pages import redirect, render, translator

log = logging.getLogger("sunap.dashboard")

router = APIRouter(include_in_schema=False)

SESSION_COOKIE = "sunap_session"
SIGN_IN_COOKIE = "sunap_sign_in"
COOKIE_PATH = "/dashboard"
SIGN_IN_FORM_SECONDS = 3600
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 20
MAX_API_KEY = 200


async def current_session(request: Request) -> WebSession | None:
    web = web_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    return await resume_session(web.sessions, token, web.deps.clock.now())


def sign_in_redirect(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/dashboard/sign-in?next={quote(here)}")


async def read_form(request: Request) -> dict[str, str] | None:
    """A small urlencoded form, or None (another content type, too large, too many fields)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        parsed = parse_qs(
            body.decode("utf-8", "replace"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:
        return None
    return {name: values[0] for name, values in parsed.items()}


async def checked_form(request: Request, session: WebSession) -> dict[str, str] | None:
    """The form, if it carries this session's CSRF token; None otherwise."""
    form = await read_form(request)
    if form is None or not csrf_matches(session, form.get("csrf")):
        log.warning("dashboard form refused (CSRF) for tenant %s", session.tenant_name)
        return None
    return form


def refused(request: Request, *, back_url: str = "/dashboard") -> Response:
    t = translator(request)
    return render(
        request,
        "dashboard/message.html",
        {"heading": t("forbidden"), "explanation": t("forbidden_text"), "back_url": back_url},
        status=403,
    )


def safe_next(value: str | None) -> str:
    """Only a path of the dashboard itself: never an open redirect."""
    if (
        not value
        or not value.startswith("/dashboard")
        or value.startswith("//")
        or "\\" in value
        or not value.isprintable()
        or len(value) > 500
    ):
        return "/dashboard"
    return value


@router.get("/dashboard/sign-in")
async def sign_in_page(request: Request) -> Response:
    if await current_session(request) is not None:
        return redirect(safe_next(request.query_params.get("next")))
    signed_out = request.query_params.get("notice") == "signed_out"
    return _sign_in_form(
        request, notice=translator(request)("notice_signed_out") if signed_out else None
    )


@router.post("/dashboard/sign-in")
async def sign_in(request: Request) -> Response:
    web = web_of(request)
    t = translator(request)
    form = await read_form(request) or {}
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    submitted = form.get("csrf", "")
    next_url = safe_next(form.get("next"))
    if not expected or not secrets.compare_digest(expected.encode(), submitted.encode()):
        return _sign_in_form(request, problem=t("problem_cookies"), status=403, next_url=next_url)
    key = form.get("api_key", "").strip()
    record = None
    if 0 < len(key) <= MAX_API_KEY and key.isascii():
        record = await web.api_keys.find_by_hash(hash_api_key(key))
    if record is None:
        return _sign_in_form(request, problem=t("problem_sign_in"), status=401, next_url=next_url)
    if not may_open_dashboard(record):
        return _sign_in_form(
            request, problem=t("problem_sign_in_scope"), status=403, next_url=next_url
        )
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await web.sessions.remove(session_id_of(old))
    token = await open_session(web.sessions, record, web.deps.clock.now())
    log.info("dashboard sign-in: tenant %s, key %s", record.tenant_name, record.key_id)
    response = redirect(next_url)
    _set_cookie(request, response, SESSION_COOKIE, token, max_age=int(LIFETIME.total_seconds()))
    _set_cookie(request, response, SIGN_IN_COOKIE, "", max_age=0)  # gone, with the same attributes
    return response


@router.post("/dashboard/sign-out")
async def sign_out(request: Request) -> Response:
    web = web_of(request)
    session = await current_session(request)
    if session is None:
        return redirect("/dashboard/sign-in")
    if await checked_form(request, session) is None:
        return refused(request)
    await web.sessions.remove(session.id)
    response = redirect("/dashboard/sign-in?notice=signed_out")
    _set_cookie(request, response, SESSION_COOKIE, "", max_age=0)
    return response


def _sign_in_form(
    request: Request,
    *,
    problem: str | None = None,
    notice: str | None = None,
    status: int = 200,
    next_url: str | None = None,
) -> Response:
    csrf = secrets.token_urlsafe(32)
    context: Mapping[str, Any] = {
        "csrf": csrf,
        "next": next_url or safe_next(request.query_params.get("next")),
        "problem": problem,
        "notice": notice,
    }
    response = render(request, "dashboard/sign_in.html", context, status=status)
    _set_cookie(request, response, SIGN_IN_COOKIE, csrf, max_age=SIGN_IN_FORM_SECONDS)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    secure = web_of(request).secure_cookies or request.url.scheme == "https"
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure,
    )
