"""The pages' stylesheet, script and icon, served by Sunap itself (no CDN) from the package."""

from __future__ import annotations

import os

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

ASSETS_PATH = "/assets"


class Assets(StaticFiles):
    def __init__(self) -> None:
        super().__init__(packages=[("sunap.entrypoints.web", "static")])

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response


async def favicon(_: Request) -> Response:
    """Browsers ask for /favicon.ico on every page that names no icon (the sandbox's window)."""
    return RedirectResponse(f"{ASSETS_PATH}/favicon.svg", status_code=301)
