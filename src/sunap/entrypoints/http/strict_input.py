"""Strict input on every route, checked once, where FastAPI reads the request anyway.

`StrictRoute` refuses a control character in the path or in a query value before the endpoint
runs, and hands the endpoint a `StrictRequest`, whose `json()` (what FastAPI calls to read a JSON
body, and what the idempotency fingerprint reads again from its cache) parses with the strict
parser: invalid JSON, a repeated key, or a control character is `400 INVALID_REQUEST`.

It also checks the route's API key itself (`Requires`, auth.py) rather than as a dependency
FastAPI solves: FastAPI's solving of one sub-dependency (its own parameters, cache key and
checks, on every request) cost more than the key check it ran, a tenth of a GET's CPU.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from sunap.application.authentication import Principal
from sunap.application.strict_json import RefusedJson, control_character_in, loads_strict

from .auth import Requires, authenticate

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = loads_strict(await self.body())
            except RefusedJson as refused:
                raise HTTPException(400, detail=str(refused)) from refused
        return self._json


# The principal the route's key check found, for the endpoint's call in the same request's task.
_PRINCIPAL: ContextVar[Principal] = ContextVar("principal")


class StrictRoute(APIRoute):
    _key_scope: str | None

    def get_route_handler(self) -> Handler:
        if not hasattr(self, "_key_scope"):  # FastAPI may build the handler more than once
            self._key_scope = _check_key_ahead(self.dependant)
        key_scope = self._key_scope
        handle = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            strict = StrictRequest(request.scope, request.receive)
            refuse_control_characters(strict)
            if key_scope is not None:
                _PRINCIPAL.set(await authenticate(strict, key_scope))
            return await handle(strict)

        return strict_handler


def _check_key_ahead(dependant: Dependant) -> str | None:
    """The scope of the route's `Requires` dependency, taken out of what FastAPI solves: the
    endpoint gets the principal the route's handler found (one per route at most)."""
    found = [sub for sub in dependant.dependencies if isinstance(sub.call, Requires)]
    if not found:
        return None
    if len(found) > 1 or found[0].name is None:
        raise ValueError(f"{dependant.path}: one named API key parameter per route")
    (key,) = found
    assert isinstance(key.call, Requires) and key.name is not None
    dependant.dependencies.remove(key)
    endpoint, name = dependant.call, key.name
    assert endpoint is not None

    @functools.wraps(endpoint)
    async def with_principal(**values: Any) -> Any:
        return await endpoint(**values, **{name: _PRINCIPAL.get()})

    dependant.call = with_principal
    return key.call.scope


def refuse_control_characters(request: Request) -> None:
    """400 for a control character in the path (its parameters are parts of it) or the query."""
    if control_character_in(request.scope["path"]):
        raise HTTPException(400, detail="The path holds a control character.")
    query: bytes = request.scope["query_string"]
    # HTTP itself refuses raw control bytes: only a %-escape can hide one. Decoded as a whole,
    # as the query's names and values are, without building them.
    if b"%" in query and control_character_in(unquote(query.decode("latin-1"))):
        raise HTTPException(400, detail="A query parameter holds a control character.")
