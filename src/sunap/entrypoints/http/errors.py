"""One registry from errors to HTTP answers. Every non-2xx body is {code, message[, …]}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sunap.application.errors import (
    ConcurrentUpdate,
    InvalidPaymentKey,
    PaymentRejected,
    PgMismatch,
    PgTimeout,
    PgUnavailable,
)
from sunap.application.presenters import payment_resource
from sunap.domain import errors as d

STATUS_BY_ERROR: dict[type[d.DomainError], int] = {
    d.InvalidRequest: 400,
    d.PaymentNotFound: 404,
    d.DuplicateOrderId: 409,
    d.AmountMismatch: 400,
    d.AlreadyProcessedPayment: 409,
    d.PaymentKeyTaken: 400,
    InvalidPaymentKey: 400,
    PgMismatch: 502,
    d.ConfirmInProgress: 409,
    d.NotConfirmableStatus: 409,
    d.NotCancelableStatus: 409,
    d.ExceedsBalance: 422,
    d.RefundAccountRequired: 400,
    d.PartialCancelNotAllowed: 400,
    d.IllegalTransition: 409,
    PaymentRejected: 402,
    PgTimeout: 504,
    PgUnavailable: 502,
    ConcurrentUpdate: 409,
}


class ApiError(Exception):
    """An edge-only error: authentication, idempotency, routing."""

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


def domain_error_response(error: d.DomainError) -> JSONResponse:
    status = next(
        (s for cls, s in STATUS_BY_ERROR.items() if isinstance(error, cls)),
        400,
    )
    body = error_body(error.code, error.message)
    if isinstance(error, InvalidPaymentKey) and error.pg_code is not None:
        body.update(pgCode=error.pg_code)
    if isinstance(error, PaymentRejected):
        body.update(
            pgCode=error.pg_code,
            pgMessage=error.pg_message,
            payment=payment_resource(error.payment),
        )
    return JSONResponse(body, status_code=status)


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for problem in error.errors()[:5]:
        where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body")
        kind = problem.get("type", "")
        if kind == "extra_forbidden":
            parts.append(f"unknown field '{where}'")
        elif kind == "json_invalid":
            parts.append("the body is not valid JSON")
        else:
            parts.append(f"{where or 'body'}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "The request is not valid."


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, d.DomainError)
        return domain_error_response(exc)

    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers
        )

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(error_body("INVALID_REQUEST", _validation_message(exc)), 400)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
        code = codes.get(
            exc.status_code, "INVALID_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR"
        )
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404:
            message = "No such route."
        return JSONResponse(error_body(code, message), status_code=exc.status_code)

    app.add_exception_handler(d.DomainError, on_domain_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
