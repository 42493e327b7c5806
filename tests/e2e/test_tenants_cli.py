"""`sunap tenants set-toss | list`: a tenant's own Toss account, its secrets read from a file or
stdin, sealed at rest, and never printed."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sunap.adapters.crypto.fernet_box import new_key
from tests.support.databases import create_database, drop_database
from tests.support.service import SUNAP

SECRET_KEY = "test_sk_tenant_own_0123456789"
WEBHOOK_SECRET = "whsec_tenant_own_abcdef"


def sunap(
    workdir: Path, env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SUNAP, *args], env=env, cwd=workdir, input=stdin, capture_output=True, text=True
    )


@pytest.fixture()
def embedded(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env["SUNAP_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'sunap.db'}"
    assert sunap(tmp_path, env, "migrate").returncode == 0
    yield tmp_path, env


def test_a_tenants_own_account_is_stored_sealed_and_listed_without_secrets(
    embedded: tuple[Path, dict[str, str]],
) -> None:
    workdir, env = embedded
    (workdir / "sk").write_text(SECRET_KEY + "\n")
    (workdir / "whsec").write_text(WEBHOOK_SECRET)
    result = sunap(
        workdir,
        env,
        "tenants",
        "set-toss",
        "--tenant",
        "shop-own",
        "--secret-key-file",
        "sk",
        "--client-key",
        "test_ck_tenant_own_0123",
        "--webhook-secret-file",
        "whsec",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "/v1/webhooks/toss/shop-own\n"  # the answer alone; words on stderr
    assert sunap(workdir, env, "keys", "create", "--tenant", "shop-default", "--scope", "admin")
    listing = sunap(workdir, env, "tenants", "list")
    assert listing.returncode == 0
    lines = {line.split("\t")[0]: line.split("\t") for line in listing.stdout.splitlines()}
    assert lines["shop-own"][1:4] == ["own", "test_ck_tenant_own_0123", "set"]
    assert lines["shop-default"][1] == "default"

    everything = result.stdout + result.stderr + listing.stdout + listing.stderr
    assert SECRET_KEY not in everything and WEBHOOK_SECRET not in everything
    database = (workdir / "sunap.db").read_bytes()
    assert SECRET_KEY.encode() not in database and WEBHOOK_SECRET.encode() not in database
    key_file = workdir / "sunap.db.secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with sqlite3.connect(workdir / "sunap.db") as db:
        [(sealed,)] = db.execute("SELECT secret_key_sealed FROM pg_accounts").fetchall()
    assert sealed and SECRET_KEY.encode() not in sealed


def test_the_secret_key_can_come_from_stdin_and_a_rotation_replaces_it(
    embedded: tuple[Path, dict[str, str]],
) -> None:
    workdir, env = embedded
    args = ("tenants", "set-toss", "--tenant", "shop-stdin", "--secret-key-file", "-")
    assert sunap(workdir, env, *args, stdin=SECRET_KEY).returncode == 0
    assert sunap(workdir, env, *args, stdin=SECRET_KEY + "_rotated").returncode == 0
    with sqlite3.connect(workdir / "sunap.db") as db:
        assert db.execute("SELECT count(*) FROM pg_accounts").fetchone() == (1,)


@pytest.mark.parametrize(
    ("secret", "client_key", "says"),
    [
        ("live_sk_real_money_0123456789", None, "SUNAP_PRODUCTION"),
        ("sk_not_a_toss_key_0123456789", None, "not a Toss secret key"),
        ("", None, "empty"),
        (SECRET_KEY, "live_ck_mixed_0123456789", "both be test keys or live"),
        (SECRET_KEY, "pk_not_a_client_key", "not a Toss client key"),
        (SECRET_KEY, "test_gck_widget_0123456789", "of one kind"),
    ],
)
def test_a_key_that_cannot_be_used_is_refused_with_a_clear_error_and_nothing_stored(
    embedded: tuple[Path, dict[str, str]], secret: str, client_key: str | None, says: str
) -> None:
    workdir, env = embedded
    (workdir / "sk").write_text(secret)
    args = ["tenants", "set-toss", "--tenant", "shop-bad", "--secret-key-file", "sk"]
    if client_key:
        args += ["--client-key", client_key]
    result = sunap(workdir, env, *args)
    assert result.returncode == 2
    assert says in result.stderr
    assert secret == "" or secret not in result.stderr + result.stdout
    assert "shop-bad" not in sunap(workdir, env, "tenants", "list").stdout  # no tenant either


def test_a_toss_account_is_one_tenants_or_the_shared_default_never_two(
    embedded: tuple[Path, dict[str, str]],
) -> None:
    """Toss keeps one set of orders and payment keys per account: two tenants given one
    account as their own would each confirm, adopt and refund the other's payments. So the keys
    of the default account, or of another tenant's own account, are refused."""
    workdir, env = embedded
    (workdir / "sk").write_text(SECRET_KEY)
    (workdir / "default_sk").write_text("test_sk_the_default_account_0123")
    first = ["tenants", "set-toss", "--tenant", "shop-one", "--secret-key-file", "sk"]
    assert sunap(workdir, env, *first, "--client-key", "test_ck_one_0123").returncode == 0

    same_secret = sunap(
        workdir, env, "tenants", "set-toss", "--tenant", "shop-two", "--secret-key-file", "sk"
    )
    same_client = sunap(
        workdir,
        env,
        *["tenants", "set-toss", "--tenant", "shop-two", "--secret-key-file", "default_sk"],
        *["--client-key", "test_ck_one_0123"],
    )
    with_default = {**env, "TOSS_SECRET_KEY": "test_sk_the_default_account_0123"}
    the_default = sunap(
        workdir,
        with_default,
        *["tenants", "set-toss", "--tenant", "shop-two", "--secret-key-file", "default_sk"],
    )
    for refused, says in (
        (same_secret, "another tenant's own Toss account"),
        (same_client, "another tenant's own Toss account"),
        (the_default, "default Toss account"),
    ):
        assert refused.returncode == 2, refused.stdout
        assert says in refused.stderr and SECRET_KEY not in refused.stderr
    listed = sunap(workdir, env, "tenants", "list").stdout
    assert "shop-one\town" in listed and "shop-two\town" not in listed
    # The tenant whose account it is may rotate its own keys.
    assert sunap(workdir, env, *first).returncode == 0


