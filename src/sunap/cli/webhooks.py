"""`sunap webhooks list | show ID | replay [ID…] [--status S]`: stored Toss deliveries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from .output import USAGE, JsonOption, fail, print_json, print_rows, say, tracked

if TYPE_CHECKING:
    from sunap.adapters.sql.webhook_inbox import SqlWebhookInbox
    from sunap.application.ports.webhook_inbox import WebhookDelivery

T = TypeVar("T")
# Fields of a delivery's body an operator never needs to see (docs/toss.md, Webhooks: the VA `secret`).
HIDDEN = frozenset({"secret", "billingKey"})


def _statuses() -> list[str]:
    from sunap.application.ports.webhook_inbox import DeliveryStatus

    return [s.value for s in DeliveryStatus]


def _known_status(status: str | None) -> str | None:
    if status is not None and status not in _statuses():
        raise typer.BadParameter(f"{status!r} is not one of {', '.join(_statuses())}")
    return status


StatusOption = Annotated[
    str | None,
    typer.Option(
        help="RECEIVED, APPLIED, UNMATCHED, IGNORED, REJECTED or FAILED.",
        callback=_known_status,
        autocompletion=_statuses,
    ),
]


def register(app: typer.Typer) -> None:
    webhooks = typer.Typer(help="Stored Toss webhook deliveries.", no_args_is_help=True)
    webhooks.command("list", help="The most recent deliveries, newest first.")(list_deliveries)
    webhooks.command("show", help="One delivery: headers and body (secrets hidden).")(show)
    webhooks.command("replay", help="Process deliveries again: by id, or all in a status.")(replay)
    app.add_typer(webhooks, name="webhooks")


def _with_inbox(work: Callable[[SqlWebhookInbox], Awaitable[T]]) -> T:
    from sunap.adapters.sql.engine import create_engine
    from sunap.adapters.sql.webhook_inbox import SqlWebhookInbox
    from sunap.config import Settings

    async def go() -> T:
        engine = create_engine(Settings().database_url)
        try:
            return await work(SqlWebhookInbox(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def list_deliveries(
    limit: Annotated[int, typer.Option(min=1, help="Look at this many recent deliveries.")] = 50,
    status: StatusOption = None,
    json: JsonOption = False,
) -> None:
    deliveries = [
        d
        for d in _with_inbox(lambda inbox: inbox.recent(limit))
        if status is None or d.status == status
    ]
    if json:
        print_json([summary(d) for d in deliveries])
        return
    print_rows(
        ("ID", "RECEIVED", "EVENT", "STATUS", "ATTEMPTS", "PAYMENT", "ERROR"),
        (
            (
                d.id,
                d.received_at.isoformat(),
                d.event_type,
                d.status.value,
                d.attempts,
                d.payment_id,
                d.last_error or None,
            )
            for d in deliveries
        ),
    )


def show(delivery_id: Annotated[str, typer.Argument(help="The delivery's id.")]) -> None:
    delivery = _with_inbox(lambda inbox: inbox.get(delivery_id))
    if delivery is None:
        fail(f"no delivery {delivery_id}")
    print_json(describe(delivery))


def summary(delivery: WebhookDelivery) -> dict[str, Any]:
    """A delivery without its headers and body, for listings."""
    return {
        "id": delivery.id,
        "receivedAt": delivery.received_at.isoformat(),
        "eventType": delivery.event_type,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "paymentId": delivery.payment_id,
        "lastError": delivery.last_error,
    }


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


def replay(
    delivery_ids: Annotated[
        list[str] | None, typer.Argument(help="Deliveries to replay.", show_default=False)
    ] = None,
    status: StatusOption = None,
    limit: Annotated[int, typer.Option(min=1, help="With --status: look this far back.")] = 500,
    json: JsonOption = False,
) -> None:
    ids = list(delivery_ids or [])
    if status is not None:
        recent = _with_inbox(lambda inbox: inbox.recent(limit))
        ids += [d.id for d in recent if d.status == status and d.id not in ids]
    elif not ids:
        fail("name a delivery to replay, or --status to replay all in that status", USAGE)
    queued = _with_inbox(lambda inbox: _requeue_all(inbox, ids))
    refused = [d for d, ok in queued.items() if not ok]
    if json:
        print_json([{"id": d, "queued": ok} for d, ok in queued.items()])
    else:
        for delivery_id, ok in queued.items():
            if ok:
                print(f"delivery {delivery_id} queued; the webhook processor applies it shortly")
            else:
                say(f"sunap: no delivery {delivery_id} (or a processor is working on it right now)")
    if refused:
        raise typer.Exit(1)


async def _requeue_all(inbox: SqlWebhookInbox, ids: list[str]) -> dict[str, bool]:
    from sunap.adapters.system import SystemClock

    clock = SystemClock()
    return {d: await inbox.requeue(d, clock.now()) for d in tracked(ids, "replaying")}
