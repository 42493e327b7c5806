"""Errors as HTTP answers, with the status from the shared registry (entrypoints/errors.py).
Every non-2xx body is {code, message[, …]}."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from sunap.application.errors import InvalidPaymentKey, PaymentRejected
from sunap.application.presenters import payment_resource
from sunap.domain import errors as d
from sunap.entrypoints.errors import status_of, validation_message

from .json_response import OrjsonResponse


class ApiError(Exception):
    """An HTTP-edge-only error (routing, limits); every other error is in the shared registry."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def refusal_response(error: d.SunapError) -> OrjsonResponse:
    body = error_body(error.code, error.message)
    if isinstance(error, InvalidPaymentKey) and error.pg_code is not None:
        body.update(pgCode=error.pg_code)
    if isinstance(error, PaymentRejected):
        body.update(
            pgCode=error.pg_code,
            pgMessage=error.pg_message,
            payment=payment_resource(error.payment),
        )
    body.update(error.extra)
    retry_after = getattr(error, "retry_after_seconds", None)
    headers = None if retry_after is None else {"Retry-After": str(retry_after)}
    return OrjsonResponse(body, status_code=status_of(error), headers=headers)


# A page for a routing error under the web pages' prefixes (web.error_pages), or None.
ErrorPage = Callable[[Request, int, Mapping[str, str] | None], Response | None]


def install_error_handlers(app: FastAPI, *, error_page: ErrorPage | None = None) -> None:
    async def on_refusal(_: Request, exc: Exception) -> OrjsonResponse:
        assert isinstance(exc, d.SunapError)
        return refusal_response(exc)

    async def on_api_error(_: Request, exc: Exception) -> OrjsonResponse:
        assert isinstance(exc, ApiError)
        return OrjsonResponse(
            error_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers
        )

    async def on_validation(request: Request, exc: Exception) -> OrjsonResponse:
        assert isinstance(exc, RequestValidationError)
        problems = exc.errors()
        message = (
            NOT_SENT_AS_JSON
            if body_not_read_as_json(request, problems)
            else validation_message(problems)
        )
        return OrjsonResponse(error_body("INVALID_REQUEST", message), 400)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        page = error_page and error_page(request, exc.status_code, exc.headers)
        if page is not None:
            return page
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
        code = codes.get(
            exc.status_code, "INVALID_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR"
        )
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404:
            message = "No such route."
        headers = exc.headers
        if exc.status_code == 405:  # Starlette's Allow names the first matching route's only
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return OrjsonResponse(
            error_body(code, message), status_code=exc.status_code, headers=headers
        )

    app.add_exception_handler(d.SunapError, on_refusal)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


NOT_SENT_AS_JSON = "The body must be JSON, sent with the header Content-Type: application/json."


def body_not_read_as_json(request: Request, problems: Sequence[Mapping[str, Any]]) -> bool:
    """The whole body was refused because its Content-Type is not JSON's (`curl -d` without
    `-H`, which sends a form's): FastAPI then hands the endpoint the raw bytes, and pydantic's
    complaint about them ("a valid dictionary") would not say what to fix."""
    content_type = request.headers.get("content-type")
    if content_type is None:  # FastAPI reads a body without one as JSON
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    sent_as_json = media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
    return not sent_as_json and any(tuple(p.get("loc", ())) == ("body",) for p in problems)


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path, for a 405's Allow header (Starlette's names
    the first matching route's only): each method is tried against the routes as they match."""
    allowed = [
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)
