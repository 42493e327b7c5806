"""`sunap secrets new-key`: a key for SUNAP_SECRETS_KEY."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    secrets = typer.Typer(help="The key credentials are sealed with.", no_args_is_help=True)
    secrets.command("new-key", help="Print a new key for SUNAP_SECRETS_KEY.")(new_secrets_key)
    app.add_typer(secrets, name="secrets")


def new_secrets_key() -> None:
    from sunap.adapters.crypto.fernet_box import new_key

    print(new_key())
