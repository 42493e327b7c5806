"""`sunap secrets new-key`: a key for SUNAP_SECRETS_KEY."""

from __future__ import annotations

import argparse
from typing import Any

from sunap.adapters.crypto.fernet_box import new_key


def register(commands: Any) -> None:
    secrets = commands.add_parser("secrets", help="the key credentials are sealed with")
    actions = secrets.add_subparsers(dest="action", required=True)
    new = actions.add_parser("new-key", help="print a new key for SUNAP_SECRETS_KEY")
    new.set_defaults(run=run_new_key)


def run_new_key(_: argparse.Namespace) -> int:
    print(new_key())
    return 0
