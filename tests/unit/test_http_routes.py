"""The HTTP app holds its routes itself, not nested routers (entrypoints/http/app.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import Mount, Route

from sunap.application.authentication import Principal
from sunap.bootstrap import build_app
from sunap.config import Settings
from sunap.entrypoints.http import billing, operations, payments, strict_input, webhooks
from sunap.entrypoints.http.app import add_routes_of
from sunap.entrypoints.http.auth import requires
from sunap.entrypoints.http.strict_input import StrictRoute
from sunap.entrypoints.web import checkout, dashboard, dashboard_session, dashboard_subscriptions
from tests.support.service import TEST_SECRETS_KEY

ROUTERS = [
    payments.router,
    billing.router,
    webhooks.router,
    operations.router,
    checkout.router,
    dashboard_session.router,
    dashboard.router,
    dashboard_subscriptions.router,
]


def test_the_routes_are_the_apps_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A nested router (what include_router makes now) matched each request twice per router
    # ahead of the one that took it.
    monkeypatch.setenv("SUNAP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'routes.db'}")
    monkeypatch.setenv("SUNAP_SECRETS_KEY", TEST_SECRETS_KEY)
    app = build_app(Settings(), self_url="http://127.0.0.1:8000")

    assert all(isinstance(route, Route | Mount) for route in app.router.routes)
    on_app = [route for route in app.router.routes if isinstance(route, APIRoute)]
    assert on_app == [route for router in ROUTERS for route in router.routes]


def test_a_router_with_dependencies_of_its_own_is_refused() -> None:
    async def check() -> None:
        pass

    router = APIRouter(dependencies=[Depends(check)])
    with pytest.raises(ValueError, match="include_router"):
        add_routes_of(FastAPI(), router)


class Thing(BaseModel):
    n: int


class Refused(Exception):
    pass


def things_app(monkeypatch: pytest.MonkeyPatch, checked: list[str]) -> tuple[FastAPI, APIRoute]:
    async def key_check(request: Request, scope: str) -> Principal:
        checked.append(scope)
        if request.headers.get("authorization") != "Bearer good":
            raise Refused()
        return Principal("tenant-1", "One", frozenset({scope}))

    monkeypatch.setattr(strict_input, "authenticate", key_check)
    router = APIRouter(route_class=StrictRoute)

    @router.post("/things/{name}")
    async def make(
        name: str, body: Thing, principal: Annotated[Principal, Depends(requires("things:write"))]
    ) -> dict[str, object]:
        return {"tenant": principal.tenant_id, "name": name, "n": body.n}

    app = FastAPI()
    app.add_exception_handler(Refused, lambda *_: JSONResponse({"code": "UNAUTHORIZED"}, 401))
    add_routes_of(app, router)
    route = router.routes[0]
    assert isinstance(route, APIRoute)
    return app, route


async def test_a_strict_route_checks_its_api_key_itself_and_hands_the_endpoint_the_principal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # FastAPI solving the key check as a sub-dependency cost more than the check: a tenth of a GET.
    checked: list[str] = []
    app, route = things_app(monkeypatch, checked)
    assert route.dependant.dependencies == []  # nothing left for FastAPI to solve
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        made = await client.post(
            "/things/cup", json={"n": 2}, headers={"Authorization": "Bearer good"}
        )
    assert made.json() == {"tenant": "tenant-1", "name": "cup", "n": 2}
    assert checked == ["things:write"]


async def test_a_refused_key_comes_before_any_complaint_about_the_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, _ = things_app(monkeypatch, [])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        refused = await client.post("/things/cup", json={"n": "many"})
        not_json = await client.post(
            "/things/cup", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        invalid = await client.post(
            "/things/cup", json={"n": "many"}, headers={"Authorization": "Bearer good"}
        )
    # The key is checked before the body is read: FastAPI reads and parses it before solving
    # dependencies, so a body that was not JSON was a 400 even without a key.
    assert refused.status_code == 401
    assert not_json.status_code == 401
    assert invalid.status_code == 422
