"""sunap.v1.PaymentService: each RPC authenticates from the `authorization` metadata, builds its
command by the API's request rules, runs the same use case HTTP runs (under the Idempotency-Key
when it changes something), and answers with the payment or with the refusal's status."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from sunap.application import log_context
from sunap.application.authentication import Principal, authenticate
from sunap.application.cancel_payment import cancel_payment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import REQUEST_SUBJECT, create_payment
from sunap.application.deps import Deps
from sunap.application.idempotency import IdempotentCall, run_idempotently
from sunap.application.payment_changes import watch_payment
from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT
from sunap.application.queries import get_payment, list_payments
from sunap.domain.errors import SunapError
from sunap.domain.payment import Payment
from sunap.entrypoints.container import Container
from sunap.entrypoints.http.request_observation import request_id_from
from sunap.v1 import payments_pb2 as pb
from sunap.v1 import payments_pb2_grpc as pb_grpc

from .errors import abort, internal_status, refusal_status
from .idempotency import Context, ProtoDoor, idempotency_key, idempotent_call, metadata_value
from .messages import (
    cancel_body,
    confirm_body,
    create_body,
    payment_message,
    payment_query,
    refund_body,
)
from .requests import Unreadable, refuse_control_characters

log = logging.getLogger("sunap.grpc")

SERVICE = pb.DESCRIPTOR.services_by_name["PaymentService"].full_name
Reply = TypeVar("Reply")


class PaymentService(pb_grpc.PaymentServiceServicer):
    def __init__(self, container: Container) -> None:
        self._container = container

    async def CreatePayment(self, request: pb.CreatePaymentRequest, context: Context) -> pb.Payment:
        async def work() -> pb.Payment:
            principal = await self._principal(context, "payments:write")
            # Checked before the idempotency key is claimed; the account is read when it runs.
            command = replace(
                create_body(request).command(principal.tenant_id, DEFAULT_PG_ACCOUNT),
                request_key=self._request_key(context, principal, REQUEST_SUBJECT),
            )

            async def create() -> Payment:
                account = await self._container.api_keys.account_of(principal.tenant_id)
                return await create_payment(replace(command, pg_account_id=account), self._deps)

            return await self._idempotently(context, principal, "CreatePayment", request, create)

        return await self._answer(context, request, work)

    async def ConfirmPayment(
        self, request: pb.ConfirmPaymentRequest, context: Context
    ) -> pb.Payment:
        async def work() -> pb.Payment:
            principal = await self._principal(context, "payments:write")
            command = confirm_body(request).command(principal.tenant_id)
            return await self._idempotently(
                context,
                principal,
                "ConfirmPayment",
                request,
                lambda: confirm_payment(command, self._deps),
            )

        return await self._answer(context, request, work)

    async def GetPayment(self, request: pb.GetPaymentRequest, context: Context) -> pb.Payment:
        async def work() -> pb.Payment:
            principal = await self._principal(context, "payments:read")
            return await self._present(
                await get_payment(principal.tenant_id, request.id, self._deps)
            )

        return await self._answer(context, request, work)

    async def ListPayments(
        self, request: pb.ListPaymentsRequest, context: Context
    ) -> pb.ListPaymentsResponse:
        async def work() -> pb.ListPaymentsResponse:
            principal = await self._principal(context, "payments:read")
            page = await list_payments(principal.tenant_id, payment_query(request), self._deps)
            return pb.ListPaymentsResponse(
                items=[await self._present(p) for p in page.items],
                next_cursor=page.next_cursor or "",
            )

        return await self._answer(context, request, work)

    async def CancelPayment(self, request: pb.CancelPaymentRequest, context: Context) -> pb.Payment:
        async def work() -> pb.Payment:
            principal = await self._principal(context, "payments:cancel")
            command = replace(
                cancel_body(request).command(principal.tenant_id, request.id),
                request_key=self._request_key(context, principal, request.id),
            )
            return await self._idempotently(
                context,
                principal,
                "CancelPayment",
                request,
                lambda: cancel_payment(command, self._deps),
            )

        return await self._answer(context, request, work)

    async def RefundPayment(self, request: pb.RefundPaymentRequest, context: Context) -> pb.Payment:
        async def work() -> pb.Payment:
            principal = await self._principal(context, "payments:cancel")
            command = replace(
                refund_body(request).command(principal.tenant_id, request.payment_id),
                request_key=self._request_key(context, principal, request.payment_id),
            )
            return await self._idempotently(
                context,
                principal,
                "RefundPayment",
                request,
                lambda: cancel_payment(command, self._deps),
            )

        return await self._answer(context, request, work)

    async def WatchPayment(
        self, request: pb.GetPaymentRequest, context: Context
    ) -> AsyncIterator[pb.Payment]:
        if isinstance(request, Unreadable):
            await abort(context, request.status)
        log_context.bind(request_id=_request_id(context))  # each call runs in a task of its own
        try:
            refuse_control_characters(request)
            principal = await self._principal(context, "payments:read")
            changes, sent = self._container.changes, None
            async for payment in watch_payment(
                principal.tenant_id, request.id, self._deps, changes
            ):
                message = await self._present(payment)
                if message != sent:  # a change merchants cannot see (a reconcile time) is no news
                    # A key revoked while the stream is open is refused here, as it would be
                    # for a new call (keys are remembered for a few seconds).
                    await self._still_allowed(context, "payments:read")
                    sent = message
                    yield message
        except grpc.aio.AbortError:
            raise
        except SunapError as refused:
            await abort(context, await refusal_status(refused, self._present))
        except Exception:
            log.exception("unexpected error in WatchPayment")
            await abort(context, internal_status())

    # -- the same steps for every RPC ------------------------------------------------------
    @property
    def _deps(self) -> Deps:
        return self._container.deps

    async def _present(self, payment: Payment) -> pb.Payment:
        return payment_message(await self._container.resource(payment))

    async def _principal(self, context: Context, scope: str) -> Principal:
        authorization = metadata_value(context, "authorization")
        limiter = self._container.rate_limiter
        principal = await authenticate(
            self._container.keys,
            authorization,
            scope,
            limiter.take if limiter is not None else None,
        )
        log_context.bind(tenant=principal.tenant_id)
        return principal

    async def _still_allowed(self, context: Context, scope: str) -> None:
        """`_principal`'s check, for a call already counted against the rate limit."""
        await authenticate(self._container.keys, metadata_value(context, "authorization"), scope)

    @staticmethod
    def _request_key(context: Context, principal: Principal, subject: str) -> str | None:
        """What the call makes for `subject` (a new payment, a cancel of one), named under its
        idempotency-key as over HTTP (IdempotentCall.request_key)."""
        key = idempotency_key(context)
        return IdempotentCall(principal.tenant_id, key, "").request_key(subject)

    async def _idempotently(
        self,
        context: Context,
        principal: Principal,
        method: str,
        request: Message,
        execute: Callable[[], Awaitable[Payment]],
    ) -> pb.Payment:
        call = idempotent_call(context, principal.tenant_id, f"/{SERVICE}/{method}", request)
        container = self._container
        door = ProtoDoor(context, self._present)
        return await run_idempotently(
            call, container.idempotency, container.deps.clock, execute, door
        )

    async def _answer(
        self, context: Context, request: Message | Unreadable, work: Callable[[], Awaitable[Reply]]
    ) -> Reply:
        """Run an RPC's work on a readable request; a refusal or a crash ends the call with its
        status, never a trace."""
        if isinstance(request, Unreadable):
            await abort(context, request.status)
        with log_context.scope(request_id=_request_id(context)):
            return await self._run(context, request, work)

    async def _run(
        self, context: Context, request: Message, work: Callable[[], Awaitable[Reply]]
    ) -> Reply:
        try:
            refuse_control_characters(request)
            return await work()
        except grpc.aio.AbortError:
            raise
        except SunapError as refused:
            await abort(context, await refusal_status(refused, self._present))
        except Exception:
            log.exception("unexpected error in a gRPC call")
            await abort(context, internal_status())


def _request_id(context: Context) -> str:
    """The caller's `x-request-id` metadata when it is a plain token, else a new id: on every
    log line of the call, as over HTTP."""
    given = metadata_value(context, "x-request-id")
    return request_id_from(given.encode() if given is not None and given.isascii() else None)
