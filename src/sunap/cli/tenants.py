"""`sunap tenants set-toss --tenant NAME --secret-key-file F …` and `sunap tenants list`.

Secrets are read from a file or from standard input (`-`), never from the command line, where
any user of the machine could read them in the process list or the shell's history.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from .output import USAGE, JsonOption, TenantOption, fail, print_json, print_rows, say

if TYPE_CHECKING:
    from sunap.application.pg_accounts import TenantAccount
    from sunap.config import Settings

STDIN = "-"


def register(app: typer.Typer) -> None:
    tenants = typer.Typer(help="Tenants and their Toss accounts.", no_args_is_help=True)
    tenants.command("set-toss", help="Give a tenant its own Toss account.")(set_toss)
    tenants.command("list", help="Every tenant and the Toss account it uses.")(list_tenants)
    app.add_typer(tenants, name="tenants")


def read_secret(path: str, what: str) -> str:
    """A secret from a file, or from stdin with `-`; surrounding whitespace dropped."""
    from sunap.application.pg_accounts import AccountRefused

    try:
        raw = sys.stdin.read() if path == "-" else open(path, encoding="utf-8-sig").read()  # noqa: SIM115
    except OSError as error:
        raise AccountRefused(f"Cannot read the {what} from {path}: {error.strerror}.") from None
    secret = raw.strip()
    if not secret:
        raise AccountRefused(f"The {what} in {path} is empty.")
    return secret


def set_toss(
    tenant: TenantOption,
    secret_key_file: Annotated[
        str, typer.Option(help="A file holding the secret key, or - for stdin.")
    ],
    client_key: Annotated[str | None, typer.Option(help="The account's client key.")] = None,
    webhook_secret_file: Annotated[
        str | None, typer.Option(help="A file holding the webhook secret, or -.")
    ] = None,
) -> None:
    from sunap.application.pg_accounts import AccountRefused
    from sunap.application.secrets import SecretsUnavailable
    from sunap.config import Settings

    if STDIN == secret_key_file == webhook_secret_file:
        fail("only one secret can come from stdin.", USAGE)
    try:
        secret_key = read_secret(secret_key_file, "secret key")
        webhook = (
            read_secret(webhook_secret_file, "webhook secret") if webhook_secret_file else None
        )
        asyncio.run(_set_toss(Settings(), tenant, secret_key, client_key, webhook))
    except (AccountRefused, SecretsUnavailable) as refused:
        fail(str(refused), USAGE)
    say(f"Tenant '{tenant}' now uses its own Toss account for new payments; point its Toss")
    say("webhooks at this path of Sunap's public URL:")
    print(webhook_path(tenant))  # the answer, alone on standard output


def webhook_path(tenant: str) -> str:
    """The tenant's webhook path as Toss must be given it (the embedded sandbox is given the
    same: bootstrap._books_of_its_own)."""
    from sunap.application.pg_accounts import tenant_webhook_path

    return tenant_webhook_path(tenant)


async def _set_toss(
    settings: Settings,
    tenant: str,
    secret_key: str,
    client_key: str | None,
    webhook_secret: str | None,
) -> None:
    from sunap.adapters.sql.api_keys import SqlApiKeyStore
    from sunap.adapters.sql.engine import create_engine
    from sunap.adapters.sql.pg_accounts import SqlPgAccountStore
    from sunap.adapters.system import RandomIds, SystemClock
    from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT, PgAccount, seal_own_account
    from sunap.bootstrap import secret_box

    box = secret_box(settings)
    engine = create_engine(settings.database_url)
    tenants, accounts = SqlApiKeyStore(engine), SqlPgAccountStore(engine)
    try:
        known = await tenants.tenant_id_by_name(tenant)
        # Checked before a new tenant is made: a refused account leaves no tenant behind.
        sealed = await seal_own_account(
            known or RandomIds().new_id("ten"),
            secret_key=secret_key,
            client_key=client_key,
            webhook_secret=webhook_secret,
            store=accounts,
            box=box,
            now=SystemClock().now(),
            production=settings.production,
            default=PgAccount(
                DEFAULT_PG_ACCOUNT,
                settings.toss_secret_key.get_secret_value(),
                settings.toss_client_key,
            )
            if settings.toss_secret_key is not None
            else None,  # the sandbox's: made from the database (bootstrap), never a tenant's
        )
        tenant_id = known or await tenants.ensure_tenant(tenant, sealed.id)
        await accounts.give_tenant_own_account(tenant_id, replace(sealed, id=tenant_id))
    finally:
        await engine.dispose()


def list_tenants(json: JsonOption = False) -> None:
    from sunap.config import Settings

    rows = asyncio.run(_list(Settings()))
    if json:
        print_json(
            [
                {
                    "tenant": row.tenant_name,
                    "account": "default" if row.pg_account_id == "default" else "own",
                    "clientKey": row.client_key,
                    "webhookSecret": row.has_webhook_secret,
                    "updatedAt": row.updated_at.isoformat() if row.updated_at else None,
                }
                for row in rows
            ]
        )
        return
    print_rows(
        ("tenant", "account", "client key", "webhook secret", "updated"),
        (
            (
                row.tenant_name,
                "default" if row.pg_account_id == "default" else "own",
                row.client_key,
                "set" if row.has_webhook_secret else None,
                row.updated_at.isoformat(timespec="seconds") if row.updated_at else None,
            )
            for row in rows
        ),
    )


async def _list(settings: Settings) -> list[TenantAccount]:
    from sunap.adapters.sql.engine import create_engine
    from sunap.adapters.sql.pg_accounts import SqlPgAccountStore

    engine = create_engine(settings.database_url)
    try:
        return await SqlPgAccountStore(engine).tenants()
    finally:
        await engine.dispose()
