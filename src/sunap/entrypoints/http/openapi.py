"""An OpenAPI 3.1 document that says what the service really does.

Routes declare themselves with `documented(...)`: the scope their key needs, the success status
and its model, and the errors they answer beyond the ones every route of that kind can answer
(bad input, no key, a missing scope, the rate limit, a database outage...). `install_openapi`
then adds what FastAPI cannot know: the bearer scheme, `X-Request-Id` on every operation, and no
`422 HTTPValidationError` (the service answers `400 INVALID_REQUEST` with `{code, message}`).
A route added later fits by calling `documented` too (docs/api.md, "Conventions").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from .resources import ErrorBody

SECURITY_SCHEME = "apiKey"
SCOPES = {
    "payments:read": "Read payments and their audit trail.",
    "payments:write": "Create and confirm payments.",
    "payments:cancel": "Cancel or refund payments.",
    "billing": "Billing keys and subscriptions.",
    "admin": "Everything a tenant may do.",
}
TAGS = [
    {"name": "payments", "description": "Payments for orders: create, confirm, cancel, audit."},
    {"name": "billing", "description": "Billing keys, charges on them, and subscriptions."},
    {"name": "webhooks", "description": "Where Toss delivers its webhooks (no API key)."},
    {"name": "operations", "description": "Liveness, readiness and Prometheus metrics."},
]

# What each status means, and its codes (docs/api.md): the first code is the example's.
MEANINGS: dict[int, tuple[str, tuple[str, ...]]] = {
    400: ("Bad input; nothing was changed.", ("INVALID_REQUEST",)),
    401: ("No API key, or one we do not know.", ("UNAUTHORIZED",)),
    402: ("Toss refused it.", ("PG_REJECTED",)),
    403: ("The key lacks the scope this call needs.", ("FORBIDDEN",)),
    404: ("No such payment for this tenant.", ("PAYMENT_NOT_FOUND",)),
    409: ("It conflicts with the payment's state.", ("CONFIRM_IN_PROGRESS",)),
    413: ("The body is larger than allowed; it was not read.", ("PAYLOAD_TOO_LARGE",)),
    422: ("Understood, and refused.", ("IDEMPOTENCY_KEY_REUSED",)),
    429: ("Over the key's rate limit; nothing was executed.", ("RATE_LIMITED",)),
    502: ("Toss failed or disagreed; the outcome is settled later.", ("PG_UNAVAILABLE",)),
    503: ("The database is unreachable; retry later.", ("SERVICE_UNAVAILABLE",)),
    504: ("Toss did not answer in time; the outcome is settled later.", ("PG_TIMEOUT",)),
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Replays the first answer of a POST sent again with the same key and body "
    "(kept 24 hours, per tenant).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 300, "pattern": "^[ -~]+$"},
    "example": "2f1b9c1e-3f5d-4a55-8f5c-0b6f2a7e9d10",
}
REQUEST_ID = {
    "name": "X-Request-Id",
    "in": "header",
    "required": False,
    "description": "The caller's id for this request, for logs on both sides.",
    "schema": {"type": "string"},
    "example": "req-7f3a9c",
}

# What the strict parser lets through in strings (tab and newline only in free text), written
# into the document so that a client (or a fuzzer) knows a control character is refused.
FREE_TEXT = "^[^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]*$"
ONE_LINE = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
STRING_RULES = ("pattern", "enum", "const", "format")

Errors = Mapping[int, Sequence[str]]


def documented(
    *,
    scope: str | None,
    success: int = 200,
    model: type[BaseModel] | None = None,
    errors: Errors | None = None,
    idempotent: bool = False,
    has_body: bool = False,
    request_body: dict[str, Any] | None = None,
    media_type: str = "application/json",
    database: bool = True,
) -> dict[str, Any]:
    """Keyword arguments for a route decorator: `@router.post(path, **documented(...))`.

    `scope=None` is a route without an API key. `errors` maps each status the route itself can
    answer to its codes; the ones every such route shares are added here. `request_body` is an
    OpenAPI requestBody for a route that reads its body raw. `database=False`: a route that
    answers without the database (so never 503)."""
    codes: dict[int, list[str]] = {400: ["INVALID_REQUEST"]}
    if database:
        codes[503] = ["SERVICE_UNAVAILABLE"]
    if scope is not None:
        codes.update({401: ["UNAUTHORIZED"], 403: ["FORBIDDEN"], 429: ["RATE_LIMITED"]})
    if has_body or request_body is not None:
        codes[413] = ["PAYLOAD_TOO_LARGE"]
    if idempotent:
        codes.setdefault(409, []).append("IDEMPOTENCY_KEY_IN_USE")
        codes.setdefault(422, []).append("IDEMPOTENCY_KEY_REUSED")
    for status, named in (errors or {}).items():
        codes[status] = [*named, *(c for c in codes.get(status, []) if c not in named)]
    responses: dict[int | str, dict[str, Any]] = {success: _success(success, model, media_type)}
    responses.update({status: _error(status, codes[status]) for status in sorted(codes)})
    parameters = [IDEMPOTENCY_KEY] if idempotent else []
    security = [{SECURITY_SCHEME: [scope]}] if scope is not None else []
    extra: dict[str, Any] = {"parameters": parameters, "security": security}
    if request_body is not None:
        extra["requestBody"] = request_body
    return {"status_code": success, "responses": responses, "openapi_extra": extra}


def _success(status: int, model: type[BaseModel] | None, media_type: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": "Done."}
    if model is not None:
        answer["model"] = model
    elif media_type != "application/json":
        answer["content"] = {media_type: {"schema": {"type": "string"}}}
    return answer


def _error(status: int, codes: Sequence[str]) -> dict[str, Any]:
    meaning, _ = MEANINGS.get(status, ("Refused.", ()))
    examples = {code: {"value": {"code": code, "message": meaning}} for code in codes}
    answer: dict[str, Any] = {
        "model": ErrorBody,
        "description": f"{meaning} Codes: {', '.join(codes)}.",
        "content": {"application/json": {"examples": examples}},
    }
    if status in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer


def install_openapi(app: FastAPI) -> None:
    """Builds the document once, on first request, from the routes' declarations."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=TAGS,
            )
            app.openapi_schema = honest(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def honest(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A tenant's API key (`sunap keys create`). Scopes, named in each "
        "operation's security requirement: "
        + "; ".join(f"`{scope}`: {what}" for scope, what in SCOPES.items()),
    }
    schemas = components.get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for operation in _operations(document):
        responses = operation.get("responses", {})
        if "HTTPValidationError" in str(responses.get("422", "")):
            del responses["422"]
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == REQUEST_ID["name"] for p in parameters):
            parameters.append(REQUEST_ID)
        for parameter in parameters:
            if parameter.get("in") in ("path", "query"):
                _refuse_control_characters(parameter.get("schema", {}), ONE_LINE, schemas, set())
            if parameter.get("in") == "path":
                parameter["schema"].setdefault("minLength", 1)
        for content in operation.get("requestBody", {}).get("content", {}).values():
            _refuse_control_characters(content.get("schema", {}), FREE_TEXT, schemas, set())
    return document


def _refuse_control_characters(
    schema: dict[str, Any], pattern: str, schemas: dict[str, Any], seen: set[str]
) -> None:
    """Adds `pattern` to every string of `schema` (and the models it refers to) that has no
    rule of its own; the names of free-form objects never hold a control character."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen and name in schemas:
            seen.add(name)
            _refuse_control_characters(schemas[name], pattern, schemas, seen)
    if schema.get("type") == "string" and not any(rule in schema for rule in STRING_RULES):
        schema["pattern"] = pattern
    parts = [*schema.get("properties", {}).values()]
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        parts += schema.get(key, [])
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            parts.append(schema[key])
    if isinstance(schema.get("additionalProperties"), dict):
        names = schema.setdefault("propertyNames", {"type": "string"})
        names.setdefault("type", "string")
        _refuse_control_characters(names, ONE_LINE, schemas, seen)
    for part in parts:
        _refuse_control_characters(part, pattern, schemas, seen)


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    methods = ("get", "put", "post", "delete", "patch")
    return [
        operation
        for item in document.get("paths", {}).values()
        for method, operation in item.items()
        if method in methods
    ]
