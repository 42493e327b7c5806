"""`sunap webhooks list | replay ID`: see stored Toss deliveries and apply one again."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.webhook_inbox import SqlWebhookInbox
from sunap.adapters.system import SystemClock
from sunap.config import Settings


def register(commands: Any) -> None:
    webhooks = commands.add_parser("webhooks", help="stored Toss webhook deliveries")
    actions = webhooks.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the most recent deliveries")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(run=run_list)
    replay = actions.add_parser("replay", help="process a delivery again")
    replay.add_argument("delivery_id")
    replay.set_defaults(run=run_replay)


def run_list(args: argparse.Namespace) -> int:
    async def go() -> None:
        engine = create_engine(Settings().database_url)
        try:
            for d in await SqlWebhookInbox(engine).recent(args.limit):
                print(
                    f"{d.id}\t{d.received_at.isoformat()}\t{d.event_type}\t{d.status}"
                    f"\tattempts={d.attempts}\tpayment={d.payment_id or '-'}\t{d.last_error or ''}"
                )
        finally:
            await engine.dispose()

    asyncio.run(go())
    return 0


def run_replay(args: argparse.Namespace) -> int:
    async def go() -> bool:
        engine = create_engine(Settings().database_url)
        try:
            return await SqlWebhookInbox(engine).requeue(args.delivery_id, SystemClock().now())
        finally:
            await engine.dispose()

    if not asyncio.run(go()):
        print(f"no delivery {args.delivery_id}")
        return 1
    print(f"delivery {args.delivery_id} queued; the webhook processor applies it shortly")
    return 0