def test_a_missing_secret_file_is_a_clear_error(embedded: tuple[Path, dict[str, str]]) -> None:
    workdir, env = embedded
    args = ("tenants", "set-toss", "--tenant", "t", "--secret-key-file", "nowhere")
    result = sunap(workdir, env, *args)
    assert result.returncode == 2 and "Cannot read the secret key from nowhere" in result.stderr


def test_without_sunap_secrets_key_a_shared_database_refuses_to_store_secrets(
    tmp_path: Path,
) -> None:
    url = create_database("postgresql", tmp_path)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
        env["SUNAP_DATABASE_URL"] = url
        assert sunap(tmp_path, env, "migrate").returncode == 0
        (tmp_path / "sk").write_text(SECRET_KEY)
        args = ("tenants", "set-toss", "--tenant", "shop-pg", "--secret-key-file", "sk")
        refused = sunap(tmp_path, env, *args)
        assert refused.returncode == 2
        assert "SUNAP_SECRETS_KEY is not set" in refused.stderr

        bad = sunap(tmp_path, env | {"SUNAP_SECRETS_KEY": "not-a-key"}, *args)
        assert bad.returncode == 2 and "not a Fernet key" in bad.stderr
        assert "not-a-key" not in bad.stderr

        stored = sunap(tmp_path, env | {"SUNAP_SECRETS_KEY": new_key()}, *args)
        assert stored.returncode == 0, stored.stderr
    finally:
        drop_database(url)
