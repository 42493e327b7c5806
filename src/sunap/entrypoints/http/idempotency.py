"""Idempotency-Key over HTTP: the door's half of application/idempotency.py. The fingerprint is
the method, the path and the canonical JSON body; a replay sends the stored status and body byte
for byte, with `Idempotent-Replayed: true`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from sunap.application.authentication import Principal
from sunap.application.idempotency import (
    IdempotentCall,
    fingerprint,
    require_valid_key,
    run_idempotently,
)
from sunap.application.ports.idempotency import StoredResponse
from sunap.domain.errors import SunapError

from .container import container_of
from .errors import refusal_response
from .json_response import OrjsonResponse

JSON = "application/json"


@dataclass(frozen=True)
class JsonDoor:
    """Renders a resource (with the success status) or a refusal as the JSON answer."""

    present: Callable[[Any], Awaitable[dict[str, Any]]]
    status: int = 200

    async def render(self, outcome: Any) -> StoredResponse:
        if isinstance(outcome, SunapError):
            response = refusal_response(outcome)
        else:
            response = OrjsonResponse(await self.present(outcome), status_code=self.status)
        return StoredResponse(response.status_code, bytes(response.body), JSON)

    async def send(self, response: StoredResponse, *, replayed: bool) -> Response:
        return Response(
            content=response.body,
            status_code=response.status_code,
            media_type=response.content_type,
            headers={"Idempotent-Replayed": "true"} if replayed else None,
        )


async def canonical_body(request: Request) -> bytes:
    raw = await request.body()
    try:
        return json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        return raw


async def idempotent_call(request: Request, principal: Principal) -> IdempotentCall:
    """The request as its Idempotency-Key (if any) sees it."""
    key = require_valid_key(request.headers.get("idempotency-key"))
    operation = f"{request.method} {request.url.path}"
    # Without a key nothing is claimed or compared: the request's digest would go unused.
    digest = "" if key is None else fingerprint(operation, await canonical_body(request))
    return IdempotentCall(principal.tenant_id, key, digest)


async def respond_idempotently(
    request: Request,
    principal: Principal,
    execute: Callable[[], Awaitable[Any]],
    status: int = 200,
    present: Callable[[Any], Awaitable[dict[str, Any]]] | None = None,
    call: IdempotentCall | None = None,
) -> Response:
    """Run a use case under the request's Idempotency-Key (if any) and answer with what it
    returns, shown by `present` (default: as a payment)."""
    container = container_of(request)
    call = call or await idempotent_call(request, principal)
    door = JsonDoor(present or container.resource, status)
    return await run_idempotently(call, container.idempotency, container.deps.clock, execute, door)
