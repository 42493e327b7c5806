"""Webhook deliveries to each merchant account's URL, retried on Toss's schedule (docs/toss.md, Webhooks).

A delivery is one event with one `whtrans_…` id; each try is an attempt. The schedule runs on the
sandbox clock, compressed by `time_scale`, so both waiting and moving the clock make retries due.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from sunap_toss_sandbox import choices, identifiers
from sunap_toss_sandbox.clock import SandboxClock, toss_time
from sunap_toss_sandbox.credentials import masked_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    retried_count: int
    at: datetime
    status: int | None  # None when no HTTP answer came back
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "retriedCount": self.retried_count,
            "at": toss_time(self.at),
            "status": self.status,
            "error": self.error,
        }


@dataclass
class Delivery:
    transmission_id: str
    event_type: str
    account: str  # the client key of the account whose books sent it, or "default"
    url: str
    body: dict[str, Any]
    created_at: datetime
    next_attempt_at: datetime | None
    state: str = "SENDING"  # SENDING until SUCCEEDED or, after the last retry, FAILED
    attempts: list[Attempt] = field(default_factory=list)
    in_flight: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "transmissionId": self.transmission_id,
            "eventType": self.event_type,
            "account": self.account,
            "url": self.url,
            "state": self.state,
            "createdAt": toss_time(self.created_at),
            "nextAttemptAt": toss_time(self.next_attempt_at) if self.next_attempt_at else None,
            "body": masked_event(self.body),  # as listed on the control plane
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }


class WebhookSender:
    def __init__(self, url: str | None, clock: SandboxClock, time_scale: float = 1.0) -> None:
        self.url = url  # the sandbox's own: for accounts that registered none
        self._clock = clock
        self._time_scale = time_scale
        self.deliveries: list[Delivery] = []

    def enqueue(
        self, event_type: str, body: dict[str, Any], *, account: str, url: str | None = None
    ) -> None:
        target = url or self.url
        if target is None:
            return
        now = self._clock.now()
        self.deliveries.append(
            Delivery(
                transmission_id=identifiers.transmission_id(),
                event_type=event_type,
                account=account,
                url=target,
                body=body,
                created_at=now,
                next_attempt_at=now,
            )
        )

    def due(self) -> list[Delivery]:
        """Deliveries whose next attempt is due; each is marked in flight for the caller."""
        now = self._clock.now()
        ready = [
            delivery
            for delivery in self.deliveries
            if delivery.state == "SENDING"
            and not delivery.in_flight
            and delivery.next_attempt_at is not None
            and delivery.next_attempt_at <= now
        ]
        for delivery in ready:
            delivery.in_flight = True
        return ready

    async def attempt(self, delivery: Delivery) -> None:
        retried = len(delivery.attempts)
        started = self._clock.now()
        headers = {
            "Content-Type": "application/json",
            "tosspayments-webhook-transmission-time": toss_time(started),
            "tosspayments-webhook-transmission-id": delivery.transmission_id,
            "tosspayments-webhook-transmission-retried-count": str(retried),
        }
        content = json.dumps(delivery.body, ensure_ascii=False).encode()
        status: int | None = None
        error: str | None = None
        try:
            async with httpx.AsyncClient(timeout=choices.WEBHOOK_TIMEOUT_SECONDS) as client:
                response = await client.post(delivery.url, content=content, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        finally:
            delivery.in_flight = False
        delivery.attempts.append(Attempt(retried, started, status, error))
        if status in choices.WEBHOOK_SUCCESS_STATUSES:
            delivery.state = "SUCCEEDED"
            delivery.next_attempt_at = None
        elif retried < len(choices.WEBHOOK_RETRY_MINUTES):
            wait = timedelta(minutes=choices.WEBHOOK_RETRY_MINUTES[retried]) * self._time_scale
            delivery.next_attempt_at = self._clock.now() + wait
        else:
            delivery.state = "FAILED"
            delivery.next_attempt_at = None
            log.warning(
                "webhook %s failed after %d attempts", delivery.transmission_id, retried + 1
            )

    def reset(self) -> None:
        self.deliveries = []
