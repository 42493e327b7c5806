"""The HTTP app holds its routes itself, not nested routers (entrypoints/http/app.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from sunap.bootstrap import build_app
from sunap.config import Settings
from sunap.entrypoints.http import billing, operations, payments, webhooks
from sunap.entrypoints.http.app import add_routes_of
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
