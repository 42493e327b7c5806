"""`sunap keys create --tenant NAME --scope S…` (prints the new key alone on its last line, its id
and fingerprint on stderr), `sunap keys list` (never a key, never a whole hash) and
`sunap keys revoke ID`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from .output import FAILED, JsonOption, TenantOption, fail, print_json, print_rows, say

if TYPE_CHECKING:
    from sunap.adapters.sql.api_keys import ApiKeyListing
    from sunap.config import Settings


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="API keys.", no_args_is_help=True)
    keys.command("create", help="Create a tenant (if new) and an API key for it.")(create)
    keys.command("list", help="Every API key: id, fingerprint, tenant, scopes, creation time.")(
        list_keys
    )
    keys.command("revoke", help="Delete an API key by its id (from `keys list`).")(revoke)
    app.add_typer(keys, name="keys")


def create(
    tenant: TenantOption,
    scope: Annotated[
        list[str],
        typer.Option(
            help="A scope: payments:read, payments:write, payments:cancel, billing or admin; "
            "repeat for several.",
            callback=_known_scopes,
            autocompletion=lambda: sorted(_scopes()),
        ),
    ],
    json: JsonOption = False,
) -> None:
    from sunap.config import Settings

    scopes = frozenset(scope)
    created = asyncio.run(create_key(Settings(), tenant, scopes))
    if json:
        print_json(
            {
                "id": created.key_id,
                "fingerprint": created.fingerprint,
                "tenant": tenant,
                "scopes": sorted(scopes),
                "key": created.key,
            }
        )
        return
    say(f"Created an API key for tenant '{tenant}' with scopes {', '.join(sorted(scopes))}.")
    say(
        f"Its id is {created.key_id} (fingerprint {created.fingerprint}): "
        f"`sunap keys revoke {created.key_id}` ends it."
    )
    say("Store it now: only its hash is kept.")
    print(created.key)


def _scopes() -> frozenset[str]:
    from sunap.application.authentication import SCOPES

    return SCOPES


def _known_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - _scopes())
    if unknown:
        raise typer.BadParameter(
            f"unknown scope {', '.join(unknown)}; scopes are {', '.join(sorted(_scopes()))}"
        )
    return scopes


@dataclass(frozen=True)
class CreatedKey:
    key_id: str
    fingerprint: str
    key: str  # shown once, never stored


async def create_key(settings: Settings, tenant: str, scopes: frozenset[str]) -> CreatedKey:
    from sunap.adapters.sql.api_keys import SqlApiKeyStore
    from sunap.adapters.sql.engine import create_engine
    from sunap.adapters.system import RandomIds, SystemClock
    from sunap.application.authentication import hash_api_key, key_fingerprint, new_api_key

    engine = create_engine(settings.database_url)
    try:
        store = SqlApiKeyStore(engine)
        ids = RandomIds()
        tenant_id = await store.ensure_tenant(tenant, ids.new_id("ten"))
        key = new_api_key()
        key_id, key_hash = ids.new_id("key"), hash_api_key(key)
        await store.add_key(
            key_id=key_id,
            tenant_id=tenant_id,
            key_hash=key_hash,
            scopes=scopes,
            now=SystemClock().now(),
        )
        return CreatedKey(key_id=key_id, fingerprint=key_fingerprint(key_hash), key=key)
    finally:
        await engine.dispose()


def list_keys(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
    json: JsonOption = False,
) -> None:
    from sunap.config import Settings

    listed = asyncio.run(_list(Settings(), tenant))
    if json:
        print_json([_as_json(k) for k in listed])
        return
    print_rows(
        ("id", "fingerprint", "tenant", "scopes", "created"),
        (
            (
                k.key_id,
                k.fingerprint,
                k.tenant_name,
                ",".join(k.scopes),
                k.created_at.isoformat(timespec="seconds"),
            )
            for k in listed
        ),
    )


def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id, as `keys list` shows it.")],
) -> None:
    from sunap.application.authentication import REMEMBER_SECONDS
    from sunap.config import Settings

    if not asyncio.run(_revoke(Settings(), key_id)):
        fail(f"No API key has the id {key_id!r} (`sunap keys list` shows them).", FAILED)
    say(
        f"API key {key_id} is revoked, with its dashboard sessions; a running service refuses "
        f"it within {REMEMBER_SECONDS:g} s."
    )


async def _revoke(settings: Settings, key_id: str) -> bool:
    from sunap.adapters.sql.api_keys import SqlApiKeyStore
    from sunap.adapters.sql.engine import create_engine

    engine = create_engine(settings.database_url)
    try:
        return await SqlApiKeyStore(engine).revoke(key_id)
    finally:
        await engine.dispose()


def _as_json(listing: ApiKeyListing) -> dict[str, object]:
    return {
        "id": listing.key_id,
        "fingerprint": listing.fingerprint,
        "tenant": listing.tenant_name,
        "scopes": list(listing.scopes),
        "createdAt": listing.created_at.isoformat(),
    }


async def _list(settings: Settings, tenant: str | None) -> list[ApiKeyListing]:
    from sunap.adapters.sql.api_keys import SqlApiKeyStore
    from sunap.adapters.sql.engine import create_engine

    engine = create_engine(settings.database_url)
    try:
        return await SqlApiKeyStore(engine).listing(tenant)
    finally:
        await engine.dispose()
