"""The last stop for an exception no route handled: a `{code, message}` answer on a connection
that stays open.

Starlette's own last resort (ServerErrorMiddleware) answers and then raises again, and uvicorn
closes a keep-alive connection whose request raised. Here the exception ends instead: the
database being unreachable, or not at this release's schema (`sunap migrate` not run), is
`503 SERVICE_UNAVAILABLE` with `Retry-After`; anything else is logged and `500 INTERNAL_ERROR`. An exception raised after the whole answer went out (a mounted
app that answered and raised again) is logged and dropped. Only one raised halfway through an
answer still goes up: nothing but closing the connection can end half an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sunap.application.schema_fit import SchemaFit

from .errors import error_body
from .json_response import OrjsonResponse

log = logging.getLogger("sunap.http")

OUTAGE_RETRY_AFTER_SECONDS = 5
NOT_MIGRATED = "The database is not at this release's schema: run `sunap migrate`."
# `sunap migrate` cannot help there: it refuses a revision that is not Sunap's.
FOREIGN_SCHEMA = (
    "The database is at a schema revision that is not Sunap's: check SUNAP_DATABASE_URL."
)
# What a schema this release cannot run on answers, by its fit.
SCHEMA_PROBLEMS = {SchemaFit.BEHIND: NOT_MIGRATED, SchemaFit.FOREIGN: FOREIGN_SCHEMA}


class ErrorBoundary:
    def __init__(
        self,
        app: ASGIApp,
        *,
        is_outage: Callable[[BaseException], bool],
        schema_fit: Callable[[], Awaitable[SchemaFit | None]] | None = None,
    ) -> None:
        self.app = app
        self.is_outage = is_outage
        self.schema_fit = schema_fit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def watched_send(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as error:
            if finished:
                log.error("error after the answer was sent", exc_info=error)
                return
            if started:
                raise
            await (await self.answer(error))(scope, receive, send)

    async def answer(self, error: Exception) -> OrjsonResponse:
        # Engines hide bound parameters, so the first line names the failure and no value.
        first_line = str(error).partition("\n")[0][:200]
        if self.is_outage(error):
            log.warning("the database is unreachable: %s: %s", type(error).__name__, first_line)
            return unavailable("The database is unreachable; retry later.")
        fit = None if self.schema_fit is None else await self.schema_fit()
        if fit is not None and not fit.usable:
            problem = SCHEMA_PROBLEMS[fit]
            log.error("%s %s: %s", problem, type(error).__name__, first_line)
            return unavailable(problem)
        log.error("unexpected error", exc_info=error)
        return OrjsonResponse(
            error_body("INTERNAL_ERROR", "Something went wrong on our side; nothing was guessed."),
            status_code=500,
        )


def unavailable(message: str, **extra: Any) -> OrjsonResponse:
    """`503 SERVICE_UNAVAILABLE` with `Retry-After`: the database cannot serve just now."""
    return OrjsonResponse(
        error_body("SERVICE_UNAVAILABLE", message, **extra),
        status_code=503,
        headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
    )
