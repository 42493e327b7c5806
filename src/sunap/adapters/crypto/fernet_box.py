"""FernetSecretBox: SUNAP_SECRETS_KEY holds one or more Fernet keys, comma-separated; the first
seals, every one opens, so a key can be rotated without re-sealing everything at once.

The embedded default (SQLite, not production) needs no setting: a key file is generated beside the
database on first use, readable by its owner only. Anywhere else the key must be given explicitly:
a generated key on one replica would be unknown to the next.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import make_url

from sunap.application.secrets import NoSecretBox, SecretBox, SecretsUnavailable

KEY_FILE_SUFFIX = ".secrets.key"


class KeyFileUnusable(Exception):
    """The embedded default's key file cannot be read or made: the SQLite file's directory does
    not exist or is not ours to write, so the database cannot be used either (`sunap` says so
    in one line, exit 3, as it does for a database it cannot open)."""


class FernetSecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("At least one key is needed.")
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._master = base64.urlsafe_b64decode(keys[0])

    def seal(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken as error:
            raise SecretsUnavailable(
                "A stored secret cannot be opened with SUNAP_SECRETS_KEY: was the key changed "
                "without keeping the old one after it?"
            ) from error

    def derive_key(self, purpose: str) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
        return hkdf.derive(self._master)


def new_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(setting: str) -> list[bytes]:
    """The keys of SUNAP_SECRETS_KEY; ValueError names the problem without echoing the value."""
    keys = [k.strip().encode() for k in setting.split(",") if k.strip()]
    if not keys:
        raise ValueError("SUNAP_SECRETS_KEY is empty.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError as error:
            raise ValueError(
                f"SUNAP_SECRETS_KEY key {position} is not a Fernet key (32 url-safe base64 bytes); "
                "make one with `sunap secrets new-key`."
            ) from error
    return keys


def key_file_for(database_url: str) -> Path | None:
    """Where the embedded default keeps its generated key: beside its SQLite file."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + KEY_FILE_SUFFIX)


def secret_box_for(setting: str | None, database_url: str, *, production: bool) -> SecretBox:
    """The box the settings call for. Without SUNAP_SECRETS_KEY: a key file beside an SQLite
    database outside production, or a box that refuses to seal anything."""
    if setting:
        return FernetSecretBox(parse_keys(setting))
    key_file = None if production else key_file_for(database_url)
    if key_file is None:
        return NoSecretBox(
            "SUNAP_SECRETS_KEY is not set, so Sunap cannot store credentials encrypted; "
            "set it (`sunap secrets new-key` makes one) and keep it safe."
        )
    try:
        key = _read_or_create(key_file)
    except OSError as error:
        raise KeyFileUnusable(
            f"its key file {key_file} cannot be read or made: {error.strerror or error}"
        ) from None
    return FernetSecretBox([key])


def _read_or_create(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    # Written whole under a temporary name (mode 0600 from the start), then linked into place:
    # link() fails if the file appeared meanwhile, so two processes starting at once agree on one
    # key and neither ever reads a half-written file.
    key = Fernet.generate_key()
    draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        key = path.read_bytes().strip()
    finally:
        draft.unlink(missing_ok=True)
    return key
