"""Send a batch with per-key order kept: one key's messages one after another, keys side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from sunap.application.ports.messaging import OutboundMessage


def by_key(messages: Sequence[OutboundMessage]) -> list[list[OutboundMessage]]:
    """The messages grouped by key, each group in the order given."""
    groups: dict[str, list[OutboundMessage]] = {}
    for message in messages:
        groups.setdefault(message.key, []).append(message)
    return list(groups.values())


async def send_in_key_order(
    messages: Sequence[OutboundMessage],
    send: Callable[[OutboundMessage], Awaitable[None]],
) -> None:
    """Await `send` for every message; a message is sent only once the one before it with the
    same key was acknowledged. The first failure cancels the rest and is raised in an
    ExceptionGroup."""

    async def send_all(group: list[OutboundMessage]) -> None:
        for message in group:
            await send(message)

    async with asyncio.TaskGroup() as tasks:
        for group in by_key(messages):
            tasks.create_task(send_all(group))
