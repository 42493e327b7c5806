"""A merchant's webhook endpoint for tests: records every delivery, answers scripted statuses."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.sandbox_server import serving


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def transmission_id(self) -> str:
        return self.headers["tosspayments-webhook-transmission-id"]

    @property
    def retried_count(self) -> int:
        return int(self.headers["tosspayments-webhook-transmission-retried-count"])


class WebhookReceiver:
    def __init__(self) -> None:
        self.url = ""
        self.received: list[Received] = []
        self._statuses: list[int] = []
        self._lock = threading.Lock()

    def answer_next(self, *statuses: int) -> None:
        """The statuses of the next deliveries, in order; 200 once they are used up."""
        with self._lock:
            self._statuses.extend(statuses)

    async def _hook(self, request: Request) -> Response:
        body = json.loads(await request.body())
        with self._lock:
            self.received.append(Received(dict(request.headers), body))
            status = self._statuses.pop(0) if self._statuses else 200
        return Response(status_code=status)

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[WebhookReceiver]:
        receiver = cls()
        app = Starlette(routes=[Route("/webhooks/toss", receiver._hook, methods=["POST"])])
        with serving(app) as base_url:
            receiver.url = f"{base_url}/webhooks/toss"
            yield receiver

    def of_type(self, event_type: str) -> list[Received]:
        with self._lock:
            return [hook for hook in self.received if _event_type(hook.body) == event_type]

    async def wait_for(
        self, event_type: str, predicate: Callable[[Received], bool] = lambda _: True
    ) -> Received:
        """The first delivery of `event_type` matching `predicate`, once it has arrived."""
        for _ in range(500):
            matching = [hook for hook in self.of_type(event_type) if predicate(hook)]
            if matching:
                return matching[0]
            await asyncio.sleep(0.02)
        seen = [(_event_type(hook.body), hook.retried_count) for hook in self.received]
        raise AssertionError(f"no matching {event_type} webhook arrived; got {seen}")


def _event_type(body: dict[str, Any]) -> str:
    # DEPOSIT_CALLBACK is flat: no eventType, a secret instead.
    return str(body.get("eventType") or ("DEPOSIT_CALLBACK" if "secret" in body else "?"))
