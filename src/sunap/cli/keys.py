"""`sunap keys create --tenant NAME --scope S…`: prints the new key alone on its last line."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from sunap.adapters.sql.api_keys import SqlApiKeyStore
from sunap.adapters.sql.engine import create_engine
from sunap.adapters.system import RandomIds, SystemClock
from sunap.application.authentication import SCOPES, hash_api_key, new_api_key
from sunap.config import Settings


def register(commands: Any) -> None:
    keys = commands.add_parser("keys", help="API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a tenant (if new) and an API key for it")
    create.add_argument("--tenant", required=True)
    create.add_argument("--scope", action="append", required=True, choices=sorted(SCOPES))
    create.set_defaults(run=run_create)


def run_create(args: argparse.Namespace) -> int:
    key = asyncio.run(create_key(Settings(), args.tenant, frozenset(args.scope)))
    print(
        f"Created an API key for tenant '{args.tenant}' with scopes {', '.join(sorted(args.scope))}."
    )
    print("Store it now: only its hash is kept.")
    print(key)
    return 0


async def create_key(settings: Settings, tenant: str, scopes: frozenset[str]) -> str:
    engine = create_engine(settings.database_url)
    try:
        store = SqlApiKeyStore(engine)
        ids = RandomIds()
        tenant_id = await store.ensure_tenant(tenant, ids.new_id("ten"))
        key = new_api_key()
        await store.add_key(
            key_id=ids.new_id("key"),
            tenant_id=tenant_id,
            key_hash=hash_api_key(key),
            scopes=scopes,
            now=SystemClock().now(),
        )
        return key
    finally:
        await engine.dispose()
