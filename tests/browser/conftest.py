"""Browser tests: Debian's Chromium driven by Playwright against a real `sunap serve`.

One browser and one service per module. `playwright install` cannot download browsers here:
the browser is the system's (/usr/bin/chromium, installed by `make setup`). Every test page is
photographed into var/screenshots/ (see the README) for a person to look at.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    sync_playwright,
)
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.support.sandbox_server import serving
from tests.support.service import RunningService, running_service

CHROMIUM = os.environ.get("SUNAP_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium reaches out on its own (and, on a closed
# network, waits for it).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    with launched_chromium(playwright) as launched:
        yield launched


@contextmanager
def launched_chromium(playwright: Playwright, *extra_args: str) -> Iterator[Browser]:
    """Chromium with the tests' flags and `extra_args` (e.g. `--host-resolver-rules=…`)."""
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args]
    )
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service(Path(tmp_path_factory.mktemp("sunap-web"))) as svc:
        yield svc


@pytest.fixture(scope="module")
def sandbox(service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as client:
        yield client


@dataclass
class Traffic:
    """Every request a browser context made, to tell which origins it reached."""

    requests: list[Request] = field(default_factory=list)

    def origins(self, *, navigations: bool = True) -> set[str]:
        return {
            origin_of(r.url) for r in self.requests if navigations or not r.is_navigation_request()
        }

    def navigations_to(self, path_part: str) -> list[str]:
        return [r.url for r in self.requests if r.is_navigation_request() and path_part in r.url]


@dataclass
class Visit:
    context: BrowserContext
    page: Page
    traffic: Traffic
    problems: list[str]  # console errors: a CSP refusal, a missing asset, a script error


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    """A fresh browser context (no cookies) in Korean, recording its traffic and console errors."""
    with new_visit(browser, locale="ko-KR") as opened:
        yield opened


@contextmanager
def new_visit(browser: Browser, **options: object) -> Iterator[Visit]:
    context = browser.new_context(**options)  # type: ignore[arg-type]
    traffic = Traffic()
    context.on("request", lambda request: traffic.requests.append(request))
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        yield Visit(context, page, traffic, problems)
    finally:
        context.close()


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def fits_without_sideways_scroll(page: Page) -> bool:
    width = page.evaluate("document.documentElement.scrollWidth")
    return bool(width <= page.viewport_size["width"])  # type: ignore[index]


def unlabeled_controls(page: Page) -> list[str]:
    """Visible form controls a screen reader could not name."""
    found = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden')
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.name || e.id)"""
    )
    return list(found)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- the merchant's own site, on an origin of its own ------------------------------------------


async def _merchant_page(request: StarletteRequest) -> HTMLResponse:
    params = "".join(
        f'<li><span class="name">{k}</span>=<span class="value" id="{k}">{html.escape(v)}</span></li>'
        for k, v in request.query_params.items()
        if re.fullmatch(r"[A-Za-z]+", k)
    )
    title = "merchant success" if request.url.path.endswith("success") else "merchant fail"
    referer = html.escape(request.headers.get("referer", ""))
    return HTMLResponse(
        f"<!doctype html><title>{title}</title><h1>{title}</h1><ul>{params}</ul>"
        f'<p>Referer: <span id="referer">{referer}</span></p>'
    )


async def _attacker_page(request: StarletteRequest) -> HTMLResponse:
    """Another site that tries to make a signed-in operator's browser cancel a payment."""
    target = request.query_params.get("target", "")
    return HTMLResponse(
        "<!doctype html><title>win a prize</title>"
        f'<form id="f" method="post" action="{target}">'
        '<input name="cancel_amount" value="1000"><input name="cancel_reason" value="forged">'
        '<input name="form_key" value="forged-1"><input name="csrf" value="guess"></form>'
        "<script>document.getElementById('f').submit()</script>"
    )


async def _sign_in_as_page(request: StarletteRequest) -> HTMLResponse:
    """Another page of the same host (only the port differs, so it may write the dashboard's
    cookies) that signs the visitor's browser in to its own tenant: login CSRF."""
    target = html.escape(request.query_params.get("target", ""))
    key = html.escape(request.query_params.get("key", ""))
    response = HTMLResponse(
        "<!doctype html><title>win a prize</title>"
        f'<form id="f" method="post" action="{target}">'
        f'<input name="csrf" value="planted123"><input name="api_key" value="{key}">'
        '<input name="next" value="/dashboard/payments"></form>'
        "<script>document.getElementById('f').submit()</script>"
    )
    for name in ("sunap_sign_in", "__Host-sunap_sign_in"):  # the second needs https: refused
        response.set_cookie(name, "planted123", path="/dashboard", samesite="lax")
    return response


@pytest.fixture(scope="module")
def merchant() -> Iterator[str]:
    """A merchant's site: its success and fail pages echo the query they were given, and the
    Referer they were sent (none: every page of ours keeps its address to our own origin)."""
    app = Starlette(
        routes=[
            Route("/shop/success", _merchant_page),
            Route("/shop/fail", _merchant_page),
            Route("/prize", _attacker_page),
            Route("/sign-in-as", _sign_in_as_page),
            Route("/favicon.ico", lambda _: Response(status_code=204)),
        ]
    )
    with serving(app) as base_url:
        yield base_url
