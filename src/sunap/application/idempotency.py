"""Idempotency-Key on every call that changes something, whichever door it came through.

The protocol: claim the (tenant, key) → execute → finish (keep the answer for replay) or release
(forget the claim, so the same key may run again). A finished key replays its answer and runs
nothing; the same key with another request is IdempotencyKeyReused (422), and while the first
request still runs IdempotencyKeyInUse (409).

What is kept is decided from the use case's result or exception, never from the rendered answer:
a result or a definitive refusal is kept; an answer that says "try again" or "nothing ran"
(NOT_REPLAYED) is not, nor is a crash. Each door only renders an outcome to bytes (HTTP: the JSON
body, replayed byte for byte; gRPC: the serialized message or status) and sends stored bytes back.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sunap.domain.errors import ConfirmInProgress, InvalidRequest, SunapError

from .errors import (
    ConcurrentUpdate,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PgTimeout,
    PgUnavailable,
    SecretsKeyMissing,
    SharedPgAccount,
)
from .ports.idempotency import ClaimOutcome, IdempotencyStore, StoredResponse
from .ports.system import Clock

log = logging.getLogger("sunap.idempotency")

MAX_KEY_LENGTH = 300
# A holder that has not finished within this long is presumed dead; its key may be taken over.
LOCK_TIMEOUT = timedelta(seconds=90)
# Answers that say "try again" or "nothing ran", not "this is what happened": a retry with the same
# key runs again. An unknown PG outcome is among them, so that a repeated confirm resolves it.
NOT_REPLAYED: tuple[type[SunapError], ...] = (
    InvalidRequest,
    ConfirmInProgress,
    ConcurrentUpdate,
    PgTimeout,
    PgUnavailable,
    SharedPgAccount,
    SecretsKeyMissing,
)

Result = TypeVar("Result")
Result_contra = TypeVar("Result_contra", contravariant=True)
Answer = TypeVar("Answer")
Answer_co = TypeVar("Answer_co", covariant=True)


class IdempotencyDoor(Protocol[Result_contra, Answer_co]):
    """How one door renders an outcome to the bytes it stores, and sends stored bytes."""

    async def render(self, outcome: Result_contra | SunapError) -> StoredResponse: ...

    def send(self, response: StoredResponse, *, replayed: bool) -> Awaitable[Answer_co]: ...


@dataclass(frozen=True)
class IdempotentCall:
    tenant_id: str
    key: str | None  # None: the caller sent no key, so nothing is claimed or kept
    fingerprint: str  # the operation and a digest of the request; see `fingerprint`

    def request_key(self, subject: str) -> str | None:
        """The id of what this request makes for `subject` (a cancel of that payment), the same
        whichever door or wording brings the key again: once an unknown outcome released the
        key, what the request did must be found rather than done again (the use case compares
        what is asked with what was)."""
        if self.key is None:
            return None
        identity = f"{self.tenant_id}\n{self.key}\n{subject}".encode()
        return hashlib.sha256(identity).hexdigest()[:28]


def fingerprint(operation: str, canonical_request: bytes) -> str:
    """`operation` names the door's call (`POST /v1/payments`, or a gRPC full method name), so a
    key used for one operation is refused for another even when the bodies hash alike."""
    return f"{operation} {hashlib.sha256(canonical_request).hexdigest()}"


def require_valid_key(key: str | None) -> str | None:
    if key is not None and not (
        1 <= len(key) <= MAX_KEY_LENGTH and all(33 <= ord(c) <= 126 or c == " " for c in key)
    ):
        raise InvalidRequest("Idempotency-Key must be 1–300 printable ASCII characters.")
    return key


async def run_idempotently(
    call: IdempotentCall,
    store: IdempotencyStore,
    clock: Clock,
    execute: Callable[[], Awaitable[Result]],
    door: IdempotencyDoor[Result, Answer],
) -> Answer:
    if call.key is None:
        return await door.send(await door.render(await _outcome(execute)), replayed=False)
    now = clock.now()
    claim = await store.claim(call.tenant_id, call.key, call.fingerprint, now, now + LOCK_TIMEOUT)
    if claim.outcome is ClaimOutcome.MISMATCH:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used with another request body or operation."
        )
    if claim.outcome is ClaimOutcome.IN_FLIGHT:
        raise IdempotencyKeyInUse(
            "A request with this Idempotency-Key is still running; retry shortly."
        )
    if claim.outcome is ClaimOutcome.REPLAY:
        assert claim.response is not None
        return await door.send(claim.response, replayed=True)
    held = _Held(store, call.tenant_id, call.key, clock, now + LOCK_TIMEOUT)
    try:
        outcome = await _outcome(execute)
        response = await door.render(outcome)
    except BaseException:
        await held.release()
        raise
    if isinstance(outcome, NOT_REPLAYED):
        await held.release()
    else:
        try:
            await store.finish(call.tenant_id, call.key, response)
        except Exception:
            held.release_later()  # the answer is lost with the store: a retry runs again
            raise
    return await door.send(response, replayed=False)


@dataclass
class _Held:
    """A claimed key. Released when the request is over; if the store refuses (the database
    went away as the request ended), released in the background, a few times over, before the
    claim would lapse by itself: otherwise the merchant's retries would be told for LOCK_TIMEOUT
    that a request long over still runs. Never once the claim could have been taken over."""

    store: IdempotencyStore
    tenant_id: str
    key: str
    clock: Clock
    lapses_at: datetime

    async def release(self) -> None:
        try:
            await self.store.release(self.tenant_id, self.key, self.lapses_at)
        except Exception:
            self.release_later()
            raise

    def release_later(self) -> None:
        task = asyncio.create_task(self._release_later())
        _RELEASING.add(task)  # kept until done: the loop holds its tasks weakly
        task.add_done_callback(_RELEASING.discard)

    async def _release_later(self) -> None:
        for pause in RELEASE_RETRIES:
            await asyncio.sleep(pause)
            if self.clock.now() + RELEASE_MARGIN >= self.lapses_at:
                break
            try:
                await self.store.release(self.tenant_id, self.key, self.lapses_at)
            except Exception as refused:
                log.debug("an Idempotency-Key's release was refused again: %r", refused)
                continue
            log.info("an Idempotency-Key was released once its store came back")
            return
        log.warning("an Idempotency-Key could not be released: it lapses by itself")


# The background release's pauses (about a minute in all: a try every two seconds frees the key
# within two of the database's return), and how long before the claim lapses it stops: a claim
# taken over after the lapse is another request's.
RELEASE_RETRIES = (0.5, *([2.0] * 30))
RELEASE_MARGIN = timedelta(seconds=20)
_RELEASING: set[asyncio.Task[None]] = set()


async def _outcome(execute: Callable[[], Awaitable[Result]]) -> Result | SunapError:
    try:
        return await execute()
    except SunapError as refused:
        return refused
