"""The expiry worker: READY payments nobody paid become EXPIRED once their time to live is up."""

from __future__ import annotations

from datetime import timedelta

from sunap.application.deps import Deps
from sunap.application.expire_unpaid import EXPIRY_RECHECK_AFTER, ExpiryCursor, expire_unpaid

from .loop import Worker


def expiry_worker(
    deps: Deps,
    ttl: timedelta,
    poll_seconds: float,
    recheck_after: timedelta = EXPIRY_RECHECK_AFTER,
) -> Worker:
    cursor = ExpiryCursor()  # payments Toss could not be asked about do not hold up the rest

    async def step() -> int:
        return await expire_unpaid(deps, ttl, cursor=cursor, recheck_after=recheck_after)

    return Worker("expiry", step, poll_seconds)
