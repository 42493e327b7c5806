"""`sunap serve | sandbox | migrate | keys | tenants | secrets | worker | reconcile | webhooks`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sunap.config import ConfigurationError

from . import billing, keys, operations, secrets, serve, tenants, webhooks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sunap", description="Payments on Toss Payments.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve.register(commands)
    keys.register(commands)
    operations.register(commands)
    webhooks.register(commands)
    tenants.register(commands)
    secrets.register(commands)
    billing.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.run(args)
    except ConfigurationError as refused:
        print(f"sunap: refusing to start: {refused}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)
