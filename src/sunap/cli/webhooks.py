"""`sunap webhooks list | show ID | replay ID`: see stored Toss deliveries and apply one again."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.webhook_inbox import SqlWebhookInbox
from sunap.adapters.system import SystemClock
from sunap.application.ports import DeliveryStatus, WebhookDelivery
from sunap.config import Settings

T = TypeVar("T")
# Fields of a delivery's body an operator never needs to see (TOSS.md 3: the VA `secret`).
HIDDEN = frozenset({"secret", "billingKey"})


def register(commands: Any) -> None:
    webhooks = commands.add_parser("webhooks", help="stored Toss webhook deliveries")
    actions = webhooks.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the most recent deliveries, newest first")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--status", choices=[s.value for s in DeliveryStatus], default=None)
    listing.set_defaults(run=run_list)
    show = actions.add_parser("show", help="one delivery: headers and body (secrets hidden)")
    show.add_argument("delivery_id")
    show.set_defaults(run=run_show)
    replay = actions.add_parser("replay", help="process a delivery again")
    replay.add_argument("delivery_id")
    replay.set_defaults(run=run_replay)


def _with_inbox(work: Callable[[SqlWebhookInbox], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(Settings().database_url)
        try:
            return await work(SqlWebhookInbox(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def run_list(args: argparse.Namespace) -> int:
    deliveries = _with_inbox(lambda inbox: inbox.recent(args.limit))
    print("ID\tRECEIVED\tEVENT\tSTATUS\tATTEMPTS\tPAYMENT\tERROR")
    for d in deliveries:
        if args.status and d.status != args.status:
            continue
        print(
            f"{d.id}\t{d.received_at.isoformat()}\t{d.event_type}\t{d.status}"
            f"\t{d.attempts}\t{d.payment_id or '-'}\t{d.last_error or ''}"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    delivery = _with_inbox(lambda inbox: inbox.get(args.delivery_id))
    if delivery is None:
        print(f"no delivery {args.delivery_id}")
        return 1
    print(json.dumps(describe(delivery), ensure_ascii=False, indent=2))
    return 0


def describe(delivery: WebhookDelivery) -> dict[str, Any]:
    try:
        body: Any = _hide(json.loads(delivery.body))
    except ValueError:
        body = delivery.body.decode(errors="replace")
    return {
        "id": delivery.id,
        "eventType": delivery.event_type,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "receivedAt": delivery.received_at.isoformat(),
        "nextAttemptAt": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None,
        "processedAt": delivery.processed_at.isoformat() if delivery.processed_at else None,
        "paymentId": delivery.payment_id,
        "lastError": delivery.last_error,
        "dedupKey": delivery.dedup_key,
        "headers": delivery.headers,
        "body": body,
    }


def _hide(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "[hidden]" if k in HIDDEN else _hide(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v) for v in value]
    return value


def run_replay(args: argparse.Namespace) -> int:
    now = SystemClock().now()
    if not _with_inbox(lambda inbox: inbox.requeue(args.delivery_id, now)):
        print(f"no delivery {args.delivery_id} (or a processor is working on it right now)")
        return 1
    print(f"delivery {args.delivery_id} queued; the webhook processor applies it shortly")
    return 0
