"""Strict input on every route, checked once, where FastAPI reads the request anyway.

`StrictRoute` refuses a control character in the path or in a query value before the endpoint
runs, and hands the endpoint a `StrictRequest`, whose `json()` (what FastAPI calls to read a JSON
body, and what the idempotency fingerprint reads again from its cache) parses with the strict
parser: invalid JSON, a repeated key, or a control character is `400 INVALID_REQUEST`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from sunap.application.strict_json import RefusedJson, control_character_in, loads_strict

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = loads_strict(await self.body())
            except RefusedJson as refused:
                raise HTTPException(400, detail=str(refused)) from refused
        return self._json


class StrictRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            strict = StrictRequest(request.scope, request.receive)
            refuse_control_characters(strict)
            return await handle(strict)

        return strict_handler


def refuse_control_characters(request: Request) -> None:
    """400 for a control character in the path (its parameters are parts of it) or the query."""
    if control_character_in(request.scope["path"]):
        raise HTTPException(400, detail="The path holds a control character.")
    query: bytes = request.scope["query_string"]
    # HTTP itself refuses raw control bytes: only a %-escape can hide one. Decoded as a whole,
    # as the query's names and values are, without building them.
    if b"%" in query and control_character_in(unquote(query.decode("latin-1"))):
        raise HTTPException(400, detail="A query parameter holds a control character.")
