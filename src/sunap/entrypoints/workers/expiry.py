"""The expiry worker: READY payments nobody paid become EXPIRED once their time to live is up."""

from __future__ import annotations

from datetime import timedelta

from sunap.application.deps import Deps
from sunap.application.expire_unpaid import ExpiryCursor, expire_unpaid

from .loop import Worker


def expiry_worker(deps: Deps, ttl: timedelta, poll_seconds: float) -> Worker:
    cursor = ExpiryCursor()  # payments Toss could not be asked about do not hold up the rest

    async def step() -> int:
        return await expire_unpaid(deps, ttl, cursor=cursor)

    return Worker("expiry", step, poll_seconds)
