"""`sunap tenants set-toss --tenant NAME --secret-key-file F …` and `sunap tenants list`.

Secrets are read from a file or from standard input (`-`), never from the command line, where
any user of the machine could read them in the process list or the shell's history.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from sunap.adapters.sql.api_keys import SqlApiKeyStore
from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.pg_accounts import SqlPgAccountStore
from sunap.adapters.system import RandomIds, SystemClock
from sunap.application.pg_accounts import AccountRefused, give_tenant_own_account
from sunap.application.secrets import SecretsUnavailable
from sunap.bootstrap import secret_box
from sunap.config import Settings

STDIN = "-"


def register(commands: Any) -> None:
    tenants = commands.add_parser("tenants", help="tenants and their Toss accounts")
    actions = tenants.add_subparsers(dest="action", required=True)
    set_toss = actions.add_parser("set-toss", help="give a tenant its own Toss account")
    set_toss.add_argument("--tenant", required=True)
    set_toss.add_argument(
        "--secret-key-file", required=True, help="a file holding the secret key, or - for stdin"
    )
    set_toss.add_argument("--client-key", default=None)
    set_toss.add_argument(
        "--webhook-secret-file", default=None, help="a file holding the webhook secret, or -"
    )
    set_toss.set_defaults(run=run_set_toss)
    listing = actions.add_parser("list", help="every tenant and the Toss account it uses")
    listing.set_defaults(run=run_list)


def read_secret(path: str, what: str) -> str:
    """A secret from a file, or from stdin with `-`; surrounding whitespace dropped."""
    try:
        raw = sys.stdin.read() if path == "-" else open(path, encoding="utf-8-sig").read()  # noqa: SIM115
    except OSError as error:
        raise AccountRefused(f"Cannot read the {what} from {path}: {error.strerror}.") from None
    secret = raw.strip()
    if not secret:
        raise AccountRefused(f"The {what} in {path} is empty.")
    return secret


def run_set_toss(args: argparse.Namespace) -> int:
    if STDIN == args.secret_key_file == args.webhook_secret_file:
        print("sunap: only one secret can come from stdin.", file=sys.stderr)
        return 2
    try:
        secret_key = read_secret(args.secret_key_file, "secret key")
        webhook = (
            read_secret(args.webhook_secret_file, "webhook secret")
            if args.webhook_secret_file
            else None
        )
        asyncio.run(_set_toss(Settings(), args.tenant, secret_key, args.client_key, webhook))
    except (AccountRefused, SecretsUnavailable) as refused:
        print(f"sunap: {refused}", file=sys.stderr)
        return 2
    print(f"Tenant '{args.tenant}' now uses its own Toss account for new payments.")
    print(f"Its Toss webhooks go to /v1/webhooks/toss/{args.tenant}.")
    return 0


async def _set_toss(
    settings: Settings,
    tenant: str,
    secret_key: str,
    client_key: str | None,
    webhook_secret: str | None,
) -> None:
    box = secret_box(settings)
    engine = create_engine(settings.database_url)
    try:
        tenant_id = await SqlApiKeyStore(engine).ensure_tenant(tenant, RandomIds().new_id("ten"))
        await give_tenant_own_account(
            tenant_id,
            secret_key=secret_key,
            client_key=client_key,
            webhook_secret=webhook_secret,
            store=SqlPgAccountStore(engine),
            box=box,
            now=SystemClock().now(),
            production=settings.production,
        )
    finally:
        await engine.dispose()


def run_list(_: argparse.Namespace) -> int:
    rows = asyncio.run(_list(Settings()))
    print("tenant\taccount\tclient key\twebhook secret\tupdated")
    for row in rows:
        account = "default" if row.pg_account_id == "default" else "own"
        updated = row.updated_at.isoformat(timespec="seconds") if row.updated_at else "-"
        secret = "set" if row.has_webhook_secret else "-"
        print(f"{row.tenant_name}\t{account}\t{row.client_key or '-'}\t{secret}\t{updated}")
    return 0


async def _list(settings: Settings) -> list[Any]:
    engine = create_engine(settings.database_url)
    try:
        return await SqlPgAccountStore(engine).tenants()
    finally:
        await engine.dispose()
