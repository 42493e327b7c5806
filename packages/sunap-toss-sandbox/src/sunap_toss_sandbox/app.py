"""The sandbox as one ASGI app: the Toss API, the control plane and the payment window page.

Standalone, the app's lifespan starts and stops its background loop. Mounted in a host app (which
does not run a mounted app's lifespan), the loop starts on the first request; the host should
`await app.state.sandbox.stop()` on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.answers import Answer
from sunap_toss_sandbox.api import toss_routes
from sunap_toss_sandbox.checkout import checkout_routes
from sunap_toss_sandbox.clock import SandboxClock
from sunap_toss_sandbox.control import control_routes
from sunap_toss_sandbox.pipeline import render, wants_english
from sunap_toss_sandbox.runtime import SandboxRuntime


def create_sandbox_app(
    *,
    webhook_url: str | None = None,
    clock: SandboxClock | None = None,
    webhook_time_scale: float = 1.0,
    consecutive_cancel_window_seconds: float = choices.CONSECUTIVE_CANCEL_WINDOW_SECONDS,
    rate_limit_per_minute: int | None = None,
    on_faults_cleared: Callable[[], None] | None = None,
) -> Starlette:
    """A fresh sandbox with its own state. `webhook_time_scale` compresses the retry schedule
    (1/60 makes Toss's "1 minute" one second). `consecutive_cancel_window_seconds` is Toss's
    one-second cancel rule (0: off); `rate_limit_per_minute` limits each API per key (None: off).
    `on_faults_cleared` is called when its faults are cleared or it is reset: a host that mounts
    it closes its client's circuit breaker there, so the next case starts with Toss "back".
    """
    runtime = SandboxRuntime(
        webhook_url=webhook_url,
        clock=clock,
        webhook_time_scale=webhook_time_scale,
        consecutive_cancel_window_seconds=consecutive_cancel_window_seconds,
        rate_limit_per_minute=rate_limit_per_minute,
        on_faults_cleared=on_faults_cleared,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = "NOT_FOUND" if status == 404 else "INVALID_REQUEST"
        return render(Answer.error(code, status), english=wants_english(request))

    async def internal_error(request: Request, exc: Exception) -> Response:
        answer = Answer.error("FAILED_INTERNAL_SYSTEM_PROCESSING", 500)
        return render(answer, english=wants_english(request))

    app = Starlette(
        routes=[*toss_routes(runtime), *control_routes(runtime), *checkout_routes(runtime)],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    app.state.sandbox = runtime
    return app
