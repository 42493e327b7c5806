"""Toss's billingKeys where Sunap keeps them: sealed in `billing_keys`, opened with the service's
own secrets key (SUNAP_SECRETS_KEY, or the key file the embedded SQLite default writes beside its
database). A test that must know a raw key learns it here, as an operator holding that key could:
Sunap never shows one, and the sandbox's call and webhook logs name it `{billingKey}`."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sunap.adapters.crypto.fernet_box import secret_box_for
from tests.support.service import RunningService


def toss_billing_keys(database_url: str, secrets_key: str | None = None) -> dict[str, str]:
    """Sunap's billing-key id -> Toss's billingKey, for every key stored in the database."""
    box = secret_box_for(secrets_key, database_url, production=False)
    # A thread (and event loop) of its own: callers may be inside a running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        rows = pool.submit(asyncio.run, _sealed_credentials(database_url)).result()
    return {key_id: box.open(sealed) for key_id, sealed in rows}


def toss_billing_keys_of(service: RunningService) -> dict[str, str]:
    """`toss_billing_keys` of a running `sunap serve`, with its database and secrets key."""
    env = service.env
    return toss_billing_keys(env["SUNAP_DATABASE_URL"], env.get("SUNAP_SECRETS_KEY"))


async def _sealed_credentials(database_url: str) -> list[tuple[str, bytes]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as db:
            found = await db.execute(text("SELECT id, credential_sealed FROM billing_keys"))
            return [(str(key_id), bytes(sealed)) for key_id, sealed in found]
    finally:
        await engine.dispose()
