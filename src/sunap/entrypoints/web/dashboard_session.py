"""Signing in to the dashboard with an API key, staying signed in, signing out, and the CSRF
check every form goes through.

The session cookie is HttpOnly and SameSite=Strict. Over https it is Secure and named
`__Host-sunap_session` (so Path=/ and no Domain, as the prefix demands): a browser keeps such a
cookie from being set by anything but this origin over https, which shuts out a sibling
subdomain or a plain-http page on another port of the host. Over plain http (the loopback
default) the prefix cannot apply, since it requires Secure; the cookie is then `sunap_session`,
limited to /dashboard, and any page on the same host could overwrite it: serve the dashboard over
https wherever someone else's page can run on the same host.

Signing in is protected from other pages twice. The sign-in form has its own CSRF token (a
short-lived cookie matched against the form). That alone stops no one who can write our cookies
(another port of the host, a sibling subdomain): they plant a token of their own beside a form
that carries it, and a server-signed token would not help, since they can fetch a fresh one from
the sign-in page first. What they cannot forge is where the browser says the form came from: a
sign-in is taken only from one of our own pages (Fetch Metadata `Sec-Fetch-Site: same-origin`, or
for a browser that sends none, an `Origin` that is ours), so no other page can sign a browser in
to its tenant (login CSRF). Our pages' `Referrer-Policy: same-origin` (pages.py) is what lets
their forms name our origin.
"""

from __future__ import annotations

import enum
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
COOKIE_PATH = "/dashboard"  # plain http only: a `__Host-` cookie must have Path=/
HOST_PREFIX = "__Host-"
SIGN_IN_FORM_SECONDS = 3600
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 20
MAX_API_KEY = 200


async def current_session(request: Request) -> WebSession | None:
    web = web_of(request)
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE), "")
    return await resume_session(web.sessions, token, web.deps.clock.now())


def sign_in_redirect(request: Request, *, form_of: str | None = None) -> Response:
    """To sign-in, and back here after it. A form sent once the session had ended (`form_of`:
    the page the form belongs to) changed nothing, and its address only takes a POST: the
    operator comes back to that page, told so, to send it again."""
    if request.method != "GET":
        back = quote(safe_next(form_of))
        return redirect(f"/dashboard/sign-in?next={back}&notice=session_ended")
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
    notice = request.query_params.get("notice")
    known = notice in ("signed_out", "session_ended")
    return _sign_in_form(request, notice=translator(request)(f"notice_{notice}") if known else None)


@router.post("/dashboard/sign-in")
async def sign_in(request: Request) -> Response:
    web = web_of(request)
    t = translator(request)
    form = await read_form(request) or {}
    expected = request.cookies.get(cookie_name(request, SIGN_IN_COOKIE), "")
    submitted = form.get("csrf", "")
    next_url = safe_next(form.get("next"))
    source = form_source(request)
    if source in (FormSource.ANOTHER_PAGE, FormSource.UNNAMED):
        log.warning("dashboard sign-in refused: %s", source.value)
        problem = t("problem_origin_null" if source is FormSource.UNNAMED else "problem_other_page")
        return _sign_in_form(request, problem=problem, status=403, next_url=next_url)
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
    old = request.cookies.get(cookie_name(request, SESSION_COOKIE))
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


class FormSource(enum.Enum):
    """Where the browser says a form came from (the value is what the log says)."""

    OUR_PAGE = "sent from one of our pages"
    NO_BROWSER = "no Origin: a client that is no browser, left to the cookie check"
    ANOTHER_PAGE = "the form was sent from another page"
    # `Origin: null`: the browser would not say. Any page can make a form send it (posted from a
    # no-referrer or sandboxed page), so it is refused; a page of ours never sends it, but a
    # browser setting or an extension that withholds referrers does.
    UNNAMED = "the form's Origin was null (the browser withheld where it came from)"


def form_source(request: Request) -> FormSource:
    """Whether the browser says this request came from a page of this origin. Browsers set
    `Sec-Fetch-Site` themselves and no page can change it, but send it only to https and
    loopback origins; otherwise (plain http on a host name, exactly where another port's page
    can write our cookies) and in a browser too old for it, the form is judged by its `Origin`,
    which our pages' same-origin referrer policy lets their forms send. No `Origin` at all is a
    client that is no browser, left to the cookie check."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return FormSource.OUR_PAGE if site == "same-origin" else FormSource.ANOTHER_PAGE
    origin = request.headers.get("origin")
    if origin is None:
        return FormSource.NO_BROWSER
    if origin == "null":
        return FormSource.UNNAMED
    own = {
        f"{request.url.scheme}://{request.headers.get('host', '')}",
        _origin_of_public_url(request),
    }
    return FormSource.OUR_PAGE if origin in own else FormSource.ANOTHER_PAGE


def _origin_of_public_url(request: Request) -> str:
    scheme, _, rest = web_of(request).public_url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _secure(request: Request) -> bool:
    return web_of(request).secure_cookies or request.url.scheme == "https"


def cookie_name(request: Request, name: str) -> str:
    """`__Host-` whenever the cookie is Secure (see the module's docstring)."""
    return HOST_PREFIX + name if _secure(request) else name


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    secure = _secure(request)
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        path="/" if secure else COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure,
    )
