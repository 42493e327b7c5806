"""Idempotency-Key over gRPC: the door's half of application/idempotency.py. The key comes in the
`idempotency-key` metadata; the fingerprint is the full method name and the request message's
deterministic bytes. What is kept is the answer's own bytes: the serialized sunap.v1.Payment, or
the google.rpc.Status of a refusal, so a replay sends the same message or the same status,
with `idempotent-replayed: true` in the initial metadata."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status

from sunap.application.idempotency import IdempotentCall, fingerprint, require_valid_key
from sunap.application.ports.idempotency import StoredResponse
from sunap.domain.errors import SunapError
from sunap.domain.payment import Payment
from sunap.v1 import payments_pb2 as pb

from .errors import abort, refusal_status

PAYMENT = 'application/x-protobuf; messageType="sunap.v1.Payment"'
STATUS = 'application/x-protobuf; messageType="google.rpc.Status"'
REPLAYED = (("idempotent-replayed", "true"),)

Context = grpc.aio.ServicerContext[Any, Any]


def metadata_value(context: Context, key: str) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name == key and isinstance(value, str):
            return value
    return None


def idempotency_key(context: Context) -> str | None:
    """The `idempotency-key` metadata as the HTTP door reads its header: HTTP drops the spaces
    and tabs around a header's value, so a key of spaces alone is empty (400 INVALID_REQUEST
    there, INVALID_ARGUMENT here) and ` k ` is the key `k` through either door."""
    value = metadata_value(context, "idempotency-key")
    return None if value is None else require_valid_key(value.strip(" \t"))


def idempotent_call(
    context: Context, tenant_id: str, method: str, request: Message
) -> IdempotentCall:
    key = idempotency_key(context)
    digest_of = request.SerializeToString(deterministic=True)
    return IdempotentCall(tenant_id, key, fingerprint(method, digest_of))


@dataclass(frozen=True)
class ProtoDoor:
    context: Context
    present: Callable[[Payment], Awaitable[pb.Payment]]

    async def render(self, outcome: Payment | SunapError) -> StoredResponse:
        if isinstance(outcome, SunapError):
            answer = await refusal_status(outcome, self.present)
            return StoredResponse(answer.code, answer.SerializeToString(), STATUS)
        message = await self.present(outcome)
        return StoredResponse(0, message.SerializeToString(), PAYMENT)

    async def send(self, response: StoredResponse, *, replayed: bool) -> pb.Payment:
        if replayed:
            await self.context.send_initial_metadata(REPLAYED)
        if response.content_type == STATUS:
            await abort(self.context, Status.FromString(response.body))
        if response.content_type != PAYMENT:
            raise RuntimeError(f"Stored answer of type {response.content_type!r} is not gRPC's.")
        return pb.Payment.FromString(response.body)
