"""A merchant backend that speaks gRPC: the client generated from the proto (sunap.v1), with its
API key in the metadata, against a real `sunap serve`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status
from grpc_status import rpc_status

from sunap.v1 import payments_pb2 as pb
from sunap.v1 import payments_pb2_grpc as pb_grpc

Metadata = tuple[tuple[str, str], ...]


def new_order_id() -> str:
    return f"order-{uuid.uuid4().hex[:20]}"


class GrpcClient:
    def __init__(self, channel: grpc.Channel, key: str | None) -> None:
        self.stub = pb_grpc.PaymentServiceStub(channel)
        self.key = key

    def metadata(self, idempotency_key: str | None = None, key: str | None = None) -> Metadata:
        pairs = []
        if key or self.key:
            pairs.append(("authorization", f"Bearer {key or self.key}"))
        if idempotency_key is not None:
            pairs.append(("idempotency-key", idempotency_key))
        return tuple(pairs)

    def create(self, amount: int = 15000, **fields: Any) -> pb.Payment:
        request = pb.CreatePaymentRequest(
            order_name="생수 외 1건", amount=amount, order_id=new_order_id(), **fields
        )
        return self.stub.CreatePayment(request, metadata=self.metadata(), timeout=60)

    def confirm(
        self, payment: pb.Payment, payment_key: str, amount: int | None = None, **metadata: str
    ) -> pb.Payment:
        request = pb.ConfirmPaymentRequest(
            order_id=payment.order_id,
            amount=payment.amount if amount is None else amount,
            payment_key=payment_key,
        )
        return self.stub.ConfirmPayment(request, metadata=self.metadata(**metadata), timeout=60)

    def get(self, payment_id: str) -> pb.Payment:
        return self.stub.GetPayment(
            pb.GetPaymentRequest(id=payment_id), metadata=self.metadata(), timeout=60
        )

    def cancel(self, payment_id: str, amount: int | None = None, **fields: Any) -> pb.Payment:
        request = pb.CancelPaymentRequest(
            id=payment_id, cancel_reason=fields.pop("cancel_reason", "고객 변심"), **fields
        )
        if amount is not None:
            request.cancel_amount = amount
        return self.stub.CancelPayment(request, metadata=self.metadata(), timeout=60)


@contextmanager
def grpc_client(target: str, key: str | None) -> Iterator[GrpcClient]:
    with grpc.insecure_channel(target) as channel:
        yield GrpcClient(channel, key)


@dataclass(frozen=True)
class Refusal:
    """An error answer as a gRPC client sees it."""

    status: grpc.StatusCode
    code: str  # the `sunap-error-code` trailing metadata
    message: str
    info: ErrorInfo
    details: Status
    details_bytes: bytes


def refusal(error: grpc.RpcError) -> Refusal:
    assert isinstance(error, grpc.Call), error
    trailing = dict(error.trailing_metadata() or ())
    details = rpc_status.from_call(error)  # also checks its code and message match the call's
    assert details is not None, f"no google.rpc.Status in {error}"
    info = ErrorInfo()
    assert details.details[0].Unpack(info), details
    return Refusal(
        status=error.code(),
        code=str(trailing["sunap-error-code"]),
        message=error.details() or "",
        info=info,
        details=details,
        details_bytes=bytes(trailing["grpc-status-details-bin"]),
    )


def refused(call: Any, *args: Any, **kwargs: Any) -> Refusal:
    """Make the call; it must fail. The refusal it ended with."""
    try:
        answer = call(*args, **kwargs)
    except grpc.RpcError as error:
        found = refusal(error)
        assert found.info.domain == "sunap" and found.info.reason == found.code, found
        return found
    raise AssertionError(f"expected a refusal, got {answer}")
