"""How HTTP routes reach the Container bootstrap handed in: through `request.app.state`."""

from __future__ import annotations

from fastapi import Request

from sunap.entrypoints.container import Container


def container_of(request: Request) -> Container:
    container = request.app.state.container
    assert isinstance(container, Container)
    return container
